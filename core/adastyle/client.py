"""AdaStyle client: standard library only (Python 3.8+), so GIMP and Krita plug-ins can ship a copy.

Finds the local server (URL and token from ADASTYLE_URL / ADASTYLE_TOKEN, then a settings file
beside the plug-in, then the user's config folder), can start it with a configured command and wait
until it is healthy, submits jobs, polls progress, cancels and fetches results.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

DEFAULT_URL = "http://127.0.0.1:8765"
SETTINGS_NAME = "adastyle-settings.json"
ImageInput = Union[str, Path, bytes]


class AdaStyleError(Exception):
    """Anything that went wrong talking to the server; `message` is fit to show a user."""

    def __init__(self, message: str, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class ServerUnavailable(AdaStyleError):
    """The server is not running or not reachable."""


class JobCancelled(AdaStyleError):
    """The job was cancelled."""


def config_dir() -> Path:
    """$ADASTYLE_HOME when set, else the platform's user config folder (the server writes its token here)."""
    env = os.environ.get("ADASTYLE_HOME")
    if env:
        return Path(env)
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", str(Path.home() / "AppData" / "Roaming"))) / "adastyle"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "adastyle"
    return Path(os.environ.get("XDG_CONFIG_HOME", str(Path.home() / ".config"))) / "adastyle"


def _read_json(path: Path) -> Dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def encode_multipart(fields: Sequence[Tuple[str, Any]]) -> Tuple[bytes, str]:
    """multipart/form-data body; a value that is (filename, bytes, content_type) becomes a file part."""
    boundary = "adastyle-" + uuid.uuid4().hex
    parts: List[bytes] = []
    for name, value in fields:
        parts.append(f"--{boundary}\r\n".encode())
        if isinstance(value, tuple):
            filename, data, ctype = value
            parts.append(f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                         f"Content-Type: {ctype}\r\n\r\n".encode())
            parts.append(data)
        else:
            parts.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
            parts.append(str(value).encode())
        parts.append(b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _file_part(value: ImageInput, default_name: str) -> Tuple[str, bytes, str]:
    if isinstance(value, (bytes, bytearray)):
        return (default_name, bytes(value), "application/octet-stream")
    p = Path(value)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise AdaStyleError(f"cannot read {p}: {exc.strerror or exc}") from None
    return (p.name, data, "application/octet-stream")


class Client:
    """A connection to one AdaStyle server."""

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None,
                 settings_path: Optional[Union[str, Path]] = None, timeout: float = 30.0) -> None:
        settings = _read_json(Path(settings_path)) if settings_path else {}
        home = config_dir()
        server = _read_json(home / "server.json")
        self.url = (url or os.environ.get("ADASTYLE_URL") or settings.get("url") or server.get("url")
                    or DEFAULT_URL).rstrip("/")
        self.server_command: Optional[List[str]] = settings.get("server_command")
        self._token = token or os.environ.get("ADASTYLE_TOKEN") or settings.get("token")
        self._token_files = [Path(settings["token_file"])] if settings.get("token_file") else []
        self._token_files.append(config_dir() / "token")
        self.timeout = timeout

    @property
    def token(self) -> str:
        if not self._token:
            for path in self._token_files:
                try:
                    self._token = path.read_text().strip()
                    break
                except OSError:
                    continue
        return self._token or ""

    # ---- HTTP ------------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Optional[bytes] = None, content_type: Optional[str] = None,
                timeout: Optional[float] = None) -> Tuple[int, Dict[str, str], bytes]:
        req = urllib.request.Request(self.url + path, data=body, method=method)
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        if content_type:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
        except urllib.error.HTTPError as err:
            data = err.read()
            try:
                info = json.loads(data)
                message, code = info.get("message") or str(info), info.get("error", "")
            except ValueError:
                message, code = data.decode("utf-8", "replace")[:300] or err.reason, ""
            raise AdaStyleError(f"server said {err.code}: {message}", err.code, code) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise ServerUnavailable(f"cannot reach the AdaStyle server at {self.url} ({reason}). "
                                    "Start it with `adastyle serve --background`.") from None

    def _json(self, method: str, path: str, body: Optional[bytes] = None, content_type: Optional[str] = None) -> Any:
        return json.loads(self.request(method, path, body, content_type)[2])

    # ---- server life -------------------------------------------------------------------------------
    def health(self, timeout: float = 3.0) -> Dict[str, Any]:
        return json.loads(self.request("GET", "/v1/health", timeout=timeout)[2])

    def is_running(self) -> bool:
        try:
            self.health()
            return True
        except AdaStyleError:
            return False

    def ensure_running(self, command: Optional[Sequence[str]] = None, wait: float = 120.0,
                       on_wait: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
        """Health of the server, starting it with `command` (or the configured one) if it is down."""
        try:
            return self.health()
        except ServerUnavailable:
            pass
        command = list(command or self.server_command or [])
        if not command:
            raise ServerUnavailable(f"the AdaStyle server is not running at {self.url} and no start command is "
                                    "configured. Start it with `adastyle serve --background`.")
        if on_wait:
            on_wait("Starting the AdaStyle server…")
        try:
            kwargs: Dict[str, Any] = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL,
                                      "stderr": subprocess.DEVNULL}
            if os.name == "posix":
                kwargs["start_new_session"] = True
            proc = subprocess.Popen(command, **kwargs)
        except OSError as exc:
            raise ServerUnavailable(f"could not start the AdaStyle server with {' '.join(command)!r}: {exc}") from None
        deadline = time.time() + wait
        while time.time() < deadline:
            try:
                self._token = None  # a fresh server may have written a new token
                return self.health()
            except ServerUnavailable:
                code = proc.poll()
                if code not in (None, 0):
                    raise ServerUnavailable(f"the AdaStyle server command exited with status {code}: "
                                            f"{' '.join(command)}") from None
                time.sleep(0.5)
        raise ServerUnavailable(f"the AdaStyle server did not answer within {wait:.0f} s after starting it")

    # ---- jobs ---------------------------------------------------------------------------------------
    def _fields(self, content: Optional[ImageInput], styles: Sequence[ImageInput], *, style_ids: Sequence[str] = (),
                rgba: Optional[Tuple[bytes, int, int]] = None, mask: Optional[ImageInput] = None,
                mask_gray: Optional[bytes] = None, weights: Optional[Sequence[float]] = None,
                alpha: float = 1.0, preserve_color: str = "none", scale: float = 1.0, tile: int = 0,
                style_size: int = 512, result_format: str = "png") -> List[Tuple[str, Any]]:
        fields: List[Tuple[str, Any]] = []
        if rgba is not None:
            data, width, height = rgba
            fields += [("content_format", "rgba"), ("width", width), ("height", height),
                       ("content", ("content.rgba", bytes(data), "application/octet-stream"))]
        elif content is not None:
            fields.append(("content", _file_part(content, "content.png")))
        for s in styles:
            fields.append(("style", _file_part(s, "style.png")))
        for sid in style_ids:
            fields.append(("style_id", sid))
        if mask_gray is not None:
            fields += [("mask_format", "gray"), ("mask", ("mask.gray", bytes(mask_gray), "application/octet-stream"))]
        elif mask is not None:
            fields.append(("mask", _file_part(mask, "mask.png")))
        if weights:
            fields.append(("weights", ",".join(str(float(w)) for w in weights)))
        fields += [("alpha", alpha), ("preserve_color", preserve_color), ("scale", scale), ("tile", tile),
                   ("style_size", style_size), ("result_format", result_format)]
        return fields

    def upload_style(self, style: ImageInput) -> str:
        body, ctype = encode_multipart([("style", _file_part(style, "style.png"))])
        return self._json("POST", "/v1/styles", body, ctype)["id"]

    def submit(self, content: Optional[ImageInput] = None, styles: Sequence[ImageInput] = (), **kw: Any) -> str:
        body, ctype = encode_multipart(self._fields(content, styles, **kw))
        return self._json("POST", "/v1/jobs", body, ctype)["id"]

    def job(self, job_id: str) -> Dict[str, Any]:
        return self._json("GET", f"/v1/jobs/{job_id}")

    def cancel(self, job_id: str) -> Dict[str, Any]:
        return self._json("DELETE", f"/v1/jobs/{job_id}")

    def result(self, job_id: str) -> Tuple[bytes, Dict[str, str]]:
        _, headers, data = self.request("GET", f"/v1/jobs/{job_id}/result", timeout=max(self.timeout, 120))
        return data, headers

    def wait(self, job_id: str, progress: Optional[Callable[[float], None]] = None,
             should_cancel: Optional[Callable[[], bool]] = None, poll: float = 0.2,
             timeout: float = 3600.0) -> Tuple[bytes, Dict[str, str]]:
        """Poll until the job ends; returns (result bytes, headers). Cancels if should_cancel() says so."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if should_cancel is not None and should_cancel():
                self.cancel(job_id)
                raise JobCancelled("cancelled", code="cancelled")
            info = self.job(job_id)
            if progress is not None:
                progress(float(info.get("progress", 0.0)))
            state = info.get("state")
            if state == "done":
                return self.result(job_id)
            if state == "failed":
                raise AdaStyleError(info.get("error") or "the job failed", code="failed")
            if state == "cancelled":
                raise JobCancelled("cancelled", code="cancelled")
            time.sleep(poll)
        raise AdaStyleError(f"the job did not finish within {timeout:.0f} s")

    def stylize(self, content: Optional[ImageInput] = None, styles: Sequence[ImageInput] = (),
                progress: Optional[Callable[[float], None]] = None,
                should_cancel: Optional[Callable[[], bool]] = None, **kw: Any) -> Tuple[bytes, Dict[str, str]]:
        """Submit, wait with progress, return (image bytes, lower-case headers); raw RGBA if result_format="rgba"."""
        return self.wait(self.submit(content, styles, **kw), progress, should_cancel)


# ---- pixel helpers shared by the plug-ins (pure Python, fast enough through bytes slicing) ----------
Box = Tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive)


def mask_bbox(mask: bytes, width: int, height: int) -> Optional[Box]:
    """Bounding box of the non-zero pixels of an 8-bit mask (row-major), or None if it is empty."""
    if len(mask) != width * height:
        raise ValueError(f"mask has {len(mask)} bytes, expected {width * height}")
    rows = [y for y in range(height) if mask[y * width:(y + 1) * width].strip(b"\x00")]
    if not rows:
        return None
    x0, x1 = width, 0
    for y in rows:
        row = mask[y * width:(y + 1) * width]
        left = len(row) - len(row.lstrip(b"\x00"))
        right = len(row.rstrip(b"\x00"))
        x0, x1 = min(x0, left), max(x1, right)
    return (x0, rows[0], x1, rows[-1] + 1)


def expand_box(box: Box, margin: int, width: int, height: int) -> Box:
    """The box grown by `margin` pixels of context on each side, clipped to the image."""
    x0, y0, x1, y1 = box
    return (max(0, x0 - margin), max(0, y0 - margin), min(width, x1 + margin), min(height, y1 + margin))


def context_margin(box: Box) -> int:
    """Context to send around a selection: a quarter of its size, at least 32 px (the network sees far)."""
    return max(32, (box[2] - box[0] + box[3] - box[1]) // 8)


def crop(data: bytes, width: int, channels: int, box: Box) -> bytes:
    """Rows x0..x1 of y0..y1 from a row-major pixel buffer."""
    x0, y0, x1, y1 = box
    stride = width * channels
    return b"".join(data[y * stride + x0 * channels:y * stride + x1 * channels] for y in range(y0, y1))


def swap_red_blue(data: bytes) -> bytes:
    """RGBA <-> BGRA (Krita's 8-bit pixel order)."""
    out = bytearray(data)
    out[0::4], out[2::4] = data[2::4], data[0::4]
    return bytes(out)


def alpha_times_mask(rgba: bytes, mask: bytes) -> bytes:
    """RGBA whose alpha is min(alpha, mask): the result shows only where the (soft) selection is."""
    out = bytearray(rgba)
    alpha = rgba[3::4]
    out[3::4] = mask if alpha.count(255) == len(alpha) else bytes(map(min, alpha, mask))
    return bytes(out)


def plan_region(width: int, height: int, selection_box: Optional[Box], full_share: float = 0.8) -> Box:
    """The part of a layer to send: the selection's box plus context, or the whole layer.

    The network needs context around a small selection (its receptive field is large, and content
    statistics from a sliver would be poor); a crop covering most of the layer saves nothing, so then
    the whole layer goes. Raises ValueError when the selection lies outside the layer.
    """
    full = (0, 0, width, height)
    if selection_box is None:
        return full
    x0, y0 = max(0, selection_box[0]), max(0, selection_box[1])
    x1, y1 = min(width, selection_box[2]), min(height, selection_box[3])
    if x1 <= x0 or y1 <= y0:
        raise ValueError("the selection lies outside the layer")
    region = expand_box((x0, y0, x1, y1), context_margin((x0, y0, x1, y1)), width, height)
    if (region[2] - region[0]) * (region[3] - region[1]) >= full_share * width * height:
        return full
    return region


def parse_weights(weights: Union[str, Sequence[float], None], count: int) -> Optional[List[float]]:
    """Weights for `count` styles ("0.3,0.7" or numbers), normalised; None for one style or none given.

    Raises ValueError with a message fit for a user when they cannot be used.
    """
    if isinstance(weights, str):
        text = weights.strip()
        if not text:
            return None
        try:
            weights = [float(x) for x in text.split(",")]
        except ValueError:
            raise ValueError(f"weights must be comma-separated numbers, got {text!r}") from None
    if weights is None or count < 2:
        return None
    values = [float(w) for w in weights]
    if len(values) != count:
        raise ValueError(f"got {len(values)} weights for {count} style images")
    if any(not (w >= 0 and w != float("inf")) for w in values) or sum(values) <= 0:
        raise ValueError("style weights must be zero or more, and not all zero")
    return [w / sum(values) for w in values]


def style_label(style_paths: Sequence[Union[str, Path]]) -> str:
    """A layer name after the style file(s): 'goldfish (AdaIN)', 'castle + swamp (AdaIN)'."""
    stems = [os.path.splitext(os.path.basename(str(p)))[0] or "style" for p in style_paths]
    if len(stems) > 3:
        stems = stems[:3] + [f"{len(stems) - 3} more"]
    return " + ".join(stems) + " (AdaIN)"


def encode_png(rgba: bytes, width: int, height: int) -> bytes:
    """A PNG of raw 8-bit RGBA pixels, with the standard library only (plug-ins have no PIL).

    Used to send pixels that are not a file, e.g. a layer chosen as the style.
    """
    import struct
    import zlib

    if len(rgba) != width * height * 4:
        raise ValueError(f"expected {width * height * 4} bytes of RGBA for {width}x{height}, got {len(rgba)}")
    stride = width * 4
    raw = b"".join(b"\x00" + rgba[y * stride:(y + 1) * stride] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 3))
            + chunk(b"IEND", b""))

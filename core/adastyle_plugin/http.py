"""The HTTP job client: submit a stylisation, follow its progress, cancel it, fetch the result.

Standard library only (urllib), so it runs in GIMP's and Krita's Python. Errors arrive as PluginError
(`ServerUnavailable` when nothing answers, `JobCancelled` when the job was cancelled) with a message
fit for the plug-in's status line.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import quote

from adastyle_plugin import launch, rules, wire
from adastyle_plugin.config import find_server
from adastyle_plugin.errors import JobCancelled, PluginError, ServerUnavailable

ImageInput = Union[str, Path, bytes]
START_HINT = "Start it with `adastyle serve --background`."


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


def file_part(value: ImageInput, default_name: str) -> Tuple[str, bytes, str]:
    if isinstance(value, (bytes, bytearray)):
        return (default_name, bytes(value), "application/octet-stream")
    p = Path(value)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise PluginError(f"cannot read {p}: {exc.strerror or exc}") from None
    return (p.name, data, "application/octet-stream")


def job_fields(content: Optional[ImageInput], styles: Sequence[ImageInput], *, style_ids: Sequence[str] = (),
               rgba: Optional[Tuple[bytes, int, int]] = None, mask: Optional[ImageInput] = None,
               mask_gray: Optional[bytes] = None, weights: Optional[Sequence[float]] = None,
               alpha: float = wire.ALPHA.default, preserve_color: str = wire.PRESERVE_COLOR.default,
               scale: float = wire.SCALE.default, tile: int = wire.TILE.default,
               style_size: int = wire.STYLE_SIZE.default,
               result_format: str = wire.RESULT_FORMAT.default, live: Optional[str] = None
               ) -> List[Tuple[str, Any]]:
    """The form fields of POST /v1/jobs, named and written as the wire schema says (wire.py, which the
    server's form parsing reads by). `live`: a live session's key (the server then re-renders only what
    changed since the session's last job)."""
    fields: List[Tuple[str, Any]] = []
    if rgba is not None:
        data, width, height = rgba
        fields += [(wire.CONTENT_FORMAT.name, "rgba"), (wire.WIDTH.name, wire.WIDTH.encode(width)),
                   (wire.HEIGHT.name, wire.HEIGHT.encode(height)),
                   (wire.CONTENT.name, ("content.rgba", bytes(data), "application/octet-stream"))]
    elif content is not None:
        fields.append((wire.CONTENT.name, file_part(content, "content.png")))
    for s in styles:
        fields.append((wire.STYLE.name, file_part(s, "style.png")))
    for sid in style_ids:
        fields.append((wire.STYLE_ID.name, sid))
    if mask_gray is not None:
        fields += [(wire.MASK_FORMAT.name, "gray"),
                   (wire.MASK.name, ("mask.gray", bytes(mask_gray), "application/octet-stream"))]
    elif mask is not None:
        fields.append((wire.MASK.name, file_part(mask, "mask.png")))
    if weights:
        fields.append((wire.WEIGHTS.name, ",".join(repr(float(w)) for w in weights)))
    settings = {"alpha": alpha, "preserve_color": preserve_color, "scale": scale, "tile": tile,
                "style_size": style_size, "result_format": result_format}
    fields += [(f.name, f.encode(settings[f.name])) for f in wire.SETTING_FIELDS]
    key = rules.check_live_key(live)
    if key is not None:
        fields.append((wire.LIVE.name, key))
    return fields


def sequence_fields(frames: Sequence[ImageInput], styles: Sequence[ImageInput], *,
                    size: Optional[Tuple[int, int]] = None, stability: float = wire.STABILITY.default,
                    coherence: float = wire.COHERENCE.default,
                    coherence_features: float = wire.COHERENCE_FEATURES.default,
                    **options: Any) -> List[Tuple[str, Any]]:
    """The form fields of POST /v1/sequence: frame_0..frame_{n-1}, then job_fields' options, stability,
    coherence and coherence_features.

    With `size` (width, height) the frames are raw R,G,B,A bytes of that size (what plug-ins read from
    their layers), else encoded image files or bytes.
    """
    fields: List[Tuple[str, Any]] = []
    if size is not None:
        fields += [(wire.CONTENT_FORMAT.name, "rgba"), (wire.WIDTH.name, wire.WIDTH.encode(size[0])),
                   (wire.HEIGHT.name, wire.HEIGHT.encode(size[1]))]
    for i, frame in enumerate(frames):
        if size is not None:
            fields.append((f"frame_{i}", (f"frame_{i}.rgba", bytes(frame), "application/octet-stream")))  # type: ignore[arg-type]
        else:
            fields.append((f"frame_{i}", file_part(frame, f"frame_{i}.png")))
    fields += job_fields(None, styles, **options)
    fields.append((wire.STABILITY.name, wire.STABILITY.encode(stability)))
    fields.append((wire.COHERENCE.name, wire.COHERENCE.encode(coherence)))
    fields.append((wire.COHERENCE_FEATURES.name, wire.COHERENCE_FEATURES.encode(coherence_features)))
    return fields


class Client:
    """A connection to one AdaStyle server (found by config.find_server)."""

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None,
                 settings_path: Optional[Union[str, Path]] = None, timeout: float = 30.0) -> None:
        self.config = find_server(url, token, settings_path)
        self.url = self.config.url
        self.server_command: Optional[List[str]] = self.config.server_command
        self.timeout = timeout
        self._token: Optional[str] = None

    @property
    def token(self) -> str:
        if not self._token:
            self._token = self.config.read_token()
        return self._token

    def forget_token(self) -> None:
        """Read the token again on the next request (a freshly started server may have written a new one)."""
        self._token = None

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
            raise PluginError(f"server said {err.code}: {message}", err.code, code) from None
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise ServerUnavailable(f"cannot reach the AdaStyle server at {self.url} ({reason}). {START_HINT}") from None

    def _json(self, method: str, path: str, body: Optional[bytes] = None, content_type: Optional[str] = None) -> Any:
        return json.loads(self.request(method, path, body, content_type)[2])

    # ---- server life -------------------------------------------------------------------------------
    def health(self, timeout: float = 3.0) -> Dict[str, Any]:
        return json.loads(self.request("GET", "/v1/health", timeout=timeout)[2])

    def is_running(self) -> bool:
        try:
            self.health()
            return True
        except PluginError:
            return False

    def ensure_running(self, command: Optional[Sequence[str]] = None, wait: float = 120.0,
                       on_wait: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
        """Health of the server, starting it with `command` (or the configured one) if it is down."""
        return launch.ensure_running(self, command or self.server_command, wait, on_wait)

    # ---- jobs ---------------------------------------------------------------------------------------
    def upload_style(self, style: ImageInput) -> str:
        body, ctype = encode_multipart([("style", file_part(style, "style.png"))])
        return self._json("POST", "/v1/styles", body, ctype)["id"]

    def submit(self, content: Optional[ImageInput] = None, styles: Sequence[ImageInput] = (), **kw: Any) -> str:
        body, ctype = encode_multipart(job_fields(content, styles, **kw))
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
        self.wait_done(job_id, progress, should_cancel, poll, timeout)
        return self.result(job_id)

    def wait_done(self, job_id: str, progress: Optional[Callable[[float], None]] = None,
                  should_cancel: Optional[Callable[[], bool]] = None, poll: float = 0.2,
                  timeout: float = 3600.0) -> Dict[str, Any]:
        """Poll until the job is done and return its info; PluginError when it failed, JobCancelled when it
        was cancelled (by should_cancel() or on the server)."""
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
                return info
            if state == "failed":
                raise PluginError(info.get("error") or "the job failed", code="failed")
            if state == "cancelled":
                raise JobCancelled("cancelled", code="cancelled")
            time.sleep(poll)
        raise PluginError(f"the job did not finish within {timeout:.0f} s")

    def stylize(self, content: Optional[ImageInput] = None, styles: Sequence[ImageInput] = (),
                progress: Optional[Callable[[float], None]] = None,
                should_cancel: Optional[Callable[[], bool]] = None, **kw: Any) -> Tuple[bytes, Dict[str, str]]:
        """Submit, wait with progress, return (image bytes, lower-case headers); raw RGBA if result_format="rgba"."""
        return self.wait(self.submit(content, styles, **kw), progress, should_cancel)

    # ---- the style library ---------------------------------------------------------------------------
    def library(self) -> List[Dict[str, Any]]:
        """Every library entry (styles and presets, favourites first), as GET /v1/library lists them."""
        return self._json("GET", "/v1/library")["entries"]

    def library_thumbnail(self, entry_id: str) -> bytes:
        """A small JPEG of the whole style (or a preset's styles side by side)."""
        return self.request("GET", f"/v1/library/{quote(entry_id, safe='')}/thumbnail")[2]

    def library_add_style(self, image: ImageInput, name: str, tags: Sequence[str] = (),
                          licence: Optional[str] = None, source: Optional[str] = None) -> Dict[str, Any]:
        """Add a style image (a file path or encoded bytes) under `name`; returns the new entry."""
        fields: List[Tuple[str, Any]] = [("kind", "style"), ("name", name), ("tags", ",".join(tags)),
                                         ("image", file_part(image, "style.png"))]
        fields += [(k, v) for k, v in (("licence", licence), ("source", source)) if v]
        body, ctype = encode_multipart(fields)
        return self._json("POST", "/v1/library", body, ctype)

    def library_add_preset(self, name: str, styles: Sequence[Tuple[str, float]], alpha: float = 1.0,
                           preserve_color: str = "none", scale: float = 1.0,
                           tags: Sequence[str] = ()) -> Dict[str, Any]:
        """Save settings as a preset: library style ids with weights, alpha, colour mode and stroke scale."""
        fields: List[Tuple[str, Any]] = [("kind", "preset"), ("name", name), ("tags", ",".join(tags))]
        fields += [("style_id", sid) for sid, _ in styles]
        fields += [("weights", ",".join(str(float(w)) for _, w in styles)), ("alpha", alpha),
                   ("preserve_color", preserve_color), ("scale", scale)]
        body, ctype = encode_multipart(fields)
        return self._json("POST", "/v1/library", body, ctype)

    def library_update(self, entry_id: str, **changes: Any) -> Dict[str, Any]:
        """Rename (name=), retag (tags=[...]) or mark a favourite (favourite=True/False)."""
        return self._json("PATCH", f"/v1/library/{quote(entry_id, safe='')}", json.dumps(changes).encode(),
                          "application/json")

    def library_delete(self, entry_id: str) -> None:
        self._json("DELETE", f"/v1/library/{quote(entry_id, safe='')}")

    # ---- frame sequences (animations) -------------------------------------------------------------
    def submit_sequence(self, frames: Sequence[ImageInput], styles: Sequence[ImageInput] = (), **kw: Any) -> str:
        """Queue the frames of an animation as one job (see sequence_fields); returns the job id."""
        body, ctype = encode_multipart(sequence_fields(frames, styles, **kw))
        return self._json("POST", "/v1/sequence", body, ctype)["id"]

    def frame_result(self, job_id: str, index: int) -> Tuple[bytes, Dict[str, str]]:
        _, headers, data = self.request("GET", f"/v1/jobs/{job_id}/result?frame={int(index)}",
                                        timeout=max(self.timeout, 120))
        return data, headers

    def stylize_sequence(self, frames: Sequence[ImageInput], styles: Sequence[ImageInput] = (),
                         progress: Optional[Callable[[float], None]] = None,
                         should_cancel: Optional[Callable[[], bool]] = None,
                         timeout: float = 6 * 3600.0, **kw: Any) -> List[Tuple[bytes, Dict[str, str]]]:
        """Stylise the frames of an animation with temporally smoothed statistics (the same frames as
        `adastyle batch --sequence`); returns (bytes, headers) per frame, in order. One job on the server:
        progress runs over all frames, and cancelling stops it between frames."""
        job_id = self.submit_sequence(frames, styles, **kw)
        self.wait_done(job_id, progress, should_cancel, timeout=timeout)
        return [self.frame_result(job_id, i) for i in range(len(frames))]

"""An ASGI guard for the page's file uploads: images of the allowed formats only, each within a size.

Why: Gradio's upload route stores whatever it is sent, of any type, until the process ends; the page
only ever needs images. The guard reads the multipart stream as it passes, refuses a part whose first
bytes are not PNG, JPEG, WebP, TIFF, BMP or GIF (415) or that is over the size limit (413) at once, and
at the end of each part reads its header the way the server reads an image (Pillow, the six formats
only, off the event loop): a file that merely starts like an image ("BM" and then HTML) is refused
(415) before Gradio answers. Each part is kept in a spooled temporary file (memory up to 1 MB) for that
check, because a TIFF may keep its header at the end.
"""
from __future__ import annotations

import tempfile

from PIL import Image

from adastyle.imageio import ALLOWED_FORMATS
from adastyle.server.admission import off_loop_headers

try:
    from python_multipart.multipart import MultipartParser, parse_options_header
except ImportError:  # python-multipart before 0.0.13
    from multipart.multipart import MultipartParser, parse_options_header

SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"BM", b"GIF87a", b"GIF89a")
SNIFF = 12


def is_allowed_image(head: bytes) -> bool:
    """Whether a file's first bytes are one of the allowed image formats."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    return any(head.startswith(sig) for sig in SIGNATURES)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def is_readable_image(file) -> bool:
    """Whether Pillow reads a header of one of the allowed formats from `file` (nothing decoded)."""
    try:
        file.seek(0)
        with Image.open(file, formats=ALLOWED_FORMATS) as im:
            return im.size[0] > 0 and im.size[1] > 0
    except Exception:
        return False


class _PartChecker:
    """Callbacks for python-multipart's streaming parser, checking each part as its bytes arrive; parts that
    are complete wait in `finished` for their header check."""

    def __init__(self, max_file: int) -> None:
        self.max_file = max_file
        self.head = b""
        self.size = 0
        self.spool: tempfile.SpooledTemporaryFile | None = None
        self.finished: list[tempfile.SpooledTemporaryFile] = []

    def on_part_begin(self) -> None:
        self.head, self.size = b"", 0
        self.spool = tempfile.SpooledTemporaryFile(max_size=1 << 20)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.size += end - start
        if len(self.head) < SNIFF:
            self.head += data[start:min(end, start + SNIFF)]
            if len(self.head) >= SNIFF and not is_allowed_image(self.head):
                raise _Refused(415, "only PNG, JPEG, WebP, TIFF, BMP and GIF images can be uploaded")
        if self.size > self.max_file:
            raise _Refused(413, f"an uploaded file is over the page's limit of {self.max_file:,} bytes")
        if self.spool is not None:
            self.spool.write(data[start:end])

    def on_part_end(self) -> None:
        if not is_allowed_image(self.head):
            raise _Refused(415, "only PNG, JPEG, WebP, TIFF, BMP and GIF images can be uploaded")
        if self.spool is not None:
            self.finished.append(self.spool)
            self.spool = None

    async def check_finished(self) -> None:
        """Read the header of each finished part off the event loop; 415 for one that is no image."""
        while self.finished:
            spool = self.finished.pop(0)
            try:
                ok = await off_loop_headers(is_readable_image, spool)
            finally:
                spool.close()
            if not ok:
                raise _Refused(415, "the file is not a readable PNG, JPEG, WebP, TIFF, BMP or GIF image")

    def close(self) -> None:
        for spool in [*self.finished, *([self.spool] if self.spool else [])]:
            spool.close()
        self.finished, self.spool = [], None


class UploadGuard:
    """Wrap an ASGI app; POSTs to a path ending in `suffix` are checked part by part."""

    def __init__(self, app, max_file: int, suffix: str = "/gradio_api/upload") -> None:
        self.app = app
        self.max_file = max_file
        self.suffix = suffix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or not scope["path"].endswith(self.suffix):
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        ctype, options = parse_options_header(headers.get(b"content-type", b""))
        if ctype != b"multipart/form-data" or b"boundary" not in options:
            return await _answer(send, 415, "uploads must be multipart/form-data")
        checker = _PartChecker(self.max_file)
        parser = MultipartParser(options[b"boundary"], {
            "on_part_begin": checker.on_part_begin, "on_part_data": checker.on_part_data,
            "on_part_end": checker.on_part_end})
        started = refused = False

        async def checked_receive():
            nonlocal refused, started
            if refused:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request" and msg.get("body"):
                try:
                    parser.write(msg["body"])
                    await checker.check_finished()
                except _Refused as exc:  # answer now; the app below sees a client that went away
                    refused = True
                    if not started:
                        started = True
                        await _answer(send, exc.status, exc.message)
                    return {"type": "http.disconnect"}
            return msg

        async def tracked_send(msg):
            nonlocal started
            if refused:
                return  # our answer went out already
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, checked_receive, tracked_send)
        except Exception:
            if not refused:
                raise
        finally:
            checker.close()


async def _answer(send, status: int, message: str) -> None:
    """Plain text: the page shows it as it is in its error notice."""
    body = f"upload refused: {message}".encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

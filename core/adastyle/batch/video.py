"""Video in and out through PyAV (FFmpeg in its wheel): frames as RGB arrays, the rate kept, the audio copied.

Why PyAV and not a pipe to an `ffmpeg` binary: the wheel carries FFmpeg on every platform, so `pip install`
is all a user does; and packets can be decoded one at a time, so a damaged packet costs one frame (reported
and skipped), not the rest of the clip.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from adastyle.batch.atomic import clean_partials, partial_path
from adastyle.errors import UserError

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")


class VideoError(UserError, ValueError):
    """A video that cannot be read or written, with a message fit to show a user."""


def _av():
    try:
        import av
    except ImportError:  # pragma: no cover - av is a dependency; guard for broken installs
        raise VideoError("video needs PyAV: pip install av") from None
    return av


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    rate: Fraction      # frames per second (the stream's average rate)
    frames: int         # from the container, or estimated from the duration; 0 when unknown
    has_audio: bool


def probe(path: Path) -> VideoInfo:
    """Size, frame rate, frame count and audio presence of a video file."""
    av = _av()
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise VideoError(f"{path}: has no video stream")
            vs = c.streams.video[0]
            rate = Fraction(vs.average_rate or vs.guessed_rate or 25)
            frames = int(vs.frames or 0)
            if not frames and vs.duration and vs.time_base:
                frames = int(round(float(vs.duration * vs.time_base * rate)))
            elif not frames and c.duration:
                frames = int(round(c.duration / 1_000_000 * float(rate)))
            return VideoInfo(vs.codec_context.width, vs.codec_context.height, rate, frames, bool(c.streams.audio))
    except av.FFmpegError as exc:
        raise VideoError(f"{path}: cannot read video ({exc})") from None


def read_frames(path: Path, on_bad: Callable[[str], None] | None = None) -> Iterator[np.ndarray]:
    """RGB uint8 frames in display order; a packet that fails to decode is reported through on_bad and skipped."""
    av = _av()
    try:
        c = av.open(str(path))
    except av.FFmpegError as exc:
        raise VideoError(f"{path}: cannot read video ({exc})") from None
    with c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        for packet in c.demux(vs):
            try:
                frames = packet.decode()
            except av.FFmpegError as exc:
                if on_bad:
                    on_bad(f"{path}: a damaged packet at {packet.pts} skipped ({exc})")
                continue
            for f in frames:
                yield f.to_ndarray(format="rgb24")


def _video_codec(av, width: int, height: int) -> tuple[str, str]:
    """H.264 when the wheel's FFmpeg has an encoder for it, else MPEG-4 part 2; 4:2:0 needs even sides."""
    even = width % 2 == 0 and height % 2 == 0
    for name in ("libx264", "libopenh264", "mpeg4"):
        try:
            av.codec.Codec(name, "w")
        except Exception:  # noqa: BLE001 - PyAV raises different types across versions for an unknown codec
            continue
        if even:
            return name, "yuv420p"
        if name == "libx264":
            return name, "yuv444p"
    raise VideoError(f"no video encoder for a {width}x{height} frame (odd sides need libx264)")


class VideoWriter:
    """Writes RGB frames at a fixed rate into a partial file; `close()` copies the source's audio and renames it
    into place (a killed run leaves no half-written target, only a hidden partial file)."""

    def __init__(self, target: Path, width: int, height: int, rate: Fraction, audio_from: Path | None = None,
                 quality: int = 18) -> None:
        av = _av()
        self._av = av
        self.target = target
        self.tmp = partial_path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        clean_partials(target)
        self._audio_from = audio_from
        try:
            self._out = av.open(str(self.tmp), "w")
        except av.FFmpegError as exc:
            raise VideoError(f"{target}: cannot write video ({exc})") from None
        codec, pix_fmt = _video_codec(av, width, height)
        self._stream = self._out.add_stream(codec, rate=rate)
        self._stream.width, self._stream.height, self._stream.pix_fmt = width, height, pix_fmt
        if codec == "libx264":
            self._stream.options = {"crf": str(quality), "preset": "medium"}
        else:
            self._stream.bit_rate = 8_000_000
        self._audio_in = None
        self._audio_out = None
        if audio_from is not None:
            self._audio_in = av.open(str(audio_from))
            if self._audio_in.streams.audio:
                src = self._audio_in.streams.audio[0]
                add = getattr(self._out, "add_stream_from_template", None)
                self._audio_out = add(src) if add else self._out.add_stream(template=src)
        self.count = 0

    def write(self, frame: np.ndarray) -> None:
        vf = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[..., :3]), format="rgb24")
        vf.pts = self.count
        self.count += 1
        for packet in self._stream.encode(vf):
            self._out.mux(packet)

    def close(self) -> Path:
        """Flush, copy the audio packets, rename into place; returns the target."""
        for packet in self._stream.encode():
            self._out.mux(packet)
        if self._audio_out is not None:
            src = self._audio_in.streams.audio[0]
            for packet in self._audio_in.demux(src):
                if packet.dts is None:
                    continue
                packet.stream = self._audio_out
                self._out.mux(packet)
        self._finish_inputs()
        self._out.close()
        os.replace(self.tmp, self.target)
        return self.target

    def abort(self) -> None:
        """Drop the partial file (a failed or cancelled video leaves nothing behind)."""
        self._finish_inputs()
        try:
            self._out.close()
        except Exception:  # noqa: BLE001 - closing a half-written container may fail; the file goes anyway
            pass
        self.tmp.unlink(missing_ok=True)

    def _finish_inputs(self) -> None:
        if self._audio_in is not None:
            self._audio_in.close()
            self._audio_in = None

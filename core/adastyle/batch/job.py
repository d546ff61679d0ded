"""The batch job: every item of a plan through a backend, outputs written atomically, progress shown.

Sequences (videos, frame folders) go in two passes when stability is on: measure every frame's content
statistics, smooth them, then stylise each frame with its smoothed statistics. With coherence on, each stylised
frame then goes through the clip's motion chain (`adastyle.coherence`) in playback order, here on the driver,
so a backend may stylise the frames of a chunk in any order or place and the chain still runs across chunks.
With feature coherence on, the frames are handed over with their place in the clip (`ClipPlace`), and the
backend's workers carry the AdaIN target along the motion before decoding over the consecutive frames each
is given (`backend`); a resumed run starts that chain afresh at its first frame (the pixel chain continues
from the last output written).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image
from tqdm import tqdm

from adastyle.batch import video
from adastyle.batch.atomic import clean_partials, partial_path
from adastyle.batch.backend import Backend, ClipPlace, FrameResult
from adastyle.batch.inputs import Item
from adastyle.coherence import Coherence
from adastyle.content_stats import ContentStats
from adastyle.imageio import ImageError, open_image
from adastyle.stability import smooth_measured

T = TypeVar("T")


@dataclass
class Summary:
    """What a run did: frames stylised, outputs written, outputs skipped as finished, failures (one line each)."""
    frames: int = 0
    written: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    flicker: list[str] = field(default_factory=list)  # one line per clip when flicker is measured


def chunks(it: Iterable[T], n: int) -> Iterator[list[T]]:
    buf: list[T] = []
    for x in it:
        buf.append(x)
        if len(buf) == n:
            yield buf
            buf = []
    if buf:
        yield buf


def load_frame(path: Path) -> np.ndarray:
    """An image file as RGB or RGBA uint8 pixels (other modes converted; alpha kept)."""
    im = open_image(path)
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    return np.asarray(im.convert("RGBA" if has_alpha else "RGB"))


def save_image(pixels: np.ndarray, target: Path) -> None:
    """Write through a hidden partial file renamed into place (never a half-written output)."""
    img = Image.fromarray(pixels)
    if target.suffix.lower() in (".jpg", ".jpeg") and img.mode == "RGBA":
        img = img.convert("RGB")
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_partials(target)
    tmp = partial_path(target)
    try:
        img.save(tmp, format=Image.registered_extensions().get(target.suffix.lower()))
        os.replace(tmp, target)
    except Exception:
        tmp.unlink(missing_ok=True)
        raise


class BatchJob:
    """Runs a plan. `stability` is the smoothing window of sequences in frames (0 = frame by frame);
    `coherence` the strength of the motion chain on the stylised frames and `coherence_features` of the one on
    the AdaIN targets before decoding (0 = off); `measure_flicker` adds a flicker line per clip;
    `keep_chroma` (colour mode luminance) gives each output its own input's chroma after the chain."""

    def __init__(self, items: Sequence[Item], backend: Backend, *, stability_frames: float = 0.0,
                 coherence: float = 0.0, coherence_features: float = 0.0, measure_flicker: bool = False,
                 keep_chroma: bool = False, resume: bool = False, report: Callable[[str], None] | None = None,
                 progress: bool = True) -> None:
        self.items = list(items)
        self.keep_chroma = keep_chroma  # preserve_color="luminance": each output keeps its own input's chroma
        self.backend = backend
        self.stability = stability_frames
        self.coherence = coherence
        self.coherence_features = coherence_features
        self.measure_flicker = measure_flicker
        self.resume = resume
        self.summary = Summary()
        self._report = report
        self._progress = progress
        self._bar: tqdm | None = None

    # ---- reporting ------------------------------------------------------------------------------
    def fail(self, message: str) -> None:
        self.summary.failed.append(message)
        if self._report:
            self._report(message)
        else:
            tqdm.write(f"adastyle: skipped: {message}", file=sys.stderr)

    def _advance(self, n: int = 1) -> None:
        self.summary.frames += n
        if self._bar is not None:
            self._bar.update(n)

    def _finished(self, target: Path) -> bool:
        if self.resume and target.exists():
            clean_partials(target)
            self.summary.skipped += 1
            return True
        return False

    # ---- the run ----------------------------------------------------------------------------------
    def run(self) -> Summary:
        total = sum(self._frame_count(it) for it in self.items)
        with tqdm(total=total or None, unit="frame", desc="stylising", disable=not self._progress,
                  dynamic_ncols=True, smoothing=0.1) as bar:
            self._bar = bar
            self._run_images([it for it in self.items if it.kind == "image"])
            for it in self.items:
                if it.kind == "video":
                    self._run_video(it)
                elif it.kind == "sequence":
                    self._run_sequence(it)
        self._bar = None
        return self.summary

    def _frame_count(self, it: Item) -> int:
        if it.kind == "image":
            return 0 if self.resume and it.target.exists() else 1
        if it.kind == "sequence":
            return sum(1 for t in it.targets if not (self.resume and t.exists()))
        if self.resume and it.target.exists():
            return 0
        try:
            return video.probe(it.source).frames
        except video.VideoError:
            return 0  # reported when the video is run

    def _run_images(self, items: list[Item]) -> None:
        """Independent images, handed to the backend in chunks (so a cluster works on several at once)."""
        todo = [it for it in items if not self._finished(it.target)]
        for group in chunks(todo, self.backend.chunk):
            loaded: list[tuple[Item, np.ndarray]] = []
            for it in group:
                try:
                    loaded.append((it, load_frame(it.source)))
                except ImageError as exc:
                    self.fail(str(exc))
                    self._advance()
            results = self.backend.stylize([px for _, px in loaded], [None] * len(loaded))
            for (it, _), res in zip(loaded, results):
                self._write_image(it.source, it.target, res)

    def _write_image(self, source: Path, target: Path, res: FrameResult) -> None:
        if res.value is None:
            message = res.error or "failed"
            self.fail(message if str(source) in message else f"{source}: {message}")
        else:
            try:
                save_image(res.value, target)
                self.summary.written += 1
            except (OSError, ValueError) as exc:
                self.fail(f"{target}: cannot write ({exc})")
        self._advance()

    def _smoothed(self, name: str, frames: Callable[[], Iterable[np.ndarray | None]],
                  count: int) -> list[ContentStats | None] | None:
        """Pass 1 of a sequence: every frame's statistics, smoothed. None when stability is off.

        A frame that cannot be measured (unreadable) has no statistics of its own; its neighbours' carry it.
        """
        if self.stability <= 0:
            return None
        measured: list[ContentStats | None] = []
        with tqdm(total=count or None, unit="frame", desc=f"measuring {name}", leave=False,
                  disable=not self._progress, dynamic_ncols=True) as bar:
            for group in chunks(frames(), self.backend.chunk):
                ok = [f for f in group if f is not None]
                results = iter(self.backend.measure(ok))
                for f in group:
                    res = next(results) if f is not None else None
                    measured.append(res.value if res is not None else None)
                bar.update(len(group))
        return smooth_measured(measured, self.stability)

    def _run_sequence(self, it: Item) -> None:
        """A folder of frames: one output image per frame, statistics smoothed across the folder."""
        def frames() -> Iterator[np.ndarray | None]:
            for f in it.frames:
                try:
                    yield load_frame(f)
                except ImageError:
                    yield None  # reported in pass 2

        stats = self._smoothed(str(it.source), frames, len(it.frames))
        todo = [i for i, t in enumerate(it.targets) if not self._finished(t)]
        chain = Coherence(self.coherence, self.measure_flicker, self.keep_chroma)
        last = -2  # the frame whose input and output the chain holds
        for group in chunks(todo, self.backend.chunk):
            loaded: list[tuple[int, np.ndarray]] = []
            for i in group:
                try:
                    loaded.append((i, load_frame(it.frames[i])))
                except ImageError as exc:
                    self.fail(str(exc))
                    self._advance()
            results = self.backend.stylize([px for _, px in loaded],
                                           [stats[i] if stats else None for i, _ in loaded],
                                           self._places(str(it.source), [i for i, _ in loaded]))
            for (i, px), res in zip(loaded, results):
                if res.value is not None and chain.active:
                    if last != i - 1:
                        self._seed(chain, it, i - 1)
                    res = FrameResult(chain.step(px, res.value, res.motion))
                    last = i
                self._write_image(it.frames[i], it.targets[i], res)
        if chain.meter is not None:
            self.summary.flicker.append(chain.meter.line(str(it.source)))

    def _places(self, clip: str, indices: Iterable[int]) -> list[ClipPlace] | None:
        """The frames' places in their clip for the feature chain (None when it is off)."""
        if self.coherence_features <= 0:
            return None
        return [ClipPlace(clip, i, self.coherence_features) for i in indices]

    @staticmethod
    def _seed(chain: Coherence, it: Item, i: int) -> None:
        """Continue the chain from frame i done in an earlier run (--resume): its input and its output file;
        without them (the first frame, or one that failed) the chain starts afresh."""
        chain.restart()
        if i < 0 or not it.targets[i].exists():
            return
        try:
            chain.seed(load_frame(it.frames[i]), load_frame(it.targets[i]))
        except ImageError:
            pass

    def _run_video(self, it: Item) -> None:
        """A video: one output video at the same rate and size, with the source's audio."""
        if self._finished(it.target):
            return
        try:
            info = video.probe(it.source)
        except video.VideoError as exc:
            self.fail(str(exc))
            return
        try:
            stats = self._smoothed(it.source.name, lambda: video.read_frames(it.source, self.fail), info.frames)
            writer = video.VideoWriter(it.target, info.width, info.height, info.rate,
                                       audio_from=it.source if info.has_audio else None)
        except video.VideoError as exc:
            self.fail(str(exc))
            return
        try:
            index = 0
            on_bad = self.fail if stats is None else None  # else pass 1 has reported damaged packets
            chain = Coherence(self.coherence, self.measure_flicker, self.keep_chroma)
            for group in chunks(video.read_frames(it.source, on_bad), self.backend.chunk):
                sts = [stats[min(index + k, len(stats) - 1)] if stats else None for k in range(len(group))]
                places = self._places(str(it.source), range(index, index + len(group)))
                index += len(group)
                for k, res in enumerate(self.backend.stylize(group, sts, places)):
                    if res.value is None:  # keep the clip's timing: the source frame stands in
                        self.fail(f"{it.source}: frame {index - len(group) + k}: {res.error}")
                        pixels = group[k]
                        chain.restart()
                    else:
                        pixels = chain.step(group[k], res.value, res.motion)
                    writer.write(pixels)
                    self._advance()
            writer.close()
            self.summary.written += 1
            if chain.meter is not None:
                self.summary.flicker.append(chain.meter.line(str(it.source)))
        except BaseException as exc:
            writer.abort()
            if isinstance(exc, video.VideoError):
                self.fail(str(exc))
            else:
                raise

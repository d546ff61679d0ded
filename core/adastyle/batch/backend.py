"""Where frames are stylised: in this process (`LocalBackend`) or on a Ray cluster (`ray_backend.RayBackend`).

Both do two things to a list of frames, with one set of style options: measure their content statistics
(encoder only) and stylise them with given (smoothed) statistics or their own. The batch job drives either
the same way, so a distributed run gives the same frames as a local one. A frame that fails comes back as its
error message (a string), never as an exception that would end the rest of the run.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Union

import numpy as np

from adastyle.content_stats import ContentStats

log = logging.getLogger(__name__)

FrameResult = Union[np.ndarray, str]     # stylised pixels, or why the frame failed
StatsResult = Union[ContentStats, str]


@dataclass(frozen=True)
class StyleOptions:
    """Every stylise control that applies to all frames alike (the content varies, these do not)."""
    styles: tuple[np.ndarray, ...]
    weights: tuple[float, ...] | None = None
    alpha: float = 1.0
    preserve_color: str = "none"
    mask: np.ndarray | None = None
    scale: float = 1.0
    style_size: int | None = 512
    tile: int | None = None

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `Stylizer.stylize` / `Stylizer.measure`."""
        return dict(weights=list(self.weights) if self.weights else None, alpha=self.alpha,
                    preserve_color=self.preserve_color, mask=self.mask, scale=self.scale,
                    style_size=self.style_size, tile=self.tile)


class Backend(Protocol):
    chunk: int  # frames handed over per call (enough to keep every worker busy)

    def measure(self, frames: Sequence[np.ndarray]) -> list[StatsResult]: ...

    def stylize(self, frames: Sequence[np.ndarray], stats: Sequence[ContentStats | None]) -> list[FrameResult]: ...

    def close(self) -> None: ...


def describe(exc: BaseException) -> str:
    """One line for a failed frame: a UserError (a bad value, an unreadable image) as it is; anything else is
    not the user's to fix, so it is logged with its traceback and marked internal, as the server does (an
    internal torch or PIL ValueError is not shown as the user's fault)."""
    from adastyle.errors import OUT_OF_MEMORY, UserError, is_out_of_memory

    if isinstance(exc, UserError):
        return exc.message or str(exc)
    if is_out_of_memory(exc):
        log.warning("a frame ran out of memory: %s", exc)
        return OUT_OF_MEMORY
    log.error("internal error on a frame", exc_info=exc)
    return f"internal error ({type(exc).__name__}: {exc})"


class FrameWorker:
    """One model and the per-frame calls around it; used in-process and inside each Ray actor."""

    def __init__(self, options: StyleOptions, device: str = "auto", fast: bool = True) -> None:
        from adastyle.engine import Stylizer

        self.options = options
        self.stylizer = Stylizer(device=device, fast=fast)
        self._kw = options.kwargs()

    def measure_one(self, frame: np.ndarray) -> StatsResult:
        try:
            return self.stylizer.measure(frame, list(self.options.styles), **self._kw)
        except Exception as exc:  # noqa: BLE001 - one bad frame must not end the run
            return describe(exc)

    def stylize_one(self, frame: np.ndarray, stats: ContentStats | None) -> FrameResult:
        try:
            out = self.stylizer.stylize(frame, list(self.options.styles), content_stats=stats, **self._kw)
            return np.asarray(out)
        except Exception as exc:  # noqa: BLE001 - one bad frame must not end the run
            return describe(exc)


class LocalBackend:
    """Frames stylised one after the other by one Stylizer in this process."""

    chunk = 4

    def __init__(self, options: StyleOptions, device: str = "auto", fast: bool = True) -> None:
        self.worker = FrameWorker(options, device, fast)

    def measure(self, frames: Sequence[np.ndarray]) -> list[StatsResult]:
        return [self.worker.measure_one(f) for f in frames]

    def stylize(self, frames: Sequence[np.ndarray], stats: Sequence[ContentStats | None]) -> list[FrameResult]:
        return [self.worker.stylize_one(f, s) for f, s in zip(frames, stats)]

    def close(self) -> None:
        pass

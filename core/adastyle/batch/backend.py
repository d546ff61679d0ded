"""Where frames are stylised: in this process (`LocalBackend`) or on a Ray cluster (`ray_backend.RayBackend`).

Both do two things to a list of frames, with the run's one `StyleOptions`: measure their content statistics
(encoder only) and stylise them with given (smoothed) statistics or their own. The batch job drives either
the same way, so a distributed run gives the same frames as a local one. Every frame comes back as a
`FrameOutcome`: its value, or the one line a user sees about why it failed (`errors.user_message`), never
an exception that would end the rest of the run.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

import numpy as np

from adastyle.content_stats import ContentStats
from adastyle.errors import AdaStyleError, user_message
from adastyle.request import StyleOptions, StylizeRequest

__all__ = ["Backend", "FrameFailed", "FrameOutcome", "FrameResult", "FrameWorker", "LocalBackend", "StatsResult", "StyleOptions"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class FrameOutcome(Generic[T]):
    """One frame's result: `value`, or `error`, the line a user sees about why the frame failed."""
    value: T | None = None
    error: str | None = None

    @classmethod
    def failed(cls, exc: BaseException) -> FrameOutcome[T]:
        """The outcome of a frame that raised: what the one error policy shows (internal errors logged)."""
        return cls(error=user_message(exc, log, "a frame"))

    def unwrap(self) -> T:
        """The value; FrameFailed with the frame's line when it failed (for callers that need every frame)."""
        if self.value is None:
            raise FrameFailed(self.error or "the frame failed")
        return self.value


class FrameFailed(AdaStyleError):
    """A frame a caller needed did not come back (its message is the frame's line)."""


FrameResult = FrameOutcome[np.ndarray]     # stylised pixels
StatsResult = FrameOutcome[ContentStats]   # a frame's content statistics


class Backend(Protocol):
    chunk: int  # frames handed over per call (enough to keep every worker busy)

    def measure(self, frames: Sequence[np.ndarray]) -> list[StatsResult]: ...

    def stylize(self, frames: Sequence[np.ndarray], stats: Sequence[ContentStats | None]) -> list[FrameResult]: ...

    def close(self) -> None: ...


class FrameWorker:
    """One model and the per-frame calls around it; used in-process and inside each Ray actor."""

    def __init__(self, options: StyleOptions, device: str = "auto", fast: bool = True) -> None:
        from adastyle.engine import Stylizer

        self.options = options
        self.stylizer = Stylizer(device=device, fast=fast)

    def measure_one(self, frame: np.ndarray) -> StatsResult:
        try:
            return FrameOutcome(self.stylizer.measure(StylizeRequest(frame, self.options)))
        except Exception as exc:  # noqa: BLE001 - one bad frame must not end the run
            return FrameOutcome.failed(exc)

    def stylize_one(self, frame: np.ndarray, stats: ContentStats | None) -> FrameResult:
        try:
            out = self.stylizer.run(StylizeRequest(frame, self.options), content_stats=stats)
            return FrameOutcome(np.asarray(out))
        except Exception as exc:  # noqa: BLE001 - one bad frame must not end the run
            return FrameOutcome.failed(exc)


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

"""Where frames are stylised: in this process (`LocalBackend`) or on a Ray cluster (`ray_backend.RayBackend`).

Both do two things to a list of frames, with the run's one `StyleOptions`: measure their content statistics
(encoder only) and stylise them with given (smoothed) statistics or their own. The batch job drives either
the same way, so a distributed run gives the same frames as a local one (but for the feature chain, below).
Every frame comes back as a
`FrameOutcome`: its value, or the one line a user sees about why it failed (`errors.user_message`), never
an exception that would end the rest of the run.

Frames of a clip may come with their place in it (`ClipPlace`): then each worker runs the clip's chain at the
decoder's input (`adastyle.feature_coherence`), which needs the previous frame's AdaIN target, over the frames
it is given in order. A worker continues its chain only to the frame right after the one it did last, else it
starts a new one: one process (`LocalBackend`) carries it through the whole clip; Ray actors, each given a run
of consecutive frames, start it afresh at the first frame of each run (`ray_backend`).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, NamedTuple, Protocol, TypeVar

import numpy as np

from adastyle.coherence import Motion
from adastyle.content_stats import ContentStats
from adastyle.errors import AdaStyleError, user_message
from adastyle.feature_coherence import FeatureChain
from adastyle.request import StyleOptions, StylizeRequest

__all__ = ["Backend", "ClipPlace", "FrameFailed", "FrameOutcome", "FrameResult", "FrameWorker", "LocalBackend",
           "StatsResult", "StyleOptions"]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class FrameOutcome(Generic[T]):
    """One frame's result: `value`, or `error`, the line a user sees about why the frame failed; `motion`: the
    flow from the clip's previous frame that the worker's feature chain measured on these pixels, for the pixel
    chain (`coherence.Coherence.step(known=)`): measuring it costs more than carrying it (1.2 s against a
    19 MB copy at 1920x1080 on two cores)."""
    value: T | None = None
    error: str | None = None
    motion: Motion | None = None

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


class ClipPlace(NamedTuple):
    """Where a frame sits in a clip, for the feature chain: the clip, the frame's index in it, and the chain's
    strength (`--coherence-features`)."""
    clip: str
    index: int
    strength: float


class Backend(Protocol):
    chunk: int  # frames handed over per call (enough to keep every worker busy)

    def measure(self, frames: Sequence[np.ndarray]) -> list[StatsResult]: ...

    def stylize(self, frames: Sequence[np.ndarray], stats: Sequence[ContentStats | None],
                places: Sequence[ClipPlace] | None = None) -> list[FrameResult]: ...

    def close(self) -> None: ...


class FrameWorker:
    """One model and the per-frame calls around it; used in-process and inside each Ray actor."""

    def __init__(self, options: StyleOptions, device: str = "auto", fast: bool = True) -> None:
        from adastyle.engine import Stylizer

        self.options = options
        self.stylizer = Stylizer(device=device, fast=fast)
        self._chain: FeatureChain | None = None
        self._chain_at: tuple[str, int] | None = None  # the clip and frame the chain did last

    def measure_one(self, frame: np.ndarray) -> StatsResult:
        try:
            return FrameOutcome(self.stylizer.measure(StylizeRequest(frame, self.options)))
        except Exception as exc:  # noqa: BLE001 - one bad frame must not end the run
            return FrameOutcome.failed(exc)

    def stylize_one(self, frame: np.ndarray, stats: ContentStats | None, place: ClipPlace | None = None) -> FrameResult:
        """One frame; with its place in a clip, through the clip's feature chain (continued from the frame
        before when this worker did that one last, else started afresh)."""
        chain = self._chain_for(place)
        try:
            out = self.stylizer.run(StylizeRequest(frame, self.options), content_stats=stats, target_chain=chain)
        except Exception as exc:  # noqa: BLE001 - one bad frame must not end the run
            self._chain = self._chain_at = None
            return FrameOutcome.failed(exc)
        if place is not None:
            self._chain_at = (place.clip, place.index)
        return FrameOutcome(np.asarray(out), motion=chain.motion_for(frame) if chain is not None else None)

    def _chain_for(self, place: ClipPlace | None) -> FeatureChain | None:
        if place is None or place.strength <= 0:
            self._chain = self._chain_at = None
            return None
        if (self._chain is None or self._chain.strength != place.strength
                or self._chain_at != (place.clip, place.index - 1)):
            self._chain = FeatureChain(place.strength)
        return self._chain


class LocalBackend:
    """Frames stylised one after the other by one Stylizer in this process."""

    chunk = 4

    def __init__(self, options: StyleOptions, device: str = "auto", fast: bool = True) -> None:
        self.worker = FrameWorker(options, device, fast)

    def measure(self, frames: Sequence[np.ndarray]) -> list[StatsResult]:
        return [self.worker.measure_one(f) for f in frames]

    def stylize(self, frames: Sequence[np.ndarray], stats: Sequence[ContentStats | None],
                places: Sequence[ClipPlace] | None = None) -> list[FrameResult]:
        at = places if places is not None else [None] * len(frames)
        return [self.worker.stylize_one(f, s, p) for f, s, p in zip(frames, stats, at)]

    def close(self) -> None:
        pass

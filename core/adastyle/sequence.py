"""A stabilised frame sequence run by one Stylizer: measure every frame, smooth, stylise each frame.

Why: the plug-ins send the frames of an animation (GIMP's layers-as-frames, Krita's keyframes) as one
request, and must get the same frames as `adastyle batch --sequence` would make of them: the same
measurement (`Stylizer.measure`), the same smoothing (`stability.smooth_measured`), the
same stylisation with the smoothed statistics (`Stylizer.run(..., content_stats=)`), the same two motion chains
(`feature_coherence.FeatureChain` at the decoder's input, `coherence.Coherence` on the stylised frames: each
frame made to agree with the previous one along the optical flow, measured once for both). Nothing is
implemented twice; this module only orders the steps for one process, with progress and cancel
between frames, where the batch job orders them for backends and files.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from adastyle.coherence import Coherence
from adastyle.content_stats import ContentStats
from adastyle.errors import Cancelled
from adastyle.feature_coherence import FeatureChain
from adastyle.imageio import ImageLike, split_alpha
from adastyle.request import RequestError, StyleOptions, StylizeRequest, check_sequence
from adastyle.stability import smooth_measured
from adastyle_plugin import rules, wire

if TYPE_CHECKING:
    from adastyle.engine import Stylizer

DEFAULT_STABILITY = rules.DEFAULT_STABILITY  # frames; the default of `adastyle batch --stability` too
DEFAULT_COHERENCE = rules.DEFAULT_COHERENCE  # the default of `adastyle batch --coherence` too
DEFAULT_COHERENCE_FEATURES = rules.DEFAULT_COHERENCE_FEATURES  # and of `--coherence-features`
MAX_FRAMES = wire.MAX_FRAMES  # frames one request may carry (the wire schema's limit)
MEASURE_SHARE = 0.25     # measuring a frame (encoder only) costs about a quarter of stylising it


@dataclass(frozen=True, eq=False)
class SequenceRequest:
    """The frames of one animation and how to stylise them; made once, checked once.

    frames: one StylizeRequest per frame, in playback order, all with the same size and the same StyleOptions
    (only the content differs); stability: the smoothing window's standard deviation in frames (0 = each frame on
    its own statistics); coherence: how strongly each frame follows the previous stylised frame along the
    motion (0 = off); coherence_features: how strongly each frame's AdaIN target follows the previous frame's
    before decoding (0 = off).
    """

    frames: tuple[StylizeRequest, ...]
    stability: float = DEFAULT_STABILITY
    coherence: float = DEFAULT_COHERENCE
    coherence_features: float = DEFAULT_COHERENCE_FEATURES

    def __post_init__(self) -> None:
        if not self.frames:
            raise RequestError("a sequence needs at least one frame")
        if len(self.frames) > MAX_FRAMES:
            raise RequestError(f"a sequence may have at most {MAX_FRAMES} frames, got {len(self.frames)}")
        stability, coherence, features = check_sequence(self.stability, self.coherence, self.coherence_features)
        object.__setattr__(self, "stability", stability)
        object.__setattr__(self, "coherence", coherence)
        object.__setattr__(self, "coherence_features", features)
        size, options = self.frames[0].content.size, self.frames[0].options
        for i, f in enumerate(self.frames):
            if f.options is not options:
                raise RequestError(f"all frames must share one set of options: frame {i} has its own")
            if f.content.size != size:
                raise RequestError(f"all frames must have the same size: frame 0 is {size[0]}x{size[1]}, "
                                   f"frame {i} is {f.content.width}x{f.content.height}")

    @classmethod
    def of(cls, frames: Sequence[ImageLike], options: StyleOptions | Sequence[ImageLike] | ImageLike,
           stability_frames: float = DEFAULT_STABILITY, coherence: float = DEFAULT_COHERENCE,
           coherence_features: float = DEFAULT_COHERENCE_FEATURES, **option_fields: Any) -> SequenceRequest:
        """Frames with one StyleOptions (given, or made from the styles and StyleOptions' keywords)."""
        if not frames:
            raise RequestError("a sequence needs at least one frame")
        if len(frames) > MAX_FRAMES:
            raise RequestError(f"a sequence may have at most {MAX_FRAMES} frames, got {len(frames)}")
        options = StyleOptions.of(options, **option_fields)
        return cls(tuple(StylizeRequest(f, options) for f in frames), stability_frames, coherence, coherence_features)

    @property
    def size(self) -> tuple[int, int]:
        return self.frames[0].content.size

    @property
    def work_pixels(self) -> float:
        """Pixels the engine works on over all frames (what pixel limits are checked against)."""
        return sum(f.work_pixels for f in self.frames)


def run_sequence(stylizer: Stylizer, seq: SequenceRequest, progress: Callable[[float], None] | None = None,
                 cancel: Callable[[], bool] | None = None,
                 on_frame: Callable[[int, Image.Image], None] | None = None) -> list[Image.Image] | None:
    """Stylise every frame with smoothed content statistics; Cancelled between frames when `cancel` says so.

    progress: 0..1 over the whole sequence (measuring weighs MEASURE_SHARE of stylising per frame).
    on_frame(i, image): called as each frame is finished; given, the images are not kept (None is
    returned), so a long sequence holds one result at a time.
    """
    n = len(seq.frames)
    measuring = seq.stability > 0 and n > 1
    total = n * (1 + (MEASURE_SHARE if measuring else 0))
    done = 0.0

    def report(extra: float = 0.0) -> None:
        if progress is not None:
            progress(min(1.0, (done + extra) / total))

    def check() -> None:
        if cancel is not None and cancel():
            raise Cancelled("cancelled")

    stats: list[ContentStats | None] = [None] * n
    if measuring:
        measured: list[ContentStats | None] = []
        for req in seq.frames:
            check()
            measured.append(stylizer.measure(req, cancel))
            done += MEASURE_SHARE
            report()
        stats = smooth_measured(measured, seq.stability)
    chain = Coherence(seq.coherence if n > 1 else 0.0,
                      keep_chroma=seq.frames[0].options.keeps_content_chroma)
    features = FeatureChain(seq.coherence_features if n > 1 else 0.0)
    out: list[Image.Image] = []
    for i, req in enumerate(seq.frames):
        check()
        image = stylizer.run(req, lambda f: report(f), cancel, stats[i], target_chain=features)
        if chain.active:
            frame = np.asarray(split_alpha(req.content)[0])
            image = Image.fromarray(chain.step(frame, np.asarray(image), features.motion_for(frame)))
        done += 1
        report()
        if on_frame is not None:
            on_frame(i, image)
        else:
            out.append(image)
    return None if on_frame is not None else out

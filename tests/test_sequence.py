"""A stabilised frame sequence in one process (adastyle.sequence): its checks, progress, cancel between frames,
and that it is `adastyle batch`'s smoothing (the server's /v1/sequence runs exactly this; tests/
test_server_sequence.py checks it over HTTP against `adastyle batch` itself)."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import EXAMPLES
from PIL import Image

from adastyle.batch.flicker import pan_clip
from adastyle.errors import Cancelled
from adastyle.request import RequestError, StyleOptions, StylizeRequest, check_sequence
from adastyle.sequence import MAX_FRAMES, MEASURE_SHARE, SequenceRequest, run_sequence
from adastyle.stability import smooth_measured


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return pan_clip(Image.open(EXAMPLES / "content-coffee.jpg"), 3, (96, 64), 6)


def test_a_sequence_checks_itself(frames, style_img) -> None:
    with pytest.raises(RequestError, match="at least one frame"):
        SequenceRequest.of([], style_img)
    with pytest.raises(RequestError, match="same size: frame 0 is 96x64, frame 1 is 64x64"):
        SequenceRequest.of([frames[0], frames[1][:, :64]], style_img)
    with pytest.raises(RequestError, match="stability must be between 0"):
        SequenceRequest.of(frames, style_img, -1.0)
    with pytest.raises(RequestError, match=f"at most {MAX_FRAMES} frames"):
        SequenceRequest.of([frames[0]] * (MAX_FRAMES + 1), style_img)
    with pytest.raises(RequestError, match="alpha"):  # each frame is a StylizeRequest, checked as one
        SequenceRequest.of(frames, style_img, alpha=2.0)
    seq = SequenceRequest.of(frames, style_img, 1.5, alpha=0.5)
    assert seq.size == (96, 64) and seq.stability == 1.5 and seq.work_pixels == 3 * 96 * 64
    assert len({id(f.options) for f in seq.frames}) == 1, "every frame carries the one StyleOptions"
    own = (StylizeRequest(frames[0], style_img), StylizeRequest(frames[1], style_img))
    with pytest.raises(RequestError, match="share one set of options"):
        SequenceRequest(own)


def test_the_stability_and_coherence_are_checked_in_one_place() -> None:
    """`adastyle batch` and the server's sequence jobs both check with check_sequence."""
    assert check_sequence(0, 1) == (0.0, 1.0, 0.9) and check_sequence(100, 0.5, 0) == (100.0, 0.5, 0.0)
    assert check_sequence(2, 0.9, 1) == (2.0, 0.9, 1.0)
    for bad in ((-1, 0.5), (100.5, 0.5), (float("nan"), 0.5), ("2", 0.5)):
        with pytest.raises(RequestError, match="stability must be between 0 .frame by frame. and 100 frames"):
            check_sequence(*bad)
    with pytest.raises(RequestError, match="coherence must be between 0"):
        check_sequence(2, 1.5)
    for bad in (-0.01, 1.01, float("inf")):
        with pytest.raises(RequestError, match=r"coherence_features \(feature coherence\) must be between 0 \(off\) "
                                               r"and 1, got"):
            check_sequence(2, 0.9, bad)


def test_the_frames_are_the_smoothed_statistics_frames(stylizer, frames, style_img) -> None:
    seq = SequenceRequest.of(frames, style_img, 2.0, coherence=0.0, coherence_features=0.0)
    seen: list[float] = []
    out = run_sequence(stylizer, seq, seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert seen[0] == pytest.approx(MEASURE_SHARE / (3 * (1 + MEASURE_SHARE)))  # measuring counts too
    options = StyleOptions(style_img)
    smoothed = smooth_measured([stylizer.measure(StylizeRequest(f, options)) for f in frames], 2.0)
    for frame, got, stats in zip(frames, out, smoothed):
        want = stylizer.run(StylizeRequest(frame, options), content_stats=stats)
        assert np.array_equal(np.asarray(got), np.asarray(want))
    plain = run_sequence(stylizer, SequenceRequest.of(frames, style_img, 0.0, coherence=0.0, coherence_features=0.0))
    assert np.array_equal(np.asarray(plain[1]), np.asarray(stylizer.stylize(frames[1], style_img)))
    assert not np.array_equal(np.asarray(plain[1]), np.asarray(out[1])), "stability made no difference"


def test_coherence_is_the_batch_chain_over_the_stylised_frames(stylizer, frames, style_img) -> None:
    from adastyle.coherence import Coherence

    with pytest.raises(RequestError, match="coherence must be between 0"):
        SequenceRequest.of(frames, style_img, 0.0, coherence=1.2)
    plain = run_sequence(stylizer, SequenceRequest.of(frames, style_img, 0.0, coherence=0.0, coherence_features=0.0))
    chained = run_sequence(stylizer, SequenceRequest.of(frames, style_img, 0.0, coherence=0.7, coherence_features=0.0))
    chain = Coherence(0.7)
    want = [chain.step(f, np.asarray(p)) for f, p in zip(frames, plain)]
    assert all(np.array_equal(np.asarray(g), w) for g, w in zip(chained, want))
    assert np.array_equal(np.asarray(chained[0]), np.asarray(plain[0]))
    assert not np.array_equal(np.asarray(chained[2]), np.asarray(plain[2]))


def test_feature_coherence_is_the_engines_chain_before_the_pixel_chain(stylizer, frames, style_img,
                                                                      flows_measured) -> None:
    """Both chains by default: each frame decoded from the target the FeatureChain carried, then the pixel chain;
    the optical flow of a frame is measured once for the two."""
    from adastyle.coherence import Coherence
    from adastyle.feature_coherence import FeatureChain

    seq = SequenceRequest.of(frames, style_img, 0.0)
    assert (seq.coherence, seq.coherence_features) == (1.0, 0.9)  # the wire schema's defaults
    options = StyleOptions(style_img)
    features, pixels = FeatureChain(0.9), Coherence(1.0)
    want = [pixels.step(f, np.asarray(stylizer.run(StylizeRequest(f, options), target_chain=features))) for f in frames]
    calls = flows_measured
    calls["n"] = 0
    got = run_sequence(stylizer, seq)
    assert all(np.array_equal(np.asarray(g), w) for g, w in zip(got, want))
    assert calls["n"] == len(frames) - 1, "the flow of a frame was measured more than once"
    only = run_sequence(stylizer, SequenceRequest.of(frames, style_img, 0.0, coherence=0.0, coherence_features=0.9))
    plain = run_sequence(stylizer, SequenceRequest.of(frames, style_img, 0.0, coherence=0.0, coherence_features=0.0))
    assert np.array_equal(np.asarray(only[0]), np.asarray(plain[0]))
    assert not np.array_equal(np.asarray(only[2]), np.asarray(plain[2]))


def test_cancel_between_frames_and_frames_handed_over_one_at_a_time(stylizer, frames, style_img) -> None:
    got: list[int] = []
    asked = {"n": 0}

    def cancel() -> bool:
        return len(got) >= 1  # after the first finished frame

    def on_frame(i: int, image: Image.Image) -> None:
        assert image.size == (96, 64)
        got.append(i)

    with pytest.raises(Cancelled):
        run_sequence(stylizer, SequenceRequest.of(frames, style_img, 0.0), None, cancel, on_frame)
    assert got == [0]
    assert run_sequence(stylizer, SequenceRequest.of(frames[:2], style_img, 0.0), None, None,
                        lambda i, im: asked.update(n=asked["n"] + 1)) is None
    assert asked["n"] == 2

"""The relu4_1 variant of temporal coherence (adastyle.feature_coherence): the motion taken to the feature grid,
the warp of the previous target, occluded cells, scene cuts and the chain across chunk borders."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import EXAMPLES
from PIL import Image

from adastyle.batch.flicker import camera_clip, pan_clip
from adastyle.coherence import Motion, motion
from adastyle.feature_coherence import FeatureChain, blend_targets, grid_motion, warp_features

SIZE = (160, 120)


def photo(name: str = "content-coffee.jpg") -> Image.Image:
    return Image.open(EXAMPLES / name)


def stand_in_target(frame: np.ndarray) -> torch.Tensor:
    """A feature map made from the frame (its 8x8 cell means, a few channels): what moves with the picture."""
    x = torch.from_numpy(np.asarray(frame, np.float32)).permute(2, 0, 1)[None]
    x = torch.nn.functional.pad(x, (0, (-x.shape[-1]) % 8, 0, (-x.shape[-2]) % 8), mode="replicate")
    return torch.nn.functional.avg_pool2d(x, 8)


def test_a_known_shift_moves_the_features_by_that_many_cells() -> None:
    a, b = pan_clip(photo(), 2, SIZE, 16)  # the camera moves 16 px right: the content 2 cells left
    cell_flow, share = grid_motion(motion(a, b), (15, 20))
    inner = (slice(2, -2), slice(2, -4))
    assert np.median(cell_flow[inner][..., 0]) == pytest.approx(2.0, abs=0.05)
    assert np.median(cell_flow[inner][..., 1]) == pytest.approx(0.0, abs=0.05)
    assert share[inner].mean() > 0.95
    # the previous frame's features, warped, are the new frame's where the same picture is seen
    feat = torch.randn(1, 5, 15, 20)
    moved = warp_features(feat, np.broadcast_to(np.array([2.0, 0.0], np.float32), (15, 20, 2)))
    assert torch.allclose(moved[..., :, :18], feat[..., :, 2:], atol=1e-5)
    # a fractional shift interpolates between neighbouring cells
    half = warp_features(feat, np.broadcast_to(np.array([0.5, 0.0], np.float32), (15, 20, 2)))
    assert torch.allclose(half[..., :, :19], (feat[..., :, :19] + feat[..., :, 1:]) / 2, atol=1e-5)


def test_grid_motion_scales_the_flow_and_pads_like_the_network_input() -> None:
    h, w = 100, 150  # padded to 104 x 152: 13 x 19 cells
    flow = np.zeros((h, w, 2), np.float32)
    flow[..., 0], flow[..., 1] = 12.0, -4.0
    reliable = np.ones((h, w), bool)
    cell_flow, share = grid_motion(Motion(flow, reliable, False), (13, 19))
    assert cell_flow.shape == (13, 19, 2) and share.shape == (13, 19)
    assert np.allclose(cell_flow[..., 0], 1.5) and np.allclose(cell_flow[..., 1], -0.5)
    assert share[:12, :18].min() == pytest.approx(1.0)
    assert share[12, 0] == pytest.approx(0.5)  # the last row of cells: 4 of its 8 pixel rows are padding


def test_occluded_cells_keep_their_own_target() -> None:
    target, previous = torch.zeros(1, 3, 6, 8), torch.ones(1, 3, 6, 8)
    share = np.ones((6, 8), np.float32)
    share[:, :3] = 0.0       # something new appeared on the left
    share[:, 3] = 0.5        # a cell half uncovered
    out = blend_targets(target, previous, np.zeros((6, 8, 2), np.float32), share, 0.9)
    assert torch.equal(out[..., :3], target[..., :3])
    assert torch.allclose(out[..., 3], torch.full_like(out[..., 3], 0.45))
    assert torch.allclose(out[..., 4:], torch.full_like(out[..., 4:], 0.9))


def test_the_chain_follows_the_motion_and_restarts_at_a_cut() -> None:
    clip = camera_clip(photo(), 3, SIZE, 4)
    other = np.asarray(photo("content-rocket.jpg").convert("RGB").resize(SIZE))
    chain = FeatureChain(0.9)
    first = chain.step(clip[0], stand_in_target(clip[0]))
    assert torch.equal(first, stand_in_target(clip[0]))  # nothing before it
    own = stand_in_target(clip[1])
    carried = chain.step(clip[1], own)
    assert not torch.equal(carried, own) and chain.cuts == 0
    cut = chain.step(other, stand_in_target(other))
    assert chain.cuts == 1 and torch.equal(cut, stand_in_target(other))
    off = FeatureChain(0.0)
    assert all(torch.equal(off.step(f, stand_in_target(f)), stand_in_target(f)) for f in clip)


def test_chunk_borders_do_not_break_the_chain() -> None:
    clip = camera_clip(photo("content-rocket.jpg"), 6, SIZE, 3, zoom=1.01)
    whole = FeatureChain(0.8)
    expected = [whole.step(f, stand_in_target(f)) for f in clip]
    got, chain = [], FeatureChain(0.8)
    for start in (0, 2, 4):  # chunks of two frames, each chain seeded from the last frame of the one before
        if start:
            chain = FeatureChain(0.8)
            chain.seed(clip[start - 1], got[-1])
        got += [chain.step(f, stand_in_target(f)) for f in clip[start:start + 2]]
    assert all(torch.equal(a, b) for a, b in zip(got, expected))


def test_a_box_cuts_the_flow_out_and_what_came_from_outside_it_is_unreliable() -> None:
    h, w = 64, 96
    flow = np.zeros((h, w, 2), np.float32)
    flow[..., 0] = -8.0  # every pixel came from 8 px to its left
    m = Motion(flow, np.ones((h, w), bool), False)
    whole_flow, whole_share = grid_motion(m, (8, 12))
    assert whole_share.min() == pytest.approx(1.0)  # the frame's own check decides at its edge
    box_flow, box_share = grid_motion(m, (8, 4), (0, 64, 48, 80))
    assert np.allclose(box_flow[..., 0], -1.0)
    assert np.allclose(box_share[:, 0], 0.0) and np.allclose(box_share[:, 1:], 1.0)  # its left column came from outside
    assert grid_motion(m, (8, 12), (0, h, 0, w))[1].min() == pytest.approx(1.0)  # the whole frame's box: as no box


# ---- in the engine -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pan() -> list[np.ndarray]:
    return camera_clip(photo(), 4, (128, 96), 2.5)


def flicker(frames: list[np.ndarray], outs: list) -> float:
    from adastyle.coherence import FlickerMeter

    meter = FlickerMeter()
    for f, o in zip(frames, outs):
        meter.add(f, np.asarray(o))
    return meter.output_error


def test_the_engine_decodes_the_carried_target_and_strength_0_is_the_plain_run(stylizer, style_img, pan) -> None:
    from adastyle.request import StyleOptions, StylizeRequest

    options = StyleOptions(style_img)
    plain = [stylizer.run(StylizeRequest(f, options)) for f in pan]
    off = FeatureChain(0.0)
    assert all(np.array_equal(np.asarray(p), np.asarray(stylizer.run(StylizeRequest(f, options), target_chain=off)))
               for f, p in zip(pan, plain))
    chain = FeatureChain(0.9)
    carried = [stylizer.run(StylizeRequest(f, options), target_chain=chain) for f in pan]
    assert np.array_equal(np.asarray(carried[0]), np.asarray(plain[0]))  # nothing before the first frame
    assert chain.cuts == 0 and chain.motion is not None
    assert flicker(pan, carried) < 0.9 * flicker(pan, plain), (flicker(pan, carried), flicker(pan, plain))


def test_a_tiled_frame_carries_each_tile_from_the_same_tile(stylizer, style_img, pan) -> None:
    """Tiles of 128 px on a 256 x 192 clip: every tile's target follows its own previous one (keyed by the box it
    was encoded from), and the frames flicker less than tiled frames on their own. How much less depends on the
    decoder: 0.93x with the shipped one (whole frames 0.83x), 0.93x with the eighth (0.85x), 0.92x with the
    seventh (0.86x), 0.90x with the fifth (0.83x); a chain that carried nothing would give 1.0x."""
    from adastyle.request import StyleOptions, StylizeRequest

    clip = camera_clip(photo(), 4, (256, 192), 2.5)
    options = StyleOptions(style_img, tile=128)
    plain = [stylizer.run(StylizeRequest(f, options)) for f in clip]
    seen: list[tuple] = []

    class Recording(FeatureChain):
        def carry(self, box, target):
            seen.append(box)
            return super().carry(box, target)

    chain = Recording(0.9)
    carried = [stylizer.run(StylizeRequest(f, options), target_chain=chain) for f in clip]
    boxes = set(seen)
    assert len(boxes) > 1 and (0, 192, 0, 256) not in boxes
    assert all(seen.count(b) == 4 for b in boxes)  # every tile once per frame
    assert flicker(clip, carried) < 0.95 * flicker(clip, plain), (flicker(clip, carried), flicker(clip, plain))


# ---- in the batch backends ------------------------------------------------------------------------------------
def test_a_worker_carries_the_chain_only_to_the_next_frame_of_the_same_clip(style_img, pan) -> None:
    from adastyle.batch.backend import ClipPlace, FrameWorker
    from adastyle.request import StyleOptions

    worker = FrameWorker(StyleOptions(np.asarray(style_img)), device="cpu")
    runs = {}
    for name, places in {"whole clip": [0, 1, 2, 3], "restart at 2": [0, 1, 12, 13], "off": None}.items():
        at = [ClipPlace("clip", i, 0.9) for i in places] if places else [None] * 4
        runs[name] = [worker.stylize_one(f, None, p).unwrap() for f, p in zip(pan, at)]
    assert all(np.array_equal(a, b) for a, b in zip(runs["whole clip"][:2], runs["restart at 2"][:2]))
    assert np.array_equal(runs["restart at 2"][2], runs["off"][2])  # a new chain: the frame on its own
    assert not np.array_equal(runs["whole clip"][2], runs["off"][2])
    assert not np.array_equal(runs["restart at 2"][3], runs["off"][3])  # ... continued from there
    other = worker.stylize_one(pan[1], None, ClipPlace("another clip", 1, 0.9)).unwrap()
    assert np.array_equal(other, runs["off"][1])  # the frame after frame 0, but of another clip


class FakeRay:
    """The two calls RayBackend makes per frame, run in this process at once (an actor per FrameWorker)."""

    class Actor:
        def __init__(self, actor) -> None:
            self.actor, self.calls = actor, []

        def __getattr__(self, method):
            actor, calls = self.actor, self.calls

            class Remote:
                @staticmethod
                def remote(*args):
                    calls.append(args)
                    return getattr(actor, method)(*args)
            return Remote

    @staticmethod
    def get(refs):
        return refs


def test_ray_gives_each_actor_a_run_of_consecutive_frames_and_the_chain_restarts_at_its_start(style_img, pan) -> None:
    """The feature chain on Ray: a chunk is cut into one run per actor; the second run starts the chain afresh
    (its first frame is the frame on its own), the pixel chain on the driver runs across the border."""
    from adastyle.batch.backend import ClipPlace, LocalBackend
    from adastyle.batch.ray_backend import RayBackend, RayFrameActor
    from adastyle.coherence import Coherence
    from adastyle.request import StyleOptions

    options = StyleOptions(np.asarray(style_img))
    backend = object.__new__(RayBackend)
    backend.ray, backend.workers, backend._next = FakeRay, 2, 0
    backend.actors = [FakeRay.Actor(RayFrameActor(options, "cpu", True, 0)) for _ in range(2)]
    places = [ClipPlace("clip", i, 0.9) for i in range(4)]
    got = [r.unwrap() for r in backend.stylize(pan, [None] * 4, places)]
    assert [[a[2].index for a in actor.calls] for actor in backend.actors] == [[0, 1], [2, 3]]
    local = LocalBackend(options, device="cpu")
    whole = [r.unwrap() for r in local.stylize(pan, [None] * 4, places)]
    alone = [r.unwrap() for r in local.stylize(pan, [None] * 4)]
    assert all(np.array_equal(a, b) for a, b in zip(got[:2], whole[:2]))  # the first run: the local chain
    assert np.array_equal(got[2], alone[2]) and not np.array_equal(got[2], whole[2])  # the border: afresh
    # Across the border the pixel chain (on the driver) keeps the frames together.
    pixel = Coherence(0.9)
    outs = [pixel.step(f, o) for f, o in zip(pan, got)]
    assert flicker(pan, outs) < 0.3 * flicker(pan, alone), (flicker(pan, outs), flicker(pan, alone))
    assert flicker(pan[1:3], outs[1:3]) < 0.3 * flicker(pan[1:3], alone[1:3])  # the pair across the border
    backend.actors = [FakeRay.Actor(RayFrameActor(options, "cpu", True, 0)) for _ in range(2)]
    backend.stylize(pan, [None] * 4)  # without places: dealt round-robin, as before
    assert [len(a.calls) for a in backend.actors] == [2, 2] and backend.actors[0].calls[0][2] is None


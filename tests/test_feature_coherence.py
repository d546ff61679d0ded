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

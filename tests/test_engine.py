"""Engine controls: alpha, interpolation, colour, masks, RGBA, tiling, caches, precision, errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import ARTIFACTS, arr
from PIL import Image, ImageDraw, ImageFilter

from adastyle import color
from adastyle.adain import StyleStats, WeightedMoments, adain_target, mean_std
from adastyle.imageio import ImageError, pil_to_tensor, tensor_to_pil
from adastyle.request import MaskError, RequestError


def half_mask(size: tuple[int, int], feather: int = 0) -> Image.Image:
    m = Image.new("L", size, 0)
    ImageDraw.Draw(m).rectangle([0, 0, size[0] // 2 - 1, size[1]], fill=255)
    return m.filter(ImageFilter.GaussianBlur(feather)) if feather else m


# ---- AdaIN in feature space -------------------------------------------------------------------------
def test_per_region_statistics_match_each_regions_style() -> None:
    g = torch.Generator().manual_seed(1)
    feat = torch.rand(1, 8, 6, 10, generator=g) * 5
    region = torch.zeros(1, 1, 6, 10)
    region[..., :, :4] = 1  # left 4 columns = region 1
    styles = [StyleStats(torch.full((1, 8, 1, 1), 3.0), torch.full((1, 8, 1, 1), 0.5)),
              StyleStats(torch.full((1, 8, 1, 1), -2.0), torch.full((1, 8, 1, 1), 2.0))]
    moms = [WeightedMoments(), WeightedMoments()]
    moms[0].add(feat, region)
    moms[1].add(feat, 1 - region)
    t = adain_target(feat, [m.mean_std() for m in moms], styles, region, alpha=1.0)
    left, right = t[..., :4], t[..., 4:]
    for part, st in ((left, styles[0]), (right, styles[1])):
        m, s = mean_std(part)
        assert torch.allclose(m, st.mean, atol=1e-4)
        assert torch.allclose(s, st.std, atol=1e-3)


def test_weighted_moments_over_tiles_equal_the_whole() -> None:
    g = torch.Generator().manual_seed(2)
    feat = torch.rand(1, 4, 8, 8, generator=g)
    w = torch.rand(1, 1, 8, 8, generator=g)
    whole, parts = WeightedMoments(), WeightedMoments()
    whole.add(feat, w)
    parts.add(feat[..., :3, :], w[..., :3, :])
    parts.add(feat[..., 3:, :], w[..., 3:, :])
    for a, b in zip(whole.mean_std(), parts.mean_std()):
        assert torch.allclose(a, b, atol=1e-6)


# ---- the paper's controls --------------------------------------------------------------------------
def test_alpha_zero_gives_the_decoded_content_features(stylizer, content_img, style_img) -> None:
    out = stylizer.stylize(content_img, [style_img], alpha=0.0)
    x = pil_to_tensor(content_img)
    expected = tensor_to_pil(stylizer.decode(stylizer.encode(x)))
    assert np.abs(arr(out) - arr(expected)).max() <= 1


def test_alpha_moves_between_content_and_style(stylizer, content_img, style_img) -> None:
    full = arr(stylizer.stylize(content_img, [style_img], alpha=1.0))
    half = arr(stylizer.stylize(content_img, [style_img], alpha=0.5))
    none = arr(stylizer.stylize(content_img, [style_img], alpha=0.0))
    assert np.abs(half - none).mean() < np.abs(full - none).mean()


def test_weights_one_zero_equal_the_single_style(stylizer, content_img, style_img, style_img2) -> None:
    single = arr(stylizer.stylize(content_img, [style_img]))
    mixed = arr(stylizer.stylize(content_img, [style_img, style_img2], weights=[1.0, 0.0]))
    assert np.abs(single - mixed).max() <= 1


def test_interpolation_is_between_the_styles(stylizer, content_img, style_img, style_img2) -> None:
    a = arr(stylizer.stylize(content_img, [style_img]))
    b = arr(stylizer.stylize(content_img, [style_img2]))
    mid = arr(stylizer.stylize(content_img, [style_img, style_img2], weights=[0.5, 0.5]))
    assert np.abs(mid - a).mean() < np.abs(b - a).mean()
    assert np.abs(mid - b).mean() < np.abs(b - a).mean()


def test_luminance_mode_keeps_the_content_chroma(stylizer, content_img, style_img2) -> None:
    out = stylizer.stylize(content_img, [style_img2], preserve_color="luminance")
    plain = stylizer.stylize(content_img, [style_img2])
    cc = arr(content_img.convert("YCbCr"))[..., 1:]
    kept = np.abs(arr(out.convert("YCbCr"))[..., 1:] - cc).mean()
    lost = np.abs(arr(plain.convert("YCbCr"))[..., 1:] - cc).mean()  # the goldfish style is magenta
    assert kept < 4.0 and kept < lost / 3, (kept, lost)  # 8-bit YCbCr round trip + RGB clipping cost ~2


def test_histogram_mode_matches_colour_mean_and_covariance(content_img, style_img) -> None:
    """Exact up to clipping to [0, 1] (which shrinks the covariance by under 20% for this pair)."""
    stats = color.colour_stats(content_img)
    matched = color.match_histogram(style_img, stats)
    mean, cov = color.colour_stats(matched)
    assert np.abs(mean - stats[0]).max() < 0.02
    assert np.abs(cov - stats[1]).max() < 0.2 * np.abs(stats[1]).max()


def test_histogram_mode_output_is_closer_to_content_colours(stylizer, content_img, style_img2) -> None:
    plain = color.colour_stats(stylizer.stylize(content_img, [style_img2]))[0]
    kept = color.colour_stats(stylizer.stylize(content_img, [style_img2], preserve_color="histogram"))[0]
    target = color.colour_stats(content_img)[0]
    assert np.abs(kept - target).sum() < np.abs(plain - target).sum()


# ---- spatial control -------------------------------------------------------------------------------
def test_one_style_mask_keeps_the_original_where_black(stylizer, content_img, style_img) -> None:
    mask = half_mask(content_img.size)
    out = arr(stylizer.stylize(content_img, [style_img], mask=mask))
    c = arr(content_img)
    w = content_img.width // 2
    assert np.array_equal(out[:, w:], c[:, w:])
    assert np.abs(out[:, : w - 16] - c[:, : w - 16]).mean() > 10


def test_two_styles_mask_white_first_black_second(stylizer, content_img, style_img, style_img2) -> None:
    mask = half_mask(content_img.size)
    out = arr(stylizer.stylize(content_img, [style_img, style_img2], mask=mask))
    a = arr(stylizer.stylize(content_img, [style_img]))
    b = arr(stylizer.stylize(content_img, [style_img2]))
    w = content_img.width // 2
    left, right = slice(0, w - 24), slice(w + 24, None)
    assert np.abs(out[:, left] - a[:, left]).mean() < np.abs(out[:, left] - b[:, left]).mean()
    assert np.abs(out[:, right] - b[:, right]).mean() < np.abs(out[:, right] - a[:, right]).mean()


def test_soft_mask_has_no_hard_edge(stylizer, content_img, style_img) -> None:
    """Across a feathered border the column-to-column change stays small; a hard mask jumps."""
    w = content_img.width // 2
    band = slice(w - 24, w + 24)

    def edge_jump(mask: Image.Image) -> float:
        out = arr(stylizer.stylize(content_img, [style_img], mask=mask)).mean(axis=2)
        return float(np.abs(np.diff(out[:, band], axis=1)).mean(axis=0).max())

    soft, hard = edge_jump(half_mask(content_img.size, feather=12)), edge_jump(half_mask(content_img.size))
    assert soft < 0.6 * hard, (soft, hard)


def test_mask_of_same_aspect_is_resized_other_sizes_fail(stylizer, content_img, style_img) -> None:
    small = half_mask((content_img.width // 2, content_img.height // 2))
    assert stylizer.stylize(content_img, [style_img], mask=small).size == content_img.size
    with pytest.raises(MaskError):
        stylizer.stylize(content_img, [style_img], mask=Image.new("L", (50, 50), 255))


# ---- RGBA, sizes, tiling ---------------------------------------------------------------------------
def test_rgba_alpha_passes_through_exactly(stylizer, content_img, style_img) -> None:
    rgba = content_img.convert("RGBA")
    alpha = Image.linear_gradient("L").resize(content_img.size)
    rgba.putalpha(alpha)
    out = stylizer.stylize(rgba, [style_img])
    assert out.mode == "RGBA"
    assert np.array_equal(np.asarray(out)[..., 3], np.asarray(alpha))


def test_transparent_pixels_do_not_pollute_statistics(stylizer, content_img, style_img) -> None:
    """Garbage under alpha 0 must not change the visible result much."""
    w, h = content_img.size
    base = content_img.convert("RGBA")
    alpha = Image.new("L", (w, h), 255)
    alpha.paste(0, (0, 0, w // 3, h))
    base.putalpha(alpha)
    noisy = base.copy()
    noisy.paste(Image.new("RGBA", (w // 3, h), (255, 0, 255, 0)), (0, 0))
    a = arr(stylizer.stylize(base, [style_img]))[:, w // 2:, :3]
    b = arr(stylizer.stylize(noisy, [style_img]))[:, w // 2:, :3]
    assert np.abs(a - b).mean() < 3.0


def test_tiled_matches_untiled_without_seams(stylizer, style_img) -> None:
    from conftest import EXAMPLES

    content = Image.open(EXAMPLES / "content-astronaut.jpg").convert("RGB").resize((512, 512))
    whole = stylizer.stylize(content, [style_img], tile=4096)
    tiled = stylizer.stylize(content, [style_img], tile=192)
    tiled.save(ARTIFACTS / "engine-tiled.png")
    diff = np.abs(arr(whole) - arr(tiled))
    assert diff.mean() < 4.0, diff.mean()
    # No seam: at every tile border the step between neighbouring rows/columns is no larger than the
    # untiled result's step at the same place (picture edges that happen to lie there are not seams).
    from adastyle import tiling

    t, w = arr(tiled).mean(axis=2), arr(whole).mean(axis=2)
    tiles = tiling.grid(512, 512, 192, 64, 48)
    borders = sorted({tt.y0 for tt in tiles if tt.y0} | {tt.y1 for tt in tiles if tt.y1 < 512})
    for axis in (0, 1):
        t_steps = np.abs(np.diff(t, axis=axis)).mean(axis=1 - axis)
        w_steps = np.abs(np.diff(w, axis=axis)).mean(axis=1 - axis)
        for b in borders:
            assert t_steps[b - 1] < 1.25 * w_steps[b - 1] + 1.0, (axis, b, t_steps[b - 1], w_steps[b - 1])


def test_tile_weights_sum_to_one() -> None:
    import torch as _t

    from adastyle import tiling

    tiles = tiling.grid(700, 1000, 256, 64, 32)
    total = _t.zeros(700, 1000)
    for t in tiles:
        total[t.y0:t.y1, t.x0:t.x1] += tiling.blend_weights(t, tiles)
    assert _t.allclose(total, _t.ones_like(total), atol=1e-5)


def test_stroke_scale_keeps_the_canvas_size(stylizer, content_img, style_img) -> None:
    out = stylizer.stylize(content_img, [style_img], scale=0.5)
    assert out.size == content_img.size
    small = stylizer.stylize(content_img, [style_img], style_size=256)
    assert small.size == content_img.size


def test_tiny_images_work(stylizer, style_img) -> None:
    assert stylizer.stylize(Image.new("RGB", (7, 3), "red"), [style_img]).size == (7, 3)


# ---- caches and precision --------------------------------------------------------------------------
def test_style_cache_hit_does_not_encode_again(content_img, style_img) -> None:
    from adastyle.engine import Stylizer

    st = Stylizer(device="cpu")
    st.stylize(content_img, [style_img])
    calls = st.encoder_calls
    st.stylize(content_img, [style_img], alpha=0.4)  # slider move: neither style nor content re-encoded
    assert st.encoder_calls == calls
    other = content_img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    st.stylize(other, [style_img])  # new content: one encode (content), style still cached
    assert st.encoder_calls == calls + 1


def test_fast_path_agrees_with_fp32(stylizer, stylizer_fp32, content_img, style_img) -> None:
    """bf16 + channels_last vs fp32: mean difference under 3 levels of 255, the 99th percentile under 16."""
    if stylizer.dtype == torch.float32:
        pytest.skip("this CPU has no fast bf16 path")
    a = arr(stylizer.stylize(content_img, [style_img]))
    b = arr(stylizer_fp32.stylize(content_img, [style_img]))
    d = np.abs(a - b)
    assert d.mean() < 3.0 and np.percentile(d, 99) < 16, (d.mean(), np.percentile(d, 99))


# ---- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,needle", [
    ({"alpha": 1.5}, "alpha"), ({"alpha": float("nan")}, "alpha"),
    ({"weights": [1.0]}, "weights"), ({"weights": [-1.0, 2.0]}, "non-negative"), ({"weights": [0.0, 0.0]}, "positive"),
    ({"preserve_color": "sepia"}, "preserve_color"), ({"scale": 0.0}, "scale"), ({"scale": 10}, "scale"),
    ({"tile": 17}, "tile"),
])
def test_bad_parameters_raise_clear_errors(stylizer, content_img, style_img, style_img2, kwargs, needle) -> None:
    with pytest.raises(RequestError, match=needle):
        stylizer.stylize(content_img, [style_img, style_img2], **kwargs)


def test_mask_errors(stylizer, content_img, style_img, style_img2) -> None:
    mask = half_mask(content_img.size)
    with pytest.raises(RequestError, match="mask"):
        stylizer.stylize(content_img, [style_img, style_img2, style_img], mask=mask)
    with pytest.raises(RequestError, match="weights"):
        stylizer.stylize(content_img, [style_img, style_img2], mask=mask, weights=[0.5, 0.5])
    with pytest.raises(MaskError, match="black"):
        stylizer.stylize(content_img, [style_img], mask=Image.new("L", content_img.size, 0))


def test_no_styles_and_bad_images(stylizer, content_img, style_img) -> None:
    with pytest.raises(RequestError):
        stylizer.stylize(content_img, [])
    with pytest.raises(ImageError):
        stylizer.stylize(np.zeros((4, 4), np.float32), [style_img])

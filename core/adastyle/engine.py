"""The Stylizer: the one entry point every front end calls.

It owns the networks on one device, caches style statistics by image hash (a slider move never
re-encodes a style) and the last content's features (alpha and weight changes only re-run AdaIN and
the decoder), and runs every control of the paper: alpha, weighted interpolation of styles, colour
preservation, soft spatial masks; plus RGBA, stroke scale and tiling for canvases of any size.
"""
from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from adastyle import color, tiling
from adastyle.content_stats import ContentStats
from adastyle.device import available_memory, fast_dtype, pick_device
from adastyle.imageio import ImageError, ImageLike, split_alpha, to_pil
from adastyle.masks import MaskError, WeightedMoments, feature_weights, fit_mask
from adastyle.model import Decoder, Encoder, load_decoder, load_encoder, mean_std

log = logging.getLogger(__name__)

Progress = Callable[[float], None]
CancelCheck = Callable[[], bool]
MIN_SIDE = 32          # smaller images are upscaled for the network (VGG pools 3 times)
MAX_STYLE_SIDE = 2048  # a native-size style is capped here (statistics do not need more)
CONTEXT = 48           # pixels of context encoded around each tile's core
OVERLAP = 64           # pixels where neighbouring tiles blend


class StyleParameterError(ValueError):
    """A bad parameter (alpha, weights, colour mode, scale, tile ...), with a message for users."""


class Cancelled(RuntimeError):
    """Raised between tiles when the cancel callback says so."""


@dataclass(frozen=True)
class StyleStats:
    mean: torch.Tensor  # (1, 512, 1, 1) float32 relu4_1 statistics
    std: torch.Tensor


def image_digest(image: Image.Image | np.ndarray) -> str:
    """Cache key of an image's pixels (a numpy array is hashed in place: no copy of a huge canvas)."""
    h = hashlib.sha1()
    if isinstance(image, np.ndarray):
        h.update(f"{image.shape}{image.dtype}".encode())
        h.update(np.ascontiguousarray(image).data)
    else:
        h.update(f"{image.mode}{image.size}".encode())
        h.update(image.tobytes())
    return h.hexdigest()


def check_params(styles: Sequence, weights: Sequence[float] | None, alpha: float, preserve_color: str,
                  scale: float, tile: int | None, has_mask: bool) -> list[float]:
    if len(styles) == 0:
        raise StyleParameterError("at least one style image is needed")
    if not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and 0.0 <= alpha <= 1.0):
        raise StyleParameterError(f"alpha must be a number between 0 and 1, got {alpha!r}")
    if preserve_color not in color.METHODS:
        raise StyleParameterError(f"preserve_color must be one of {', '.join(color.METHODS)}, got {preserve_color!r}")
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and 0.05 <= scale <= 4.0):
        raise StyleParameterError(f"scale must be between 0.05 and 4, got {scale!r}")
    if tile is not None and not (isinstance(tile, int) and (tile == 0 or 128 <= tile <= 8192)):
        raise StyleParameterError(f"tile must be 0 (automatic) or between 128 and 8192 pixels, got {tile!r}")
    if has_mask:
        if len(styles) > 2:
            raise StyleParameterError("with a mask, give one style (white = styled) or two (white = first, black = second)")
        if weights is not None:
            raise StyleParameterError("weights cannot be combined with a mask: the mask chooses the style per pixel")
    if weights is None:
        return [1.0 / len(styles)] * len(styles)
    w = [float(x) for x in weights]
    if len(w) != len(styles):
        raise StyleParameterError(f"got {len(w)} weights for {len(styles)} styles")
    if any(not math.isfinite(x) or x < 0 for x in w) or sum(w) <= 0:
        raise StyleParameterError("weights must be non-negative numbers with a positive sum")
    return [x / sum(w) for x in w]


class Stylizer:
    """AdaIN style transfer on one device. Thread-safe: calls are serialised by a lock."""

    def __init__(self, device: str = "auto", *, fast: bool = True, compile: bool = False,
                 decoder_path: str | Path | None = None, encoder_path: str | Path | None = None,
                 style_cache_size: int = 32) -> None:
        self.device = pick_device(device)
        self.dtype = fast_dtype(self.device) if fast else torch.float32
        self.memory_format = torch.channels_last if fast else torch.contiguous_format
        self.encoder: Encoder = load_encoder(Path(encoder_path) if encoder_path else None)
        self.decoder: Decoder = load_decoder(Path(decoder_path) if decoder_path else None)
        for net in (self.encoder, self.decoder):
            net.to(self.device, self.dtype).to(memory_format=self.memory_format)
        # Where content statistics and AdaIN are computed: on a CUDA device, beside the features (an H100
        # spent 0.46 s on a 2048x2048 slider move whose networks took 0.05 s, mostly CPU-side statistics of
        # features copied back); elsewhere on the CPU (MPS has no float64 for the moments).
        self.math_device = self.device if self.device.type == "cuda" else torch.device("cpu")
        self._encode = self.encoder.forward
        self._decode = self.decoder.forward
        if compile:
            self._encode = torch.compile(self.encoder.forward, dynamic=True)
            self._decode = torch.compile(self.decoder.forward, dynamic=True)
        self._styles: OrderedDict[str, StyleStats] = OrderedDict()
        self._style_cache_size = style_cache_size
        self._content_key: str | None = None
        self._content_feat: torch.Tensor | None = None
        self._lock = threading.RLock()
        self.encoder_calls = 0  # counted so tests and benchmarks can see cache hits

    # ---- the networks -------------------------------------------------------------------------
    @torch.inference_mode()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """relu4_1 features (float32) of a (1, 3, H, W) image in [0, 1] whose sides are multiples of 8."""
        self.encoder_calls += 1
        x = x.to(self.device, self.dtype).contiguous(memory_format=self.memory_format)
        return self._encode(x).float()

    @torch.inference_mode()
    def decode(self, t: torch.Tensor) -> torch.Tensor:
        return self._decode(t.to(self.device, self.dtype).contiguous(memory_format=self.memory_format)).float()

    # ---- styles -------------------------------------------------------------------------------
    def style_stats(self, style: ImageLike, style_size: int | None = 512,
                    content_colour: tuple[np.ndarray, np.ndarray] | None = None,
                    content_luminance: tuple[float, float] | None = None) -> StyleStats:
        """relu4_1 mean/std of a style image, cached by its pixels and the transforms applied."""
        img = split_alpha(to_pil(style))[0]
        key = f"{image_digest(img)}:{style_size}"
        if content_colour is not None:
            key += ":h" + color.stats_digest(content_colour)
        if content_luminance is not None:
            key += f":l{content_luminance[0]}/{content_luminance[1]}"
        with self._lock:
            if key in self._styles:
                self._styles.move_to_end(key)
                return self._styles[key]
        if style_size:
            s = style_size / min(img.size)
            img = img.resize((max(MIN_SIDE, round(img.width * s)), max(MIN_SIDE, round(img.height * s))),
                             Image.Resampling.LANCZOS)
        elif max(img.size) > MAX_STYLE_SIDE:
            img = img.copy()
            img.thumbnail((MAX_STYLE_SIDE, MAX_STYLE_SIDE), Image.Resampling.LANCZOS)
        if content_colour is not None:
            img = color.match_histogram(img, content_colour)
        if content_luminance is not None:
            img = color.match_luminance(color.luminance(img), content_luminance)
        x = _to_network_input(img, self.device)
        mean, std = mean_std(self.encode(x))
        stats = StyleStats(mean.cpu(), std.cpu())
        with self._lock:
            self._styles[key] = stats
            while len(self._styles) > self._style_cache_size:
                self._styles.popitem(last=False)
        return stats

    # ---- the entry point -----------------------------------------------------------------------
    def stylize(self, content: ImageLike, styles: Sequence[ImageLike] | ImageLike, *,
                weights: Sequence[float] | None = None, alpha: float = 1.0, preserve_color: str | None = None,
                mask: ImageLike | None = None, scale: float = 1.0, style_size: int | None = 512,
                tile: int | None = None, progress: Progress | None = None,
                cancel: CancelCheck | None = None, content_stats: ContentStats | None = None) -> Image.Image:
        """Stylise `content` with one or more styles; returns a PIL image of the content's size and mode.

        weights: one per style (normalised to sum 1); alpha: content-style trade-off in [0, 1];
        preserve_color: none | histogram | luminance; mask: grey image, white = styled (one style) or
        first style (two styles); scale: working resolution relative to the canvas (0.5 = strokes twice
        as large); style_size: short side the style is resized to (None = native); tile: tile size
        in pixels (None/0 = automatic from free memory). RGBA content keeps its alpha exactly.
        content_stats: statistics to use instead of the content's own (from `measure`, e.g. smoothed
        across the frames of a video); they must come from the same size, mask and colour mode.
        """
        styles, w, rgb, alpha_ch, mask_full = self._prepare(content, styles, weights, alpha, preserve_color,
                                                            scale, tile, mask)
        with self._lock:
            return self._stylize_locked(rgb, alpha_ch, rgb.size, mask_full, styles, w, float(alpha),
                                        preserve_color or "none", float(scale), style_size, tile, progress, cancel,
                                        content_stats)

    def measure(self, content: ImageLike, styles: Sequence[ImageLike] | ImageLike, *,
                weights: Sequence[float] | None = None, alpha: float = 1.0, preserve_color: str | None = None,
                mask: ImageLike | None = None, scale: float = 1.0, style_size: int | None = 512,
                tile: int | None = None, cancel: CancelCheck | None = None) -> ContentStats:
        """The content statistics `stylize` would use with the same arguments (encoder only, no style work).

        Why: a sequence of frames is measured first, its statistics smoothed, then each frame stylised
        with `content_stats=` (alpha and style_size do not matter here; they are accepted so callers pass
        one set of options to both calls).
        """
        styles, w, rgb, alpha_ch, mask_full = self._prepare(content, styles, weights, alpha, preserve_color,
                                                            scale, tile, mask)
        with self._lock:
            return self._stylize_locked(rgb, alpha_ch, rgb.size, mask_full, styles, w, float(alpha),
                                        preserve_color or "none", float(scale), style_size, tile, None, cancel,
                                        None, measure_only=True)

    def _prepare(self, content: ImageLike, styles: Sequence[ImageLike] | ImageLike, weights: Sequence[float] | None,
                 alpha: float, preserve_color: str | None, scale: float, tile: int | None,
                 mask: ImageLike | None) -> tuple[list, list[float], Image.Image, Image.Image | None, Image.Image | None]:
        """Checked parameters: styles as a list, normalised weights, RGB + alpha of the content, fitted mask."""
        if isinstance(styles, (Image.Image, np.ndarray)):
            styles = [styles]
        styles = list(styles)
        w = check_params(styles, weights, alpha, preserve_color or "none", scale, tile, mask is not None)
        content_pil = to_pil(content)
        if content_pil.width < 1 or content_pil.height < 1:
            raise ImageError("content image has zero size")
        rgb, alpha_ch = split_alpha(content_pil)
        mask_full = fit_mask(to_pil(mask), rgb.size) if mask is not None else None
        if mask_full is not None and len(styles) == 1 and mask_full.getextrema() == (0, 0):
            raise MaskError("the mask is completely black: nothing would be stylised")
        return styles, w, rgb, alpha_ch, mask_full

    def _stylize_locked(self, rgb: Image.Image, alpha_ch: Image.Image | None, full_size: tuple[int, int],
                        mask_full: Image.Image | None, styles: list, w: list[float], alpha: float,
                        preserve_color: str, scale: float, style_size: int | None, tile: int | None,
                        progress: Progress | None, cancel: CancelCheck | None,
                        fixed: ContentStats | None = None, measure_only: bool = False) -> Any:
        work_size = (max(1, round(full_size[0] * scale)), max(1, round(full_size[1] * scale)))
        upscale = max(1.0, MIN_SIDE / min(work_size))
        work_size = (round(work_size[0] * upscale), round(work_size[1] * upscale))
        visible = fill_transparent(rgb, alpha_ch) if alpha_ch is not None else rgb
        work = visible if work_size == full_size else visible.resize(work_size, Image.Resampling.LANCZOS)
        net_in = color.luminance(work) if preserve_color == "luminance" else work

        # Per-style statistics (colour transforms depend on the content, hence part of the key).
        if fixed is not None:
            content_colour, lum_ref = fixed.colour, fixed.luminance
        else:
            content_colour = color.colour_stats(work) if preserve_color == "histogram" else None
            lum_ref = color.luminance_stats(net_in) if preserve_color == "luminance" else None
        if measure_only:  # only the number of regions matters: one, or one per style with a mask
            stats = [StyleStats(torch.zeros(1), torch.ones(1))] * len(styles)
        else:
            stats = [self.style_stats(s, style_size, content_colour, lum_ref) for s in styles]

        # Pixel weights for content statistics: alpha (transparent = 0) times the region mask.
        def to_weight(img: Image.Image | None) -> torch.Tensor | None:
            if img is None:
                return None
            g = img if img.size == work_size else img.resize(work_size, Image.Resampling.BILINEAR)
            return torch.from_numpy(np.asarray(g, dtype=np.float32) / 255.0)[None, None]

        opacity = to_weight(alpha_ch)
        region = to_weight(mask_full)
        if mask_full is None:
            targets = [StyleStats(sum(wi * s.mean for wi, s in zip(w, stats)),
                                  sum(wi * s.std for wi, s in zip(w, stats)))]
        else:
            targets = stats  # one style: styled where white; two: white = first, black = second

        if measure_only:
            c_stats = self._run_tiled(net_in, opacity, region, targets, alpha, tile, None, cancel, measure_only=True)
            return ContentStats(tuple(c_stats), content_colour, lum_ref)
        fixed_features = list(fixed.features) if fixed is not None else None
        if fixed_features is not None and len(fixed_features) != len(targets):
            raise StyleParameterError(f"content statistics have {len(fixed_features)} regions, "
                                      f"this request has {len(targets)}")
        out = self._run_tiled(net_in, opacity, region, targets, alpha, tile, progress, cancel, fixed_features)

        if out.size != full_size:
            out = out.resize(full_size, Image.Resampling.LANCZOS)
        if preserve_color == "luminance":
            out = color.keep_content_chroma(out, rgb)
        if mask_full is not None and len(styles) == 1:
            out = Image.composite(out, rgb, mask_full)  # exact original where the mask is black
        if alpha_ch is not None:
            out = out.convert("RGBA")
            out.putalpha(alpha_ch)
        return out

    def auto_tile(self) -> int:
        """Largest tile whose working memory fits a share of the free memory.

        Measured on CPU with bf16: about 650 bytes per pixel of (tile + context) at the peak of the encoder and
        decoder; 1 GB of tile work keeps an 8000x6000 canvas under 3 GB peak RSS in all (bench/bench_engine.py).
        """
        cap = (6 << 30) if self.device.type == "cuda" else (1000 << 20)
        budget = min(available_memory(self.device) * 0.3, cap)
        bytes_per_px = 1300 if self.dtype == torch.float32 else 700
        return int(max(256, min(4096, math.sqrt(budget / bytes_per_px) - 2 * CONTEXT)) // 8 * 8)

    def _run_tiled(self, img: Image.Image, opacity: torch.Tensor | None, region: torch.Tensor | None,
                   targets: list[StyleStats], alpha: float, tile: int | None,
                   progress: Progress | None, cancel: CancelCheck | None,
                   fixed: list[tuple[torch.Tensor, torch.Tensor]] | None = None, measure_only: bool = False) -> Any:
        width, height = img.size
        dev = self.math_device
        tile = tile or self.auto_tile()
        tiles = tiling.grid(height, width, tile, OVERLAP, CONTEXT)
        single = len(tiles) == 1
        arr = np.asarray(img, dtype=np.uint8)
        key = image_digest(arr)
        total = len(tiles) * (1 if single or fixed is not None else 2)
        done = 0

        def step() -> None:
            nonlocal done
            done += 1
            if progress:
                progress(done / total)

        def check_cancel() -> None:
            if cancel is not None and cancel():
                raise Cancelled("cancelled")

        def weights_for(t: tiling.Tile, hw: tuple[int, int]) -> list[torch.Tensor]:
            """Feature-grid weights per region for the padded tile t (region maps x opacity)."""
            ones = torch.ones(1, 1, t.py1 - t.py0, t.px1 - t.px0)
            op = _crop_pad(opacity, t) if opacity is not None else ones
            if region is None:
                maps = [op]
            else:
                m = _crop_pad(region, t)
                maps = [m * op, (1 - m) * op][:len(targets)]
            return [feature_weights(m_, hw).to(dev) for m_ in maps]

        def encode_tile(t: tiling.Tile) -> torch.Tensor:
            if single and self._content_key == key and self._content_feat is not None:
                return self._content_feat
            x = _to_network_input_array(arr[t.py0:t.py1, t.px0:t.px1], self.device)
            feat = self.encode(x).to(dev)
            if single:
                self._content_key, self._content_feat = key, feat
            return feat

        # Pass 1: content statistics of each region over the whole image.
        moments = [WeightedMoments() for _ in targets]
        single_feat: torch.Tensor | None = None  # one tile: its features serve both passes
        for t in (tiles if fixed is None or single else []):  # statistics given: no first pass over tiles
            check_cancel()
            feat = encode_tile(t)
            hw = feat.shape[-2:]
            core = _core_weights(t, hw).to(dev)
            for mom, wmap in zip(moments, weights_for(t, hw)):
                mom.add(feat, wmap * core)
            if single:
                single_feat = feat
            else:
                step()
        c_stats = [m.mean_std() for m in moments] if fixed is None else fixed
        if measure_only:
            return c_stats

        # Pass 2: AdaIN with the global statistics, decode, blend into the output band by band.
        out = np.empty((height, width, 3), dtype=np.uint8)
        band: np.ndarray | None = None
        band_y0 = 0
        for t in tiles:
            check_cancel()
            feat = single_feat if single_feat is not None else encode_tile(t)
            hw = feat.shape[-2:]
            m = feature_weights(_crop_pad(region, t), hw).to(dev) if region is not None else None
            target = adain_target(feat, c_stats, targets, m, alpha)
            dec = self.decode(target)[0]
            # The decoder output covers the padded tile (rounded up to 8): cut the core out.
            cy0, cx0 = t.y0 - t.py0, t.x0 - t.px0
            core_img = dec[:, cy0:cy0 + (t.y1 - t.y0), cx0:cx0 + (t.x1 - t.x0)].clamp(0, 1)
            if single:  # quantised where it was decoded: 1 byte per value crosses to the CPU, not 4
                out[:] = _quantize(core_img.permute(1, 2, 0))
                step()
                break
            core_img = core_img.cpu()
            if band is None or t.y0 != band_y0:
                if band is not None:
                    nxt = t.y0
                    out[band_y0:nxt] = _quantize(torch.from_numpy(band[: nxt - band_y0]))
                    carry = band[nxt - band_y0:]
                else:
                    carry = np.zeros((0, width, 3), np.float32)
                band_y0 = t.y0
                band_end = max(tt.y1 for tt in tiles if tt.y0 == t.y0)
                band = np.zeros((band_end - band_y0, width, 3), np.float32)
                band[: carry.shape[0]] = carry
            bw = tiling.blend_weights(t, tiles)
            contrib = (core_img * bw[None]).permute(1, 2, 0).numpy()
            band[t.y0 - band_y0:t.y1 - band_y0, t.x0:t.x1] += contrib
            step()
        if not single and band is not None:
            out[band_y0:band_y0 + band.shape[0]] = _quantize(torch.from_numpy(band))
        return Image.fromarray(out, "RGB")


def fill_transparent(rgb: Image.Image, alpha: Image.Image) -> Image.Image:
    """RGB with fully transparent pixels set to the mean visible colour.

    Why: the colour under alpha 0 is arbitrary (often black or leftovers) and would reach visible pixels
    through the network's receptive field; the statistics already ignore it.
    """
    a = np.asarray(alpha)
    hidden = a == 0
    if not hidden.any() or hidden.all():
        return rgb
    px = np.array(rgb, dtype=np.uint8)
    px[hidden] = px[~hidden].reshape(-1, 3).mean(axis=0).round().astype(np.uint8)
    return Image.fromarray(px, "RGB")


def adain_target(feat: torch.Tensor, content_stats: list[tuple[torch.Tensor, torch.Tensor]],
                 targets: list[StyleStats], region: torch.Tensor | None, alpha: float) -> torch.Tensor:
    """The decoder's input t for content features `feat`.

    Each region's content statistics are replaced by its style's (AdaIN); `region` (feature-grid weights
    in [0, 1]) blends region 1 (white) with region 2 (black) or, with one target, with the unchanged
    content features; alpha blends the result with the content features (the paper's trade-off).
    """
    d = feat.device
    ts = [(feat - cm.to(d)) / cs.to(d) * s.std.to(d) + s.mean.to(d) for (cm, cs), s in zip(content_stats, targets)]
    region = region.to(d) if region is not None else None
    if region is None:
        t = ts[0]
    elif len(ts) == 1:
        t = region * ts[0] + (1 - region) * feat
    else:
        t = region * ts[0] + (1 - region) * ts[1]
    return alpha * t + (1 - alpha) * feat if alpha < 1 else t


def _quantize(x: torch.Tensor) -> np.ndarray:
    """Float pixels in about [0, 1] -> uint8 on the CPU, rounded where x lives (1 byte per value crosses over)."""
    return x.clamp(0, 1).mul(255).add_(0.5).to(torch.uint8).cpu().numpy()


def _crop_pad(m: torch.Tensor, t: tiling.Tile) -> torch.Tensor:
    """A (1, 1, H, W) pixel map cut to tile t's encoded region, padded like the network input."""
    c = m[..., t.py0:t.py1, t.px0:t.px1]
    return _pad8(c, mode="replicate")


def _core_weights(t: tiling.Tile, hw: tuple[int, int]) -> torch.Tensor:
    """1 on the feature cells of the tile's core region (each image pixel counted once), else 0."""
    w = torch.zeros(1, 1, t.py1 - t.py0, t.px1 - t.px0)
    w[..., t.y0 - t.py0:t.y1 - t.py0, t.x0 - t.px0:t.x1 - t.px0] = 1
    return feature_weights(_pad8(w, mode="constant"), hw)


def _pad8(x: torch.Tensor, mode: str = "reflect") -> torch.Tensor:
    h, w = x.shape[-2:]
    ph, pw = (-h) % 8, (-w) % 8
    if not (ph or pw):
        return x
    if mode == "reflect" and (ph >= h or pw >= w):
        mode = "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def _to_network_input_array(a: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """(1, 3, H, W) float in [0, 1], padded to multiples of 8, on `device`; 8-bit pixels cross to the device
    (a quarter of the bytes of floats) and are converted there."""
    x = torch.from_numpy(np.array(a, dtype=np.uint8, copy=True)).to(device)
    return _pad8(x.permute(2, 0, 1)[None].float().div_(255.0))


def _to_network_input(img: Image.Image, device: torch.device | str = "cpu") -> torch.Tensor:
    return _to_network_input_array(np.asarray(img.convert("RGB"), dtype=np.uint8), device)

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
from adastyle.adain import StyleStats, WeightedMoments, adain_target, mean_std, mix_styles
from adastyle.content_stats import ContentStats
from adastyle.device import available_memory, fast_dtype, pick_device
from adastyle.errors import Cancelled
from adastyle.imageio import ImageLike, split_alpha, to_pil
from adastyle.masks import feature_weights
from adastyle.model import Decoder, Encoder, load_decoder, load_encoder
from adastyle.request import MAX_STYLE_SIDE, RequestError, StylizeRequest, content_work_size, style_work_size

log = logging.getLogger(__name__)

Progress = Callable[[float], None]
CancelCheck = Callable[[], bool]
Stats = tuple[torch.Tensor, torch.Tensor]  # a region's content mean and std, each (1, C, 1, 1)
CONTEXT = 48           # pixels of context encoded around each tile's core
OVERLAP = 64           # pixels where neighbouring tiles blend


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
        if style_size:  # the size admission charged for (request.style_work_size)
            img = img.resize(style_work_size(img.size, style_size), Image.Resampling.LANCZOS)
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

        A shorthand for `run(StylizeRequest(...))`; the parameters are StylizeRequest's, and content_stats
        is run's.
        """
        request = StylizeRequest(content, styles, weights=weights, alpha=alpha, preserve_color=preserve_color,
                                 mask=mask, scale=scale, style_size=style_size, tile=tile)
        return self.run(request, progress, cancel, content_stats)

    def measure(self, content: ImageLike, styles: Sequence[ImageLike] | ImageLike, *,
                weights: Sequence[float] | None = None, alpha: float = 1.0, preserve_color: str | None = None,
                mask: ImageLike | None = None, scale: float = 1.0, style_size: int | None = 512,
                tile: int | None = None, cancel: CancelCheck | None = None) -> ContentStats:
        """The content statistics `stylize` would use with the same arguments (encoder only, no style work).

        Why: a sequence of frames is measured first, its statistics smoothed, then each frame stylised
        with `content_stats=` (alpha and style_size do not matter here; they are accepted so callers pass
        one set of options to both calls).
        """
        request = StylizeRequest(content, styles, weights=weights, alpha=alpha, preserve_color=preserve_color,
                                 mask=mask, scale=scale, style_size=style_size, tile=tile)
        return self.measure_request(request, cancel)

    def run(self, request: StylizeRequest, progress: Progress | None = None, cancel: CancelCheck | None = None,
            content_stats: ContentStats | None = None) -> Image.Image:
        """Stylise a request; RGBA content keeps its alpha exactly. `cancel` is asked between tiles.

        content_stats: statistics to use instead of the content's own (from `measure`, e.g. smoothed
        across the frames of a video); they must come from the same size, mask and colour mode.
        """
        with self._lock:
            return self._run_locked(request, progress, cancel, content_stats)

    def measure_request(self, request: StylizeRequest, cancel: CancelCheck | None = None) -> ContentStats:
        """The content statistics `run(request)` would use."""
        with self._lock:
            return self._run_locked(request, None, cancel, None, measure_only=True)

    def _run_locked(self, r: StylizeRequest, progress: Progress | None, cancel: CancelCheck | None,
                    fixed: ContentStats | None = None, measure_only: bool = False) -> Any:
        rgb, alpha_ch = split_alpha(r.content)
        full_size, mask_full, styles, scale, preserve_color = rgb.size, r.mask, r.styles, r.scale, r.preserve_color
        work_size = content_work_size(full_size, scale)  # the size admission charged for
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
            stats = [self.style_stats(s, r.style_size, content_colour, lum_ref) for s in styles]

        # Pixel weights for content statistics: alpha (transparent = 0) times the region mask.
        def to_weight(img: Image.Image | None) -> torch.Tensor | None:
            if img is None:
                return None
            g = img if img.size == work_size else img.resize(work_size, Image.Resampling.BILINEAR)
            return torch.from_numpy(np.asarray(g, dtype=np.float32) / 255.0)[None, None]

        opacity = to_weight(alpha_ch)
        region = to_weight(mask_full)
        if mask_full is None:
            targets = [mix_styles(stats, r.weights)]
        else:
            targets = stats  # one style: styled where white; two: white = first, black = second

        if measure_only:
            c_stats = self._run_tiled(net_in, opacity, region, targets, r.alpha, r.tile, None, cancel, measure_only=True)
            return ContentStats(tuple(c_stats), content_colour, lum_ref)
        fixed_features = list(fixed.features) if fixed is not None else None
        if fixed_features is not None and len(fixed_features) != len(targets):
            raise RequestError(f"content statistics have {len(fixed_features)} regions, "
                               f"this request has {len(targets)}")
        out = self._run_tiled(net_in, opacity, region, targets, r.alpha, r.tile, progress, cancel, fixed_features)

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
                   fixed: list[Stats] | None = None, measure_only: bool = False) -> Any:
        """The stylised work image: one tile when it fits, else overlapping tiles blended band by band.

        fixed: content statistics to use instead of measuring them; measure_only: return the statistics.
        """
        width, height = img.size
        tiles = tiling.grid(height, width, tile or self.auto_tile(), OVERLAP, CONTEXT)
        arr = np.asarray(img, dtype=np.uint8)
        job = _TileJob(arr, opacity, region, targets, alpha, self.math_device)
        if len(tiles) == 1:
            out = self._run_single(job, tiles[0], _Steps(1, progress), cancel, fixed, measure_only)
        else:
            steps = _Steps(len(tiles) * (1 if fixed is not None else 2), progress)
            out = self._run_bands(job, tiles, steps, cancel, fixed, measure_only)
        return out if measure_only else Image.fromarray(out, "RGB")

    def _run_single(self, job: _TileJob, t: tiling.Tile, steps: _Steps, cancel: CancelCheck | None,
                    fixed: list[Stats] | None, measure_only: bool) -> Any:
        """One tile: its features serve both statistics and decoding, and are kept for the next call (a slider
        move on the same content re-runs AdaIN and the decoder only)."""
        _check_cancel(cancel)
        key = image_digest(job.arr)
        if self._content_key == key and self._content_feat is not None:
            feat = self._content_feat
        else:
            feat = self._encode_tile(job, t)
            self._content_key, self._content_feat = key, feat
        if fixed is None:
            moments = [WeightedMoments() for _ in job.targets]
            job.add_moments(moments, feat, t)
            c_stats = [m.mean_std() for m in moments]
        else:
            c_stats = fixed
        if measure_only:
            return c_stats
        _check_cancel(cancel)
        core = self._decode_core(job, feat, t, c_stats)
        out = tiling.quantize(core.permute(1, 2, 0))  # where it was decoded: 1 byte per value crosses to the CPU
        steps.step()
        return out

    def _run_bands(self, job: _TileJob, tiles: list[tiling.Tile], steps: _Steps, cancel: CancelCheck | None,
                   fixed: list[Stats] | None, measure_only: bool) -> Any:
        """Many tiles: pass 1 gathers each region's content statistics over the whole image (unless they are
        given), pass 2 encodes again, applies AdaIN with those global statistics and blends the decoded tiles
        (tiling.BandBlender)."""
        if fixed is None:
            moments = [WeightedMoments() for _ in job.targets]
            for t in tiles:
                _check_cancel(cancel)
                job.add_moments(moments, self._encode_tile(job, t), t)
                steps.step()
            c_stats = [m.mean_std() for m in moments]
        else:
            c_stats = fixed
        if measure_only:
            return c_stats
        height, width = job.arr.shape[:2]
        blender = tiling.BandBlender(tiles, height, width)
        for t in tiles:
            _check_cancel(cancel)
            blender.add(t, self._decode_core(job, self._encode_tile(job, t), t, c_stats).cpu())
            steps.step()
        return blender.finish()

    def _encode_tile(self, job: _TileJob, t: tiling.Tile) -> torch.Tensor:
        x = _to_network_input_array(job.arr[t.py0:t.py1, t.px0:t.px1], self.device)
        return self.encode(x).to(job.device)

    def _decode_core(self, job: _TileJob, feat: torch.Tensor, t: tiling.Tile, c_stats: list[Stats]) -> torch.Tensor:
        """(3, h, w) pixels in [0, 1] of the tile's core, on the device: AdaIN, decode, cut the core out."""
        hw = feat.shape[-2:]
        m = feature_weights(_crop_pad(job.region, t), hw).to(job.device) if job.region is not None else None
        dec = self.decode(adain_target(feat, c_stats, job.targets, m, job.alpha))[0]
        # The decoder output covers the padded tile (rounded up to 8): cut the core out.
        cy0, cx0 = t.y0 - t.py0, t.x0 - t.px0
        return dec[:, cy0:cy0 + (t.y1 - t.y0), cx0:cx0 + (t.x1 - t.x0)].clamp(0, 1)


@dataclass(frozen=True)
class _TileJob:
    """What every tile of one stylisation shares: the pixels, the per-pixel weights and the style targets."""

    arr: np.ndarray                 # (H, W, 3) uint8 work image
    opacity: torch.Tensor | None    # (1, 1, H, W) alpha in [0, 1]; None = opaque
    region: torch.Tensor | None     # (1, 1, H, W) mask in [0, 1]; None = no mask
    targets: list[StyleStats]
    alpha: float
    device: torch.device            # where statistics and AdaIN are computed

    def add_moments(self, moments: list[WeightedMoments], feat: torch.Tensor, t: tiling.Tile) -> None:
        """Add tile t's content features to each region's moments (core cells only: each pixel counted once)."""
        hw = feat.shape[-2:]
        core = _core_weights(t, hw).to(self.device)
        for mom, wmap in zip(moments, self._region_weights(t, hw)):
            mom.add(feat, wmap * core)

    def _region_weights(self, t: tiling.Tile, hw: tuple[int, int]) -> list[torch.Tensor]:
        """Feature-grid weights per region for the padded tile t (region maps x opacity)."""
        ones = torch.ones(1, 1, t.py1 - t.py0, t.px1 - t.px0)
        op = _crop_pad(self.opacity, t) if self.opacity is not None else ones
        if self.region is None:
            maps = [op]
        else:
            m = _crop_pad(self.region, t)
            maps = [m * op, (1 - m) * op][:len(self.targets)]
        return [feature_weights(m_, hw).to(self.device) for m_ in maps]


class _Steps:
    """Progress as a fraction of the tile steps done."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done, self.progress = total, 0, progress

    def step(self) -> None:
        self.done += 1
        if self.progress:
            self.progress(self.done / self.total)


def _check_cancel(cancel: CancelCheck | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("cancelled")


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

"""The Stylizer: the one entry point every front end calls.

It owns the networks on one device, caches style statistics by image hash (a slider move never
re-encodes a style) and the last content's features (alpha and weight changes only re-run AdaIN and
the decoder), and runs every control of the paper: alpha, weighted interpolation of styles, colour
preservation, soft spatial masks; plus RGBA, stroke scale and tiling for canvases of any size.

Two pipelines, one return type each: `run(request)` stylises (an image), `measure(request)` gives the
content statistics `run` would use (a ContentStats), so a sequence can smooth them in between; `run(...,
target_chain=)` hands each tile's AdaIN target to a clip's FeatureChain before decoding it. This
module orders the work and owns the caches; the working image is `work_image`'s, the per-tile arithmetic
`tile_job`'s.
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from adastyle import color, tiling
from adastyle.adain import StyleStats, adain_target, mean_std, mix_styles
from adastyle.content_stats import ContentStats
from adastyle.device import available_memory, fast_dtype, pick_device
from adastyle.feature_coherence import FeatureChain
from adastyle.imageio import ImageLike, split_alpha, to_pil
from adastyle.masks import feature_weights
from adastyle.model import Decoder, Encoder, load_decoder, load_encoder
from adastyle.request import MAX_STYLE_SIDE, RequestError, StylizeRequest, style_work_size
from adastyle.tile_job import (
    CancelCheck,
    Progress,
    Stats,
    Steps,
    TileJob,
    check_cancel,
    crop_pad,
    image_digest,
    to_network_input,
    to_network_input_array,
)
from adastyle.work_image import WorkImage, finish, prepare

CONTEXT = 48           # pixels of context encoded around each tile's core
OVERLAP = 64           # pixels where neighbouring tiles blend


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
    def style_stats(self, style: ImageLike, style_size: int | None,
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
        x = to_network_input(img, self.device)
        mean, std = mean_std(self.encode(x))
        stats = StyleStats(mean.cpu(), std.cpu())
        with self._lock:
            self._styles[key] = stats
            while len(self._styles) > self._style_cache_size:
                self._styles.popitem(last=False)
        return stats

    # ---- the two pipelines ----------------------------------------------------------------------
    def run(self, request: StylizeRequest, progress: Progress | None = None, cancel: CancelCheck | None = None,
            content_stats: ContentStats | None = None, target_chain: FeatureChain | None = None) -> Image.Image:
        """Stylise a request; RGBA content keeps its alpha exactly. `cancel` is asked between tiles.

        content_stats: statistics to use instead of the content's own (from `measure`, e.g. smoothed
        across the frames of a video); they must come from the same size, mask and colour mode.
        target_chain: the clip's chain at the decoder's input, when this request is the next frame of a clip:
        it gets the working image (the motion from the frame before is measured on it) and each tile's AdaIN
        target, and gives back the target to decode (the previous frame's carried along the motion and blended
        in). Without it, or with strength 0, the frame is stylised on its own.
        """
        work, out = self.render(request, progress, cancel, content_stats, target_chain)
        return finish(request, work, out)

    def render(self, request: StylizeRequest, progress: Progress | None = None, cancel: CancelCheck | None = None,
               content_stats: ContentStats | None = None,
               target_chain: FeatureChain | None = None) -> tuple[WorkImage, Image.Image]:
        """`run` but its last step (`work_image.finish`): the working image and the stylised RGB at its size.

        Why apart: a live canvas (live_canvas) keeps both, re-renders boxes of them (`encode_box`, `decode_box`) and
        finishes the whole each time (size, chroma and alpha are per pixel and cheap).
        """
        o = request.options
        with self._lock:
            work = prepare(request, content_stats)
            stats = [self.style_stats(s, o.style_size, work.colour, work.luminance) for s in o.styles]
            # No mask: one mixed target. A mask: one style is styled where white; two: white = first, black = second.
            targets = stats if request.mask is not None else [mix_styles(stats, o.weights)]
            job = self._tile_job(work, len(targets), targets, o.alpha)
            tiles = self._tiles(job, o.tile)
            bands = len(tiles) > 1
            steps = Steps(len(tiles) * (2 if bands and content_stats is None else 1), progress)
            if content_stats is None:
                c_stats = self._content_moments(job, tiles, steps, cancel)
            elif len(content_stats.features) != len(targets):
                raise RequestError(f"content statistics have {len(content_stats.features)} regions, "
                                   f"this request has {len(targets)}")
            else:
                c_stats = list(content_stats.features)
            chain = target_chain if target_chain is not None and target_chain.active else None
            if chain is not None:
                chain.begin(job.arr)
            out = Image.fromarray(self._stylise_tiles(job, tiles, c_stats, steps, cancel, chain), "RGB")
        return work, out

    def kept_features(self, net_in: np.ndarray) -> torch.Tensor | None:
        """The relu4_1 features of the working image `net_in` when the engine keeps them (it was the last image
        encoded whole, in one tile), else None. Why: a live canvas updates them where a stroke changed the image
        (`encode_box`), so it knows the new image's content statistics without encoding all of it."""
        with self._lock:
            if self._content_feat is not None and self._content_key == image_digest(net_in):
                return self._content_feat
        return None

    def encode_box(self, work: WorkImage, core: tuple[int, int, int, int], context: int,
                   cancel: CancelCheck | None = None) -> tuple[tiling.Tile, torch.Tensor]:
        """The tile of one box `core` = (y0, y1, x0, x1) of `render`'s work image with `context` pixels around it
        (clipped to the image), and its relu4_1 features. Why: a live canvas re-renders only what a stroke
        changed. The network's output at a pixel depends on the input within a limited reach, so with the box's
        corner on the features' 8-pixel grid and enough context (48 px: the output at most 1 level off; 64 px:
        exact; measured), `decode_box` gives `render`'s pixels there, and the features of the box's cells are
        the whole image's. `work` is `work_image.prepare(request, content_stats)`.
        """
        y0, y1, x0, x1 = core
        height, width = work.net_in.height, work.net_in.width
        if y0 % tiling.ALIGN or x0 % tiling.ALIGN or not (0 <= y0 < y1 <= height and 0 <= x0 < x1 <= width):
            raise ValueError(f"core box {core} must lie in the {width}x{height} work image, its corner on the "
                             f"{tiling.ALIGN}-pixel grid")
        context = context // tiling.ALIGN * tiling.ALIGN
        tile = tiling.Tile(y0, y1, x0, x1, max(0, y0 - context), min(height, y1 + context),
                           max(0, x0 - context), min(width, x1 + context))
        check_cancel(cancel)
        with self._lock:
            return tile, self._encode_tile(self._tile_job(work, 1), tile)

    def decode_box(self, request: StylizeRequest, work: WorkImage, content_stats: ContentStats, tile: tiling.Tile,
                   features: torch.Tensor, cancel: CancelCheck | None = None) -> np.ndarray:
        """The stylised pixels ((h, w, 3) uint8) of `tile`'s core from the features of its encoded region
        (`encode_box`'s; for the whole image, a tile covering it and the whole image's features), AdaIN'd with
        `content_stats` (the whole image's, as from `measure`)."""
        o = request.options
        check_cancel(cancel)
        with self._lock:
            stats = [self.style_stats(s, o.style_size, work.colour, work.luminance) for s in o.styles]
            targets = stats if request.mask is not None else [mix_styles(stats, o.weights)]
            job = self._tile_job(work, len(targets), targets, o.alpha)
            pixels = self._decode_core(job, features, tile, list(content_stats.features))
        return tiling.quantize(pixels.permute(1, 2, 0))

    def measure(self, request: StylizeRequest, cancel: CancelCheck | None = None) -> ContentStats:
        """The content statistics `run(request)` would use (encoder only, no style work).

        Why: a sequence of frames is measured first, its statistics smoothed, then each frame stylised
        with `run(..., content_stats=)`.
        """
        with self._lock:
            work = prepare(request, None)
            regions = len(request.options.styles) if request.mask is not None else 1
            job = self._tile_job(work, regions)
            tiles = self._tiles(job, request.options.tile)
            features = self._content_moments(job, tiles, Steps(len(tiles), None), cancel)
        return ContentStats(tuple(features), work.colour, work.luminance, work.fill)

    def stylize(self, content: ImageLike, styles: Any, **options: Any) -> Image.Image:
        """`run(StylizeRequest(content, styles, **options))`: a shorthand for scripts (options are StyleOptions')."""
        return self.run(StylizeRequest(content, styles, **options))

    # ---- the steps of the pipelines ------------------------------------------------------------
    def _tile_job(self, work: WorkImage, regions: int, targets: list[StyleStats] | None = None,
                  alpha: float = 1.0) -> TileJob:
        return TileJob(np.asarray(work.net_in, dtype=np.uint8), work.opacity, work.region, regions,
                       self.math_device, tuple(targets or ()), alpha)

    def _tiles(self, job: TileJob, tile: int | None) -> list[tiling.Tile]:
        height, width = job.arr.shape[:2]
        return tiling.grid(height, width, tile or self.auto_tile(), OVERLAP, CONTEXT)

    def auto_tile(self) -> int:
        """Largest tile whose working memory fits a share of the free memory.

        Measured on CPU with bf16: about 650 bytes per pixel of (tile + context) at the peak of the encoder and
        decoder; 1 GB of tile work keeps an 8000x6000 canvas under 3 GB peak RSS in all (bench/bench_engine.py).
        """
        cap = (6 << 30) if self.device.type == "cuda" else (1000 << 20)
        budget = min(available_memory(self.device) * 0.3, cap)
        bytes_per_px = 1300 if self.dtype == torch.float32 else 700
        return int(max(256, min(4096, math.sqrt(budget / bytes_per_px) - 2 * CONTEXT)) // 8 * 8)

    def _features(self, job: TileJob, t: tiling.Tile, whole: bool) -> torch.Tensor:
        """Tile t's features; when the tile is the whole image they are kept for the next call (a slider move
        on the same content re-runs AdaIN and the decoder only, and `measure` then `run` encode once)."""
        if not whole:
            return self._encode_tile(job, t)
        if self._content_key != job.digest or self._content_feat is None:
            self._content_key, self._content_feat = job.digest, self._encode_tile(job, t)
        return self._content_feat

    def _content_moments(self, job: TileJob, tiles: list[tiling.Tile], steps: Steps,
                         cancel: CancelCheck | None) -> list[Stats]:
        """Each region's content mean/std over the whole image (pass 1 on bands of tiles: a step per tile)."""
        moments = job.new_moments()
        whole = len(tiles) == 1
        for t in tiles:
            check_cancel(cancel)
            job.add_moments(moments, self._features(job, t, whole), t)
            if not whole:
                steps.step()
        return [m.mean_std() for m in moments]

    def _stylise_tiles(self, job: TileJob, tiles: list[tiling.Tile], c_stats: list[Stats], steps: Steps,
                       cancel: CancelCheck | None, chain: FeatureChain | None = None) -> np.ndarray:
        """The stylised work image: one tile when it fits, else overlapping tiles encoded again, AdaIN'd with
        the global statistics and blended band by band (tiling.BandBlender)."""
        if len(tiles) == 1:
            check_cancel(cancel)
            core = self._decode_core(job, self._features(job, tiles[0], True), tiles[0], c_stats, chain)
            out = tiling.quantize(core.permute(1, 2, 0))  # where it was decoded: 1 byte per value crosses to the CPU
            steps.step()
            return out
        height, width = job.arr.shape[:2]
        blender = tiling.BandBlender(tiles, height, width)
        for t in tiles:
            check_cancel(cancel)
            blender.add(t, self._decode_core(job, self._encode_tile(job, t), t, c_stats, chain).cpu())
            steps.step()
        return blender.finish()

    def _encode_tile(self, job: TileJob, t: tiling.Tile) -> torch.Tensor:
        x = to_network_input_array(job.arr[t.py0:t.py1, t.px0:t.px1], self.device)
        return self.encode(x).to(job.device)

    def _decode_core(self, job: TileJob, feat: torch.Tensor, t: tiling.Tile, c_stats: list[Stats],
                     chain: FeatureChain | None = None) -> torch.Tensor:
        """(3, h, w) pixels in [0, 1] of the tile's core, on the device: AdaIN, the clip's chain (given one: the
        previous frame's target of the same tile carried in), decode, cut the core out."""
        hw = feat.shape[-2:]
        m = feature_weights(crop_pad(job.region, t), hw).to(job.device) if job.region is not None else None
        target = adain_target(feat, c_stats, list(job.targets), m, job.alpha)
        if chain is not None:
            target = chain.carry((t.py0, t.py1, t.px0, t.px1), target)
        dec = self.decode(target)[0]
        # The decoder output covers the padded tile (rounded up to 8): cut the core out.
        cy0, cx0 = t.y0 - t.py0, t.x0 - t.px0
        return dec[:, cy0:cy0 + (t.y1 - t.y0), cx0:cx0 + (t.x1 - t.x0)].clamp(0, 1)

"""A live canvas: a preview that follows painting re-renders only what a stroke changed.

Why: a stroke changes a small part of the canvas, and the network's output at a pixel depends only on the input
within a limited reach (measured on the shipped networks at 512 px with the content statistics held: beyond
48 px of a change the output moved by at most 1 level of 255, beyond 64 px not at all). So after a full render
the canvas keeps its working image, its stylised pixels, its relu4_1 features and its content statistics; the
next update compares the new working image with the kept one, encodes only the changed box grown by the encoder's
reach (with context around it: `Stylizer.encode_box`) and pastes its features into the kept ones, which gives the
new image's features and content statistics exactly; the decoder then runs on the box grown by REACH only, from
the features around it (`Stylizer.decode_box`).

AdaIN normalises every pixel's features by the whole image's statistics, so a stroke changes the stylisation a
little everywhere (a saturated stroke over 0.5 % of a 512 px photo moved the output by 0.8 levels on average,
measured). While the statistics have moved less than MAX_DRIFT (statistics_drift) from those the kept pixels
were made with, only the box is decoded, with the kept statistics, and pasted in (PARTIAL: within 1 level of a
full render with those statistics, 0.4 to 2 levels on average from a fresh full render); past it the whole
image is decoded again from the updated features with the new statistics (REFRESHED: a full render's pixels for
the encoder's half of the price of a full render). What stays that of the last full render until the next one:
the colour references of colour preservation and the colour fully transparent pixels are filled with (both
per image, like the statistics); a full render comes every REFRESH_AFTER updates, for other options (only the
decoder runs when the image is the kept one), another size, a mask, a change whose encoding would not pay off
(MAX_SHARE), or an image too large for one tile (its features are not kept).
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from adastyle import tiling
from adastyle.content_stats import ContentStats
from adastyle.request import StylizeRequest
from adastyle.tile_job import CancelCheck, Progress, Stats, TileJob, image_digest
from adastyle.work_image import finish, prepare

if TYPE_CHECKING:
    from adastyle.engine import Stylizer

REACH = 48           # pixels around a change whose output may change (beyond: at most 1 level, measured)
FEATURE_REACH = 48   # pixels around a change whose features may change (at 40 a cell moved the output 3 levels)
ENCODE_CONTEXT = 40  # pixels encoded around those, so that their features are the whole image's (37 suffice)
DECODE_CONTEXT = 32  # features decoded around a re-rendered box (the decoder's receptive field: 30 pixels)
MAX_SHARE = 0.6      # an encoded box (change and context) over this share of the image: a full render instead
MAX_DRIFT = 0.03     # statistics_drift past which the whole image is decoded again (1 to 2 levels on average)
REFRESH_AFTER = 50   # updates after which a full render refreshes the colour references and the fill colour
FULL, REFRESHED, PARTIAL, UNCHANGED = "full", "refreshed", "partial", "unchanged"
LIVE_RESULTS = (FULL, REFRESHED, PARTIAL, UNCHANGED)  # what a live update can have done (a job's `live`)


def options_key(request: StylizeRequest) -> tuple:
    """What must be equal for two requests' outputs to differ only where their contents differ."""
    o = request.options
    return (tuple(image_digest(s) for s in o.styles), o.weights, o.alpha, o.preserve_color, o.scale, o.style_size,
            o.tile, request.content.size, request.content.mode)


def changed_box(old: np.ndarray, new: np.ndarray) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) bounding the pixels that differ, or None when none does."""
    diff = np.any(old != new, axis=2)
    rows, cols = np.flatnonzero(diff.any(axis=1)), np.flatnonzero(diff.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def grow(box: tuple[int, int, int, int], by: int, height: int, width: int) -> tuple[int, int, int, int]:
    """`box` grown by `by` pixels on each side, its corners moved out to the 8-pixel grid, clipped to the image."""
    a = tiling.ALIGN
    y0, y1, x0, x1 = box
    return (max(0, (y0 - by) // a * a), min(height, -(-(y1 + by) // a) * a),
            max(0, (x0 - by) // a * a), min(width, -(-(x1 + by) // a) * a))


def area(box: tuple[int, int, int, int]) -> int:
    return (box[1] - box[0]) * (box[3] - box[2])


def feature_stats(features: torch.Tensor, net_in: np.ndarray, opacity: torch.Tensor | None) -> Stats:
    """The content mean and std over a whole image's features, as `Stylizer.measure` takes them (one region)."""
    height, width = net_in.shape[:2]
    job = TileJob(net_in, opacity, None, 1, features.device)
    moments = job.new_moments()
    job.add_moments(moments, features, tiling.Tile(0, height, 0, width, 0, height, 0, width))
    return moments[0].mean_std()


def statistics_drift(held: Stats, now: Stats) -> float:
    """How far the content statistics moved: the mean over channels of (|change of mean| + |change of std|) /
    held std, i.e. how far AdaIN's normalised features shift, in units of their spread (a channel all but silent
    counts with at least 1/10 of the mean std, so a stroke that wakes it is measured, not divided by 0).
    Measured at 512 px: the output moves by about 50 x drift levels on average (0.015: 0.8 levels)."""
    mean0, std0 = (t.reshape(-1).double() for t in held)
    mean1, std1 = (t.reshape(-1).double() for t in now)
    floor = std0.mean() * 0.1
    return float((((mean1 - mean0).abs() + (std1 - std0).abs()) / std0.clamp(min=floor)).mean())


@dataclass
class _State:
    key: tuple
    net_in: np.ndarray       # (H, W, 3) uint8: what the encoder saw
    out: np.ndarray          # (H, W, 3) uint8: the stylised working image (before work_image.finish)
    stats: ContentStats      # the statistics `out` was made with
    features: torch.Tensor   # relu4_1 features of net_in
    updates: int = 0         # since the last full render

    @property
    def nbytes(self) -> int:
        return self.net_in.nbytes + self.out.nbytes + self.features.numel() * self.features.element_size()


class LiveCanvas:
    """One live session's last render, and `update` that re-renders only what changed since.

    After each update `last` says what it did (FULL, REFRESHED, PARTIAL, UNCHANGED) and `share` the network work
    it took relative to a full render (encoder and decoder count half each: they cost about the same).
    """

    def __init__(self, reach: int = REACH, max_share: float = MAX_SHARE, max_drift: float = MAX_DRIFT,
                 refresh_after: int = REFRESH_AFTER) -> None:
        self.reach, self.max_share = reach, max_share
        self.max_drift, self.refresh_after = max_drift, refresh_after
        self._state: _State | None = None
        self.last: str | None = None
        self.share = 0.0

    @property
    def stats(self) -> ContentStats | None:
        """The content statistics the kept pixels were made with (None: nothing kept)."""
        return self._state.stats if self._state is not None else None

    @property
    def nbytes(self) -> int:
        """Bytes the kept render holds (about 38 per pixel of the working image, most of it the features: 10 MB at 512x512)."""
        return self._state.nbytes if self._state is not None else 0

    def update(self, stylizer: Stylizer, request: StylizeRequest, progress: Progress | None = None,
               cancel: CancelCheck | None = None) -> Image.Image:
        """The request's result, as `stylizer.run(request)` gives it but re-rendering only what changed since the
        last update (see the module's text for what is exact). A cancelled update leaves the kept render as it was.
        """
        st = self._state
        key = options_key(request)
        if st is None or request.mask is not None or st.key != key or st.updates >= self.refresh_after:
            return self._full(stylizer, request, key, progress, cancel)
        work = prepare(request, st.stats)
        new = np.asarray(work.net_in, dtype=np.uint8)
        if new.shape != st.net_in.shape:
            return self._full(stylizer, request, key, progress, cancel)
        box = changed_box(st.net_in, new)
        if box is None:
            self.last, self.share = UNCHANGED, 0.0
            return finish(request, work, Image.fromarray(st.out.copy(), "RGB"))
        height, width = new.shape[:2]
        changed = grow(box, FEATURE_REACH, height, width)  # feature cells the change may reach
        core = grow(box, self.reach, height, width)        # output pixels it may reach
        encoded, decoded = grow(changed, ENCODE_CONTEXT, height, width), grow(core, DECODE_CONTEXT, height, width)
        encoded_share = area(encoded) / (height * width)
        if encoded_share > self.max_share:  # encoding most of the image: a full render, fresh in every respect
            return self._full(stylizer, request, key, progress, cancel)
        # The encoder on the changed cells (with context), their features into the kept ones: the new image's.
        tile, feat = stylizer.encode_box(work, changed, ENCODE_CONTEXT, cancel)
        a = tiling.ALIGN
        cells = feat[..., (tile.y0 - tile.py0) // a:-(-(tile.y1 - tile.py0) // a),
                     (tile.x0 - tile.px0) // a:-(-(tile.x1 - tile.px0) // a)]
        features = st.features.clone()
        features[..., tile.y0 // a:tile.y0 // a + cells.shape[-2], tile.x0 // a:tile.x0 // a + cells.shape[-1]] = cells
        now = feature_stats(features, new, work.opacity)
        if statistics_drift(st.stats.features[0], now) <= self.max_drift:
            # The decoder on the box the change may reach, from the whole image's features around it.
            dec = tiling.Tile(*core, *decoded)
            around = features[..., dec.py0 // a:-(-dec.py1 // a), dec.px0 // a:-(-dec.px1 // a)]
            out = st.out.copy()
            out[dec.y0:dec.y1, dec.x0:dec.x1] = stylizer.decode_box(request, work, st.stats, dec, around, cancel)
            stats, self.last, self.share = st.stats, PARTIAL, (encoded_share + area(decoded) / (height * width)) / 2
        else:
            stats = replace(st.stats, features=(now,))
            whole = tiling.Tile(0, height, 0, width, 0, height, 0, width)
            out = stylizer.decode_box(request, work, stats, whole, features, cancel)
            self.last, self.share = REFRESHED, (encoded_share + 1) / 2
        self._state = _State(key, new, out, stats, features, st.updates + 1)
        if progress is not None:
            progress(1.0)
        return finish(request, work, Image.fromarray(out.copy(), "RGB"))

    def _full(self, stylizer: Stylizer, request: StylizeRequest, key: tuple, progress: Progress | None,
              cancel: CancelCheck | None) -> Image.Image:
        """A full render, kept. When only the options changed (a slider, another style) the kept features are
        the new image's too: only the decoder runs. Else `measure` then `render` with its statistics (the content
        is encoded once: the engine keeps the last whole image's features)."""
        st = self._state
        if st is not None and request.mask is None:
            work = prepare(request, None)
            net_in = np.asarray(work.net_in, dtype=np.uint8)
            if net_in.shape == st.net_in.shape and np.array_equal(net_in, st.net_in):
                height, width = net_in.shape[:2]
                stats = ContentStats((feature_stats(st.features, net_in, work.opacity),), work.colour,
                                     work.luminance, work.fill)
                whole = tiling.Tile(0, height, 0, width, 0, height, 0, width)
                out = stylizer.decode_box(request, work, stats, whole, st.features, cancel)
                self._state = _State(key, net_in, out, stats, st.features)
                self.last, self.share = FULL, 0.5
                if progress is not None:
                    progress(1.0)
                return finish(request, work, Image.fromarray(out.copy(), "RGB"))
        stats = stylizer.measure(request, cancel)
        work, out = stylizer.render(request, progress, cancel, content_stats=stats)
        net_in = np.asarray(work.net_in, dtype=np.uint8)
        kept = stylizer.kept_features(net_in) if request.mask is None else None
        self._state = None if kept is None else _State(key, net_in, np.array(out, dtype=np.uint8), stats, kept)
        self.last, self.share = FULL, 1.0
        return finish(request, work, out)


class LiveCanvases:
    """A few live canvases by their session's key, the least recently used dropped beyond `sessions` of them or
    `max_bytes` of kept renders (about 38 bytes per working pixel each: 10 MB for a 512x512 preview)."""

    def __init__(self, sessions: int = 4, max_bytes: int = 256 << 20) -> None:
        self.sessions, self.max_bytes = sessions, max_bytes
        self._canvases: OrderedDict[str, LiveCanvas] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> LiveCanvas:
        """The canvas of session `key` (a new one when unknown), now the most recently used."""
        with self._lock:
            canvas = self._canvases.pop(key, None) or LiveCanvas()
            self._canvases[key] = canvas
            return canvas

    def update(self, key: str, stylizer: Stylizer, request: StylizeRequest, progress: Progress | None = None,
               cancel: CancelCheck | None = None) -> tuple[Image.Image, LiveCanvas]:
        """Session `key`'s canvas updated to `request` (LiveCanvas.update); the canvas tells what was done."""
        canvas = self.get(key)
        image = canvas.update(stylizer, request, progress, cancel)
        self._trim()
        return image, canvas

    def _trim(self) -> None:
        with self._lock:
            while self._canvases and (len(self._canvases) > self.sessions or
                                      sum(c.nbytes for c in self._canvases.values()) > self.max_bytes):
                self._canvases.popitem(last=False)

    def __len__(self) -> int:
        return len(self._canvases)

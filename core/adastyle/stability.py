"""Temporal stability: content statistics smoothed across the frames of a sequence.

Why: AdaIN normalises each frame by its own feature statistics; as a camera pans, content enters and leaves
the frame, the statistics move, and every frame's colours and textures shift a little: flicker. The style
statistics are the same for all frames already (one cached encoding per style), so smoothing the content
statistics with their neighbours' removes what changes from frame to frame.

A centred Gaussian window (not an exponential moving average) because a whole clip is measured before it
is stylised: a centred window has no lag, so a cut or a fade is not smeared into the frames after it only.
`stability` is the window's standard deviation in frames; 0 = each frame on its own statistics. Its range
is checked where the user gives it, once (`sequence.check_sequence`); the functions here take it as checked.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from adastyle.content_stats import ContentStats


def window(stability: float) -> np.ndarray:
    """Gaussian weights over offsets -r..r (r = ceil(3 sigma)), not yet normalised."""
    if stability <= 0:
        return np.ones(1)
    r = max(1, math.ceil(3 * stability))
    x = np.arange(-r, r + 1, dtype=np.float64)
    return np.exp(-0.5 * (x / stability) ** 2)


def smooth_arrays(frames: Sequence[dict[str, np.ndarray]], stability: float) -> list[dict[str, np.ndarray]]:
    """Each frame's arrays replaced by the window-weighted mean of its neighbours' (renormalised at the ends)."""
    n = len(frames)
    if stability <= 0 or n <= 1:
        return [dict(f) for f in frames]
    w = window(stability)
    r = (len(w) - 1) // 2
    keys = frames[0].keys()
    stacked = {k: np.stack([f[k] for f in frames]) for k in keys}
    out: list[dict[str, np.ndarray]] = []
    for i in range(n):
        lo, hi = max(0, i - r), min(n, i + r + 1)
        wi = w[lo - i + r: hi - i + r]
        wi = wi / wi.sum()
        out.append({k: np.tensordot(wi, v[lo:hi], axes=1) for k, v in stacked.items()})
    return out


def smooth(stats: Sequence[ContentStats], stability: float) -> list[ContentStats]:
    """Smoothed content statistics of a sequence of frames (same length, same order)."""
    return [ContentStats.from_arrays(a) for a in smooth_arrays([s.to_arrays() for s in stats], stability)]


def smooth_measured(measured: Sequence[ContentStats | None], stability: float) -> list[ContentStats | None]:
    """`smooth` over the frames that could be measured; a frame without statistics of its own (unreadable)
    takes its nearest measured neighbour's smoothed statistics. All None when none was measured.

    The one smoothing of a sequence: `adastyle batch` and `sequence.run_sequence` (the server's sequence
    jobs) both call it.
    """
    known = [i for i, s in enumerate(measured) if s is not None]
    if not known:
        return [None] * len(measured)
    smoothed = smooth([measured[i] for i in known], stability)  # type: ignore[misc]
    pos = np.asarray(known)
    return [smoothed[int(np.abs(pos - i).argmin())] for i in range(len(measured))]

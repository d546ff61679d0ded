"""CUDA checks that need no pytest (a bare GPU machine may have none): fast path vs fp32, tiling, speed."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from adastyle.engine import Stylizer

EX = Path(__file__).resolve().parents[1] / "core" / "adastyle" / "examples"


def main(device: str = "cuda") -> None:
    """Run on a CUDA machine; `python tools/gpu_check.py cpu` runs the same checks here (slowly) to test the script."""
    assert device != "cuda" or torch.cuda.is_available(), "no CUDA"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    content = Image.open(EX / "content-astronaut.jpg").convert("RGB").resize((1024, 1024))
    style = Image.open(EX / "style-castle.jpg").convert("RGB")
    fast, fp32 = Stylizer(device=device), Stylizer(device=device, fast=False)
    a = np.asarray(fast.stylize(content, [style]), float)
    b = np.asarray(fp32.stylize(content, [style]), float)
    d = np.abs(a - b)
    print(f"fast ({fast.dtype}) vs fp32: mean {d.mean():.2f}, p99 {np.percentile(d, 99):.1f}  (CPU test: < 3, < 16)")
    assert d.mean() < 3 and np.percentile(d, 99) < 16
    tiled = np.asarray(fast.stylize(content, [style], tile=384), float)
    print(f"tiled vs whole: mean {np.abs(tiled - a).mean():.2f} (CPU test: < 4)")
    # Spatial control on the device: one style with a soft mask (whole and tiled), two styles split by it.
    mask = Image.linear_gradient("L").resize(content.size)
    other = Image.open(EX / "style-goldfish.jpg").convert("RGB")
    m_whole = np.asarray(fast.stylize(content, [style], mask=mask), float)
    m_tiled = np.asarray(fast.stylize(content, [style], mask=mask, tile=384), float)
    two = np.asarray(fast.stylize(content, [style, other], mask=mask, tile=384), float)
    print(f"masked tiled vs whole: mean {np.abs(m_tiled - m_whole).mean():.2f}; two styles: {two.shape}")
    assert np.abs(m_tiled - m_whole).mean() < 4 and two.shape == a.shape
    rgba = content.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(content.size))
    assert np.array_equal(np.asarray(fast.stylize(rgba, [style]))[..., 3], np.asarray(rgba)[..., 3])
    for _ in range(3):
        fast.stylize(content, [style], alpha=0.9)
    sync()
    t = time.perf_counter()
    for i in range(10):
        fast.stylize(content, [style], alpha=0.5 + i * 0.01)
    sync()
    print(f"1024x1024 warm (alpha change, incl. PIL in/out): {(time.perf_counter() - t) / 10 * 1000:.1f} ms")
    print("ok")


if __name__ == "__main__":
    main(*sys.argv[1:2])

"""Engine speed and memory: fast path vs fp32, cold vs warm, vs the plain pytorch-AdaIN way; peak RSS with tiling.

Run: python bench/bench_engine.py [--sizes 512,1024,2048] [--rss 4096x4096,8000x6000] [--device cpu]
Prints tables and writes bench/results/engine.json. Not a test: the numbers depend on the machine.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import median_time, table, write_json  # noqa: E402

from adastyle.engine import Stylizer  # noqa: E402
from adastyle.imageio import pil_to_tensor  # noqa: E402
from adastyle.train.evaluate import stylize_plain  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "core" / "adastyle" / "examples"


def images(size: int) -> tuple[Image.Image, Image.Image]:
    content = Image.open(EXAMPLES / "content-astronaut.jpg").convert("RGB").resize((size, size))
    style = Image.open(EXAMPLES / "style-castle.jpg").convert("RGB").resize((512, 512))
    return content, style


def speed(sizes: list[int], device: str, repeat: int) -> list[dict]:
    fast = Stylizer(device=device, fast=True)
    fp32 = Stylizer(device=device, fast=False)
    sync = torch.cuda.synchronize if fast.device.type == "cuda" else (lambda: None)
    rows = []
    for size in sizes:
        content, style = images(size)
        x_c, x_s = pil_to_tensor(content).to(fp32.device), pil_to_tensor(style).to(fp32.device)
        enc, dec = fp32.encoder, fp32.decoder

        def reference(enc=enc, dec=dec, x_c=x_c, x_s=x_s) -> None:
            """The pytorch-AdaIN way: NCHW fp32, encode both, AdaIN, decode, no cache."""
            with torch.inference_mode():
                stylize_plain(enc, dec, x_c, x_s)
            sync()

        row = {"size": size, "reference fp32 (s)": round(median_time(reference, repeat, warmup=1), 3)}
        for name, st in (("fp32", fp32), ("fast", fast)):
            def cold(st=st, content=content, style=style) -> None:
                st._styles.clear()
                st._content_key = None
                st.stylize(content, [style], tile=8192)
                sync()

            alphas = iter([0.5 + 0.001 * i for i in range(100)])

            def warm(st=st, content=content, style=style, alphas=alphas) -> None:  # slider move: all cached
                st.stylize(content, [style], alpha=next(alphas), tile=8192)
                sync()

            row[f"{name} cold (s)"] = round(median_time(cold, repeat, warmup=1), 3)
            st.stylize(content, [style], tile=8192)
            row[f"{name} warm (s)"] = round(median_time(warm, repeat), 3)
        row["speed-up cold"] = round(row["reference fp32 (s)"] / row["fast cold (s)"], 2)
        row["speed-up warm"] = round(row["reference fp32 (s)"] / row["fast warm (s)"], 2)
        rows.append(row)
        print(table(rows[-1:], list(row)), flush=True)
    return rows


def rss_child(width: int, height: int, device: str) -> dict:
    """Peak RSS of a fresh process stylising a width x height image with automatic tiling."""
    code = f"""
import json, time
from PIL import Image
from adastyle.engine import Stylizer
st = Stylizer(device={device!r})
content = Image.open({str(EXAMPLES / 'content-coffee.jpg')!r}).convert('RGB').resize(({width}, {height}))
style = Image.open({str(EXAMPLES / 'style-castle.jpg')!r}).convert('RGB')
def hwm():  # peak RSS of this process image (ru_maxrss would include the parent's, through vfork/exec)
    return int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]) / 1e6
base = hwm()
t = time.time()
out = st.stylize(content, [style])
print(json.dumps({{"peak RSS (GB)": round(hwm(), 2), "seconds": round(time.time() - t, 1), "tile": st.auto_tile(),
                  "size": list(out.size), "RSS before stylize (GB)": round(base, 2)}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        return {"image": f"{width}x{height}", "error": proc.stderr.strip().splitlines()[-1:]}
    return {"image": f"{width}x{height}", **json.loads(proc.stdout.strip().splitlines()[-1])}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="512,1024,2048")
    ap.add_argument("--rss", default="4096x4096,8000x6000")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    rows = speed([int(s) for s in args.sizes.split(",") if s], args.device, args.repeat)
    mem = []
    for spec in [s for s in args.rss.split(",") if s]:
        w, h = (int(v) for v in spec.split("x"))
        mem.append(rss_child(w, h, args.device))
        print(table(mem[-1:], list(mem[-1])), flush=True)
    print("\nspeed\n" + table(rows, list(rows[0])) if rows else "")
    print("\nmemory\n" + table(mem, list(mem[0])) if mem else "")
    print(write_json(f"engine-{args.device}", {"speed": rows, "memory": mem}))


if __name__ == "__main__":
    main()

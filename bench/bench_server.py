"""Server overhead and sustained load, over real HTTP on 127.0.0.1.

1. A 2048x2048 request through the server (PNG upload, queue, PNG download) vs the same stylisation
   in-process: overhead = server time / in-process time - 1 (target: under 10% on the CPU).
2. Sustained load: 4 client threads x 10 requests at 512 px: every answer 200 or 503, and the
   server's RSS before/after (no growth beyond the first warm-up).
Run: python bench/bench_server.py   (prints tables, writes bench/results/server.json)
"""
from __future__ import annotations

import io
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import table, write_json  # noqa: E402
from server_fixture import start_server  # noqa: E402

from adastyle.engine import Stylizer  # noqa: E402

EXAMPLES = ROOT / "core" / "adastyle" / "examples"


def png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    size = int(os.environ.get("BENCH_SIZE", "2048"))
    content = Image.open(EXAMPLES / "content-astronaut.jpg").convert("RGB").resize((size, size))
    style_bytes = (EXAMPLES / "style-castle.jpg").read_bytes()
    style = Image.open(io.BytesIO(style_bytes)).convert("RGB")

    st = Stylizer(device="cpu")
    st.stylize(content, [style])  # warm: style cached, like the server's second request
    t = time.perf_counter()
    st.stylize(content, [style], alpha=0.99)
    st._content_key = None
    t = time.perf_counter()
    st.stylize(content, [style])
    inproc = time.perf_counter() - t
    del st

    with tempfile.TemporaryDirectory() as home:
        srv = start_server(Path(home) / "home", "--max-queue", "4")
        try:
            body = [("content", ("c.png", png(content))), ("style", ("s.jpg", style_bytes))]
            httpx.post(srv.url + "/v1/stylize", files=body, headers=srv.auth, timeout=600)  # warm the style cache
            t = time.perf_counter()
            r = httpx.post(srv.url + "/v1/stylize", files=body, headers=srv.auth, timeout=600)
            served = time.perf_counter() - t
            assert r.status_code == 200, r.text
            # The same through /v1/jobs, to see where the time goes (job timestamps come from the server).
            t = time.perf_counter()
            job = httpx.post(srv.url + "/v1/jobs", files=body, headers=srv.auth, timeout=600).json()
            t_submitted = time.perf_counter() - t
            while (info := httpx.get(f"{srv.url}/v1/jobs/{job['id']}", headers=srv.auth).json())["state"] != "done":
                time.sleep(0.02)
            t_result = time.perf_counter()
            httpx.get(f"{srv.url}/v1/jobs/{job['id']}/result", headers=srv.auth, timeout=600)
            overhead = [{"size": f"{size}x{size}", "in-process (s)": round(inproc, 2), "server (s)": round(served, 2),
                         "overhead": f"{(served / inproc - 1) * 100:.1f}%",
                         "upload+parse (s)": round(t_submitted, 2),
                         "job run incl. PNG encode (s)": round(info["finished"] - info["started"], 2),
                         "download (s)": round(time.perf_counter() - t_result, 2)}]
            print(table(overhead, list(overhead[0])), flush=True)

            small = [("content", ("c.png", png(content.resize((512, 512))))), ("style", ("s.jpg", style_bytes))]
            httpx.post(srv.url + "/v1/stylize", files=small, headers=srv.auth, timeout=600)
            before = rss_mb(srv.proc.pid)
            codes: list[int] = []
            lock = threading.Lock()

            def client() -> None:
                with httpx.Client(timeout=600) as c:
                    for _ in range(10):
                        code = c.post(srv.url + "/v1/stylize", files=small, headers=srv.auth).status_code
                        with lock:
                            codes.append(code)
                        if code == 503:
                            time.sleep(0.5)

            t = time.perf_counter()
            threads = [threading.Thread(target=client) for _ in range(4)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            load = [{"requests": len(codes), "200": codes.count(200), "503": codes.count(503),
                     "other": len([c for c in codes if c not in (200, 503)]),
                     "wall (s)": round(time.perf_counter() - t, 1), "RSS before (MB)": round(before),
                     "RSS after (MB)": round(rss_mb(srv.proc.pid)), "alive": srv.alive()}]
            print(table(load, list(load[0])), flush=True)
        finally:
            srv.stop()
    print(write_json("server", {"overhead": overhead, "load": load}))


if __name__ == "__main__":
    main()

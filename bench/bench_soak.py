"""Bounded soak: the largest inputs the server allows, from several clients at once, and its peak RSS.

A real server (default settings, its own config folder) on 127.0.0.1; for --seconds, client threads send
a mix of the heaviest requests it accepts:
  - jobs with a max-size content (8000x8000 PNG) and the most style images a request may carry, each
    8000x8000 (flat PNGs: about a megabyte on the wire, hundreds of megabytes decoded);
  - style uploads (POST /v1/styles) of distinct 8000x8000 images, so the style store keeps filling;
  - quick jobs whose raw RGBA results (4 MB each) fill the result store, fetched and not fetched;
  - /v1/stylize requests whose client hangs up after a moment;
  - the web page at /ui (through gradio_client, with the page credential): several sessions at once, each a
    6000x6000 content and the most style images the page takes, each 6000x6000;
  - very thin images (1 x 300,000: refused as too thin) and thin-but-allowed ones at a small stroke scale,
    whose working size is far larger than the file's.
Big jobs are cancelled after a few seconds so the queue keeps turning over; one is left to run.
The server's RSS is sampled every 0.1 s (and its VmHWM read at the end); the run prints the answers it
got by kind and status, the peak RSS and the budget it is checked against.

Run: python bench/bench_soak.py [--seconds 120] [--budget-gb 3]   (writes bench/results/soak.json)
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import table, write_json  # noqa: E402
from server_fixture import start_server  # noqa: E402

from adastyle.settings import Settings  # noqa: E402

SIDE = 8000


def flat_png(side: int, seed: int) -> bytes:
    """A smooth side x side PNG: decodes to side^2 x 3 bytes, compresses to about a megabyte."""
    grad = Image.linear_gradient("L").resize((side, side))
    im = Image.merge("RGB", (grad, grad.rotate(90), Image.new("L", (side, side), seed % 256)))
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=9)
    return buf.getvalue()


def status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Soak:
    def __init__(self, url: str, auth: dict[str, str], seconds: float, styles_per_job: int) -> None:
        self.url, self.auth = url, auth
        self.deadline = time.time() + seconds
        self.styles_per_job = styles_per_job
        self.answers: Counter[str] = Counter()
        self.lock = threading.Lock()
        print(f"making {SIDE}x{SIDE} inputs ...", flush=True)
        self.content = flat_png(SIDE, 0)
        self.styles = [flat_png(SIDE, i + 1) for i in range(styles_per_job)]
        small = Image.open(ROOT / "core" / "adastyle" / "examples" / "content-coffee.jpg").convert("RGB")
        buf = io.BytesIO()
        small.resize((1024, 1024)).save(buf, format="PNG")
        self.small = buf.getvalue()
        self.small_style = (ROOT / "core" / "adastyle" / "examples" / "style-castle.jpg").read_bytes()

    def note(self, kind: str, r: httpx.Response | str) -> None:
        with self.lock:
            self.answers[f"{kind} {r if isinstance(r, str) else r.status_code}"] += 1

    def big_jobs(self, client: httpx.Client, keep_one: bool) -> None:
        kept = not keep_one
        while time.time() < self.deadline:
            files = [("content", ("c.png", self.content))] + [("style", (f"s{i}.png", s)) for i, s in enumerate(self.styles)]
            r = client.post(self.url + "/v1/jobs", files=files, headers=self.auth)
            self.note("big job", r)
            if r.status_code == 202:
                job_id = r.json()["id"]
                if not kept:
                    kept = True  # this one runs on: the engine's working memory is part of the peak
                    continue
                time.sleep(3)
                client.delete(f"{self.url}/v1/jobs/{job_id}", headers=self.auth)
            else:
                time.sleep(1)

    def style_uploads(self, client: httpx.Client) -> None:
        n = 100
        while time.time() < self.deadline:
            n += 1
            r = client.post(self.url + "/v1/styles", files=[("style", ("s.png", flat_png(SIDE, n)))], headers=self.auth)
            self.note("style upload", r)

    def result_fillers(self, client: httpx.Client) -> None:
        n = 0
        while time.time() < self.deadline:
            n += 1
            r = client.post(self.url + "/v1/jobs", headers=self.auth,
                            files=[("content", ("c.png", self.small)), ("style", ("s.jpg", self.small_style))],
                            data={"result_format": "rgba", "scale": "0.25"})
            self.note("small job", r)
            time.sleep(0.5 if r.status_code == 202 else 2)

    def hang_ups(self) -> None:
        while time.time() < self.deadline:
            try:
                r = httpx.post(self.url + "/v1/stylize", headers=self.auth, timeout=2.0,
                               files=[("content", ("c.png", self.small)), ("style", ("s.jpg", self.small_style))])
                self.note("stylize", r)
            except httpx.TimeoutException:
                self.note("stylize", "hung up")
            time.sleep(1)


PAGE_SIDE = 6000


def page_cookie(url: str, token: str) -> str:
    """The page credential, as `/ui/?token=` gives it (a Cookie header value)."""
    r = httpx.get(f"{url}/ui/?token={token}", follow_redirects=False)
    return r.headers["set-cookie"].split(";")[0]


class PageTraffic:
    """Browser sessions of the page, driven through its Gradio API."""

    def __init__(self, soak: Soak, url: str, cookie: str, folder: Path, styles: int) -> None:
        self.soak, self.url, self.cookie = soak, url, cookie
        self.content = folder / "page-content.png"
        self.content.write_bytes(flat_png(PAGE_SIDE, 7))
        self.styles = []
        for i in range(styles):
            path = folder / f"page-style-{i}.png"
            path.write_bytes(flat_png(PAGE_SIDE, 20 + i))
            self.styles.append(path)

    def session(self) -> None:
        from gradio_client import Client, handle_file

        try:
            client = Client(self.url + "/ui/", headers={"Cookie": self.cookie}, verbose=False, download_files=False,
                            httpx_kwargs={"timeout": 300})
            endpoint = "/handler"  # the Stylize button (gradio_handler's function name)
        except Exception as exc:
            self.soak.note("page", f"no session ({type(exc).__name__}: {str(exc)[:60]})")
            return
        editor = {"background": handle_file(str(self.content)), "layers": [], "composite": handle_file(str(self.content))}
        while time.time() < self.soak.deadline:
            try:
                out = client.predict(editor, [handle_file(str(p)) for p in self.styles], *[1.0] * len(self.styles),
                                     0.5, "none", 0.25, api_name=endpoint)
                status = str(out[-1])
                self.soak.note("page", "done" if "Done" in status else "busy" if "busy" in status else status[:40])
            except Exception as exc:  # the page's refusals come back as errors of the client
                self.soak.note("page", f"refused ({type(exc).__name__}: {str(exc)[:50]})")
                time.sleep(1)


def thin_images(soak: Soak, client: httpx.Client) -> None:
    """Thin images: 1 x 300,000 (refused as too thin) and 100 x 6400 at stroke scale 0.05 (allowed: it works
    at 32 x 2048 pixels, not 5 x 320)."""
    def png(size: tuple[int, int]) -> bytes:
        buf = io.BytesIO()
        Image.new("L", size, 90).save(buf, format="PNG")
        return buf.getvalue()

    too_thin, allowed = png((1, 300_000)), png((100, 6400))
    while time.time() < soak.deadline:
        for name, data, scale in (("thin 1x300000", too_thin, "1"), ("thin 100x6400", allowed, "0.05")):
            r = client.post(soak.url + "/v1/jobs", headers=soak.auth, data={"scale": scale},
                            files=[("content", ("c.png", data)), ("style", ("s.jpg", soak.small_style))])
            soak.note(name, r)
        time.sleep(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--budget-gb", type=float, default=3.0)
    ap.add_argument("--page-sessions", type=int, default=6, help="browser sessions of the page at once")
    args = ap.parse_args()
    defaults = Settings()
    with tempfile.TemporaryDirectory() as home:
        srv = start_server(Path(home) / "home")
        try:
            pid = srv.proc.pid
            base = status_kb(pid, "VmRSS") / 1024
            soak = Soak(srv.url, srv.auth, args.seconds, defaults.max_styles_per_request)
            peak = [base]
            stop = threading.Event()

            def sample() -> None:
                while not stop.wait(0.1):
                    peak[0] = max(peak[0], status_kb(pid, "VmRSS") / 1024)

            clients = [httpx.Client(timeout=300) for _ in range(5)]
            page = PageTraffic(soak, srv.url, page_cookie(srv.url, srv.token), Path(home),
                               defaults.max_styles_per_request)
            soak.deadline = time.time() + args.seconds  # from now: making the inputs took a while
            threads = [threading.Thread(target=sample),
                       threading.Thread(target=soak.big_jobs, args=(clients[0], True)),
                       threading.Thread(target=soak.big_jobs, args=(clients[1], False)),
                       threading.Thread(target=soak.style_uploads, args=(clients[2],)),
                       threading.Thread(target=soak.result_fillers, args=(clients[3],)),
                       threading.Thread(target=soak.hang_ups),
                       threading.Thread(target=thin_images, args=(soak, clients[4]))]
            threads += [threading.Thread(target=page.session) for _ in range(args.page_sessions)]
            t0 = time.time()
            for t in threads:
                t.start()
            for t in threads[1:]:
                t.join()
            stop.set()
            threads[0].join()
            hwm = status_kb(pid, "VmHWM") / 1024
            alive = srv.alive()
        finally:
            srv.stop()
    rows = [{"answer": k, "count": v} for k, v in sorted(soak.answers.items())]
    print(table(rows, ["answer", "count"]))
    budget_mb = args.budget_gb * 1024
    summary = {"seconds": round(time.time() - t0), "rss at start (MB)": round(base), "peak RSS sampled (MB)": round(peak[0]),
               "VmHWM (MB)": round(hwm), "budget (MB)": round(budget_mb), "within budget": hwm <= budget_mb,
               "server alive": alive}
    print(table([summary], list(summary)))
    write_json("soak", {"answers": dict(soak.answers), **summary,
                        "settings": {k: getattr(defaults, k) for k in ("max_pixels", "max_queue", "max_styles_per_request",
                                                                       "queue_pixels", "style_store_bytes",
                                                                       "result_bytes", "page_jobs",
                                                                       "page_max_pixels")},
                        "page sessions": args.page_sessions})
    sys.exit(0 if hwm <= budget_mb and alive else 1)


if __name__ == "__main__":
    main()

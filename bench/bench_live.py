"""Live mode: from "stroke ended" to "preview layer updated" on a 1024x1024 canvas, over real HTTP.

The server runs on this machine; the painter is simulated with the plug-ins' own live scheduler
(adastyle_plugin.live) and client, as the Krita docker drives them: each stroke is drawn in 8 segments 20 ms
apart (each a canvas change), the scheduler is ticked every 20 ms, a preview is the canvas reduced to 512 px
sent as raw RGBA with a library style and the session's live key (so the server re-renders only what a stroke
changed; --plain leaves the key out), and "updated" is when its result has been scaled into a 1024x1024
preview layer. Between strokes: a slider move (alpha) every third stroke and a style switch every fifth;
every fourth stroke is followed 0.45 s later by another one, while the first one's preview job runs, so that
job is cancelled. Printed: median and p90 over the strokes, jobs started and cancelled, whether any job
was left on the server after the last stroke, how many of the session's updates were full, refreshed, partial
or unchanged, and the mean share of a full render's network work they took.

Run: python bench/bench_live.py [--strokes 30] [--side 512] [--plain]   (writes bench/results/live.json)
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import table, write_json  # noqa: E402
from server_fixture import start_server  # noqa: E402

from adastyle_plugin.http import Client  # noqa: E402
from adastyle_plugin.live import DEFAULT_PREVIEW_SIDE, LiveScheduler  # noqa: E402

EXAMPLES = ROOT / "core" / "adastyle" / "examples"
CANVAS = 1024
TICK = 0.02
STYLES = ("lib:sower", "lib:starry-night")


class Painter:
    """A canvas, its preview layer and the live scheduler between them and the server."""

    def __init__(self, client: Client, side: int = DEFAULT_PREVIEW_SIDE, plain: bool = False) -> None:
        self.side, self.plain = side, plain
        self.client = client
        self.canvas = Image.open(EXAMPLES / "content-grace_hopper.jpg").convert("RGBA").resize((CANVAS, CANVAS))
        self.preview = Image.new("RGBA", (CANVAS, CANVAS))
        self.style, self.alpha = STYLES[0], 1.0
        self.updates = 0
        self.key = uuid.uuid4().hex  # the live session's key, as the Krita docker makes one per switch-on
        self.outcomes: list[tuple[str, float, float]] = []  # (live, live_share, seconds run) of each finished job
        self.live = LiveScheduler(self.submit, self.job, client.cancel, self.result, self.show)
        self.rng = np.random.default_rng(0)

    def submit(self) -> str:
        small = self.canvas.resize((self.side, self.side), Image.Resampling.BILINEAR)
        return self.client.submit(rgba=(small.tobytes(), small.width, small.height), style_ids=[self.style],
                                  alpha=self.alpha, result_format="rgba", live=None if self.plain else self.key)

    def job(self, job_id: str) -> dict:
        info = self.client.job(job_id)
        if info.get("state") == "done" and info.get("live"):
            self.outcomes.append((info["live"], info["live_share"], info["finished"] - info["started"]))
        return info

    def result(self, job_id: str) -> bytes:
        return self.client.result(job_id)[0]

    def show(self, data: bytes) -> None:
        small = Image.frombytes("RGBA", (self.side, self.side), data)
        self.preview = small.resize((CANVAS, CANVAS), Image.Resampling.BILINEAR)
        self.updates += 1

    def wait(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.live.tick()
            time.sleep(TICK)

    def stroke(self) -> float:
        """Draw one stroke in 8 segments; returns when it ended."""
        draw = ImageDraw.Draw(self.canvas)
        x, y = self.rng.integers(100, CANVAS - 100, 2)
        colour = tuple(int(c) for c in self.rng.integers(0, 255, 3)) + (255,)
        for _ in range(8):
            nx, ny = x + self.rng.integers(-60, 60), y + self.rng.integers(-60, 60)
            draw.line((int(x), int(y), int(nx), int(ny)), fill=colour, width=18)
            x, y = nx, ny
            self.live.changed()
            self.wait(TICK)
        return time.monotonic()

    def until_updated(self, timeout: float = 600.0) -> float:
        """Tick until the preview shows the latest change; returns when it did."""
        before = self.updates
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.live.tick()
            if self.updates > before and self.live.state == "idle":
                return time.monotonic()
            time.sleep(TICK)
        raise RuntimeError(f"no preview within {timeout:.0f} s (state {self.live.state}, error {self.live.error})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--strokes", type=int, default=30)
    p.add_argument("--side", type=int, default=DEFAULT_PREVIEW_SIDE, help="preview long side in pixels")
    p.add_argument("--plain", action="store_true", help="no live session key: every preview a full render")
    args = p.parse_args()
    server = start_server(Path(tempfile.mkdtemp(prefix="bench-live-")))
    try:
        client = Client(url=server.url, token=server.token, timeout=60)
        painter = Painter(client, args.side, args.plain)
        painter.live.changed()  # the first preview when live mode is switched on (loads the style's features)
        painter.until_updated(300)
        strokes, others = [], []
        for i in range(args.strokes):
            ended = painter.stroke()
            if i % 4 == 3:  # another stroke while this one's preview runs: that job is cancelled
                painter.wait(0.45)
                ended = painter.stroke()
            strokes.append(painter.until_updated() - ended)
            print(f"stroke {i + 1}: {strokes[-1]:.3f} s", flush=True)
            if i % 3 == 2:  # a slider move
                painter.alpha = 0.8 if painter.alpha == 1.0 else 1.0
                painter.live.changed()
                t = time.monotonic()
                others.append(("slider", painter.until_updated() - t))
            if i % 5 == 4:  # a style switch
                painter.style = STYLES[(STYLES.index(painter.style) + 1) % len(STYLES)]
                painter.live.changed()
                t = time.monotonic()
                others.append(("style", painter.until_updated() - t))
        time.sleep(0.5)
        health = client.health()
        left = (health.get("running") is not None) or health.get("queue", 0) > 0
    finally:
        server.stop()
    live = painter.live
    q = statistics.quantiles(strokes, n=10)
    row = {"strokes": len(strokes), "median s": f"{statistics.median(strokes):.3f}", "p90 s": f"{q[8]:.3f}",
           "max s": f"{max(strokes):.3f}", "jobs started": live.started, "jobs cancelled": live.cancelled,
           "left running": "yes" if left else "no"}
    kinds = ("full", "refreshed", "partial", "unchanged")
    row.update({kind: sum(k == kind for k, _, _ in painter.outcomes) for kind in kinds})
    shares = [share for _, share, _ in painter.outcomes]
    row["mean share"] = f"{statistics.mean(shares):.2f}" if shares else "-"
    print(table([row], list(row)))
    print("full / refreshed / partial / unchanged: the live session's updates of the jobs that finished (all of "
          "them, slider moves and style switches too); mean share: network work relative to a full render")
    for kind in kinds:
        runs = [seconds for k, _, seconds in painter.outcomes if k == kind]
        if runs:
            print(f"{kind}: {len(runs)} jobs, median {statistics.median(runs):.3f} s on the server")
    for kind in ("slider", "style"):
        values = [v for k, v in others if k == kind]
        if values:
            print(f"{kind} changes: {len(values)}, median {statistics.median(values):.3f} s (from the change)")
    print(write_json("live", {"canvas": CANVAS, "preview_side": args.side, "debounce_s": live.delay,
                              "live_session": not args.plain, "outcomes": painter.outcomes,
                              "stroke_latencies_s": strokes, "others": others, **row}))


if __name__ == "__main__":
    main()

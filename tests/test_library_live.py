"""Live mode's scheduler (adastyle_plugin.live): debounce, one job at a time, stale jobs cancelled, never blocks.

Unit tests on a fake clock and a fake server (the real server and canvas are in bench/bench_live.py and the
test over HTTP at the end)."""
from __future__ import annotations

import io

from adastyle_plugin.errors import PluginError
from adastyle_plugin.live import IDLE, WAITING, WORKING, LiveScheduler


class FakeServer:
    def __init__(self) -> None:
        self.jobs: dict[str, str] = {}
        self.cancelled: list[str] = []
        self.shown: list[bytes] = []
        self.now = 0.0

    def submit(self) -> str:
        job_id = f"j{len(self.jobs)}"
        self.jobs[job_id] = "running"
        return job_id

    def job(self, job_id: str) -> dict:
        return {"state": self.jobs[job_id]}

    def cancel(self, job_id: str) -> None:
        self.jobs[job_id] = "cancelled"
        self.cancelled.append(job_id)

    def result(self, job_id: str) -> bytes:
        return job_id.encode()

    def running(self) -> int:
        return sum(state == "running" for state in self.jobs.values())

    def scheduler(self, poll: float = 0.0) -> LiveScheduler:
        return LiveScheduler(self.submit, self.job, self.cancel, self.result, self.shown.append, delay=0.3,
                             clock=lambda: self.now, poll=poll)


def test_a_preview_starts_after_the_canvas_is_quiet_and_shows_its_latency() -> None:
    srv = FakeServer()
    live = srv.scheduler()
    assert live.state == IDLE
    for t in (0.0, 0.1, 0.2):  # a stroke: changes 100 ms apart
        srv.now = t
        live.changed()
        live.tick()
    assert live.state == WAITING and srv.jobs == {}
    srv.now = 0.45
    live.tick()
    assert srv.jobs == {}  # 0.25 s of quiet: not yet
    srv.now = 0.5
    live.tick()
    assert live.state == WORKING and list(srv.jobs) == ["j0"]
    srv.now = 0.9
    live.tick()
    assert srv.shown == []  # still running: tick only looked
    srv.jobs["j0"] = "done"
    live.tick()
    assert srv.shown == [b"j0"] and live.state == IDLE and abs(live.last_latency - 0.7) < 1e-9


def test_a_running_job_is_looked_at_every_poll_interval_not_every_tick() -> None:
    srv = FakeServer()
    looks: list[float] = []
    job = srv.job

    def counted(job_id: str) -> dict:
        looks.append(srv.now)
        return job(job_id)

    srv.job = counted  # type: ignore[method-assign]
    live = srv.scheduler(poll=0.1)
    live.changed()
    for step in range(15, 61):  # ticks every 20 ms from 0.30 s to 1.20 s; the job starts at the first
        srv.now = step * 0.02
        live.tick()
    assert 7 <= len(looks) <= 9 and all(b - a >= 0.1 - 1e-9 for a, b in zip(looks, looks[1:]))
    srv.jobs["j0"] = "done"
    srv.now += 0.1
    live.tick()
    assert srv.shown == [b"j0"]


def test_a_new_stroke_cancels_the_stale_job_and_never_two_run() -> None:
    srv = FakeServer()
    live = srv.scheduler()
    live.changed()
    srv.now = 0.3
    live.tick()
    assert srv.running() == 1
    srv.now = 0.4
    live.changed()  # painting again while j0 runs
    assert srv.cancelled == ["j0"] and srv.running() == 0 and live.state == WAITING
    srv.jobs["j0"] = "done"  # its result arrives anyway: never shown
    for step in range(1, 20):
        srv.now = 0.4 + step * 0.05
        live.tick()
        assert srv.running() <= 1
    assert list(srv.jobs) == ["j0", "j1"] and srv.shown == []
    srv.jobs["j1"] = "done"
    live.tick()
    assert srv.shown == [b"j1"] and (live.started, live.cancelled) == (2, 1)


def test_stop_cancels_and_forgets_and_errors_do_not_loop() -> None:
    srv = FakeServer()
    live = srv.scheduler()
    live.changed()
    srv.now = 1.0
    live.tick()
    live.stop()
    assert srv.cancelled == ["j0"] and live.state == IDLE
    srv.now = 5.0
    live.tick()
    assert list(srv.jobs) == ["j0"]

    def refuse() -> str:
        raise PluginError("server said 503: busy", 503, "busy")

    broken = LiveScheduler(refuse, srv.job, srv.cancel, srv.result, srv.shown.append, clock=lambda: srv.now)
    broken.changed()
    srv.now = 10.0
    broken.tick()
    broken.tick()
    assert broken.error == "server said 503: busy" and broken.state == IDLE


def test_live_previews_over_http_follow_the_canvas(tmp_path) -> None:
    """The scheduler with the real client and server: three strokes, the last preview equals a direct
    request for the same canvas, nothing left running."""
    import time

    import numpy as np
    from conftest import EXAMPLES
    from PIL import Image, ImageDraw
    from server_fixture import start_server

    from adastyle_plugin.http import Client

    server = start_server(tmp_path / "home")
    try:
        client = Client(url=server.url, token=server.token, timeout=60)
        canvas = Image.open(EXAMPLES / "content-coffee.jpg").convert("RGBA").resize((256, 192))
        shown: list[bytes] = []

        def submit() -> str:
            return client.submit(rgba=(canvas.tobytes(), *canvas.size), style_ids=["lib:lava"], result_format="rgba")

        live = LiveScheduler(submit, client.job, client.cancel, lambda j: client.result(j)[0], shown.append, delay=0.1)
        for i in range(3):
            ImageDraw.Draw(canvas).line((20 + 60 * i, 20, 60 + 60 * i, 170), fill=(250, 250, 0, 255), width=12)
            live.changed()
            deadline = time.time() + 120
            while len(shown) < i + 1:
                assert time.time() < deadline, live.error
                live.tick()
                time.sleep(0.02)
        direct = client.stylize(rgba=(canvas.tobytes(), *canvas.size), style_ids=["lib:lava"], result_format="rgba")[0]
        assert shown[-1] == direct and shown[0] != shown[-1]
        health = client.health()
        assert health["running"] is None and health["queue"] == 0
        assert np.asarray(Image.open(io.BytesIO(client.library_thumbnail("lava")))).size > 0
    finally:
        server.stop()


def test_a_result_that_cannot_be_fetched_frees_the_scheduler() -> None:
    """A job done on the server whose result is gone (or refused by the host) must not leave live mode stuck in
    'working…': the problem is said and the next change starts a new job."""
    srv = FakeServer()

    def gone(job_id: str) -> bytes:
        raise PluginError("server said 404: no such job", 404, "unknown_job")

    live = LiveScheduler(srv.submit, srv.job, srv.cancel, gone, srv.shown.append, delay=0.3, clock=lambda: srv.now)
    live.changed()
    srv.now = 0.3
    live.tick()
    srv.jobs["j0"] = "done"
    srv.now = 0.4
    live.tick()
    assert live.state == IDLE and live.error == "server said 404: no such job" and srv.shown == []
    live.changed()
    srv.now = 1.0
    live.tick()
    assert list(srv.jobs) == ["j0", "j1"]

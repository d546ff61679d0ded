"""The server's memory budget and waiting over real HTTP on 127.0.0.1: styles per request, the queue's
decoded-pixel budget, reduced styles, results kept for their time within a byte budget, jobs lost in a
crash, decoding off the event loop, and /v1/stylize clients that hang up or wait in numbers."""
from __future__ import annotations

import io
import signal
import threading
import time

import httpx
import pytest
from conftest import EXAMPLES
from PIL import Image
from server_fixture import RunningServer, start_server


def png(im: Image.Image, level: int = 1) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=level)
    return buf.getvalue()


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> RunningServer:
    srv = start_server(tmp_path_factory.mktemp("mem-home"), "--queue-pixels", "6000000", "--max-queue", "12",
                       "--result-bytes", "300000")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def style_jpg() -> bytes:
    return (EXAMPLES / "style-castle.jpg").read_bytes()


def big_content(side: int = 1400) -> bytes:
    return png(Image.open(EXAMPLES / "content-astronaut.jpg").convert("RGB").resize((side, side)))


def submit(server: RunningServer, content: bytes, style: bytes, **data) -> httpx.Response:
    return httpx.post(server.url + "/v1/jobs", headers=server.auth, timeout=120, data=data,
                      files=[("content", ("c.png", content)), ("style", ("s.jpg", style))])


def wait_state(server: RunningServer, job_id: str, states: tuple[str, ...], timeout: float = 180) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = httpx.get(f"{server.url}/v1/jobs/{job_id}", headers=server.auth, timeout=30).json()
        if info.get("state") in states:
            return info
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {states}")


def wait_idle(server: RunningServer, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        health = httpx.get(server.url + "/v1/health", timeout=30).json()
        if health["running"] is None and health["queue"] == 0:
            return
        time.sleep(0.1)
    raise AssertionError("the server never became idle")


def test_at_most_the_stated_number_of_styles(server, style_jpg) -> None:
    small = png(Image.new("RGB", (64, 64), (9, 9, 9)))
    r = httpx.post(server.url + "/v1/jobs", headers=server.auth,
                   files=[("content", ("c.png", small))] + [("style", (f"s{i}.jpg", style_jpg)) for i in range(5)])
    assert r.status_code == 422 and r.json()["error"] == "too_many_styles", r.text
    assert "at most 4" in r.json()["message"]


def test_uploaded_styles_are_kept_reduced(server) -> None:
    big = Image.linear_gradient("L").resize((2800, 2100)).convert("RGB")
    r = httpx.post(server.url + "/v1/styles", headers=server.auth, files=[("style", ("s.png", png(big)))], timeout=120)
    assert r.status_code == 200, r.text
    info = r.json()
    assert 1024 <= min(info["width"], info["height"]) < 2048, info  # the short side it is used at, not 2100
    assert abs(info["width"] / info["height"] - 4 / 3) < 0.01


def test_queue_pixel_budget_answers_503_then_recovers(server, style_jpg) -> None:
    wait_idle(server)
    first = submit(server, big_content(1900), style_jpg, tile="256")  # 3.6 Mpx of the 6 Mpx budget
    assert first.status_code == 202, first.text
    second = submit(server, big_content(1700), style_jpg, tile="256")  # 2.9 Mpx more does not fit
    assert second.status_code == 503, second.text
    assert second.json()["error"] == "busy" and int(second.headers["retry-after"]) > 0
    httpx.delete(f"{server.url}/v1/jobs/{first.json()['id']}", headers=server.auth, timeout=60)
    wait_state(server, first.json()["id"], ("cancelled", "done", "failed"))
    again = submit(server, big_content(1700), style_jpg, tile="256")  # the pixels came back with the job's end
    assert again.status_code == 202, again.text
    httpx.delete(f"{server.url}/v1/jobs/{again.json()['id']}", headers=server.auth, timeout=60)
    assert server.alive()


def test_results_stay_their_time_and_early_eviction_says_why(server, style_jpg) -> None:
    wait_idle(server)
    tiny = png(Image.new("RGB", (32, 32), (120, 30, 200)))
    first = submit(server, tiny, style_jpg, result_format="rgba").json()["id"]
    wait_state(server, first, ("done",))
    for _ in range(20):  # more than the 16 results the server used to keep, all small
        wait_state(server, submit(server, tiny, style_jpg, result_format="rgba").json()["id"], ("done",))
    r = httpx.get(f"{server.url}/v1/jobs/{first}/result", headers=server.auth)
    assert r.status_code == 200 and len(r.content) == 32 * 32 * 4
    # Two results of 160 kB each pass the 300 kB budget: the older one goes, and says so.
    mid = png(Image.new("RGB", (200, 200), (10, 90, 30)))
    older = submit(server, mid, style_jpg, result_format="rgba").json()["id"]
    wait_state(server, older, ("done",))
    newer = submit(server, mid, style_jpg, result_format="rgba").json()["id"]
    wait_state(server, newer, ("done",))
    r = httpx.get(f"{server.url}/v1/jobs/{older}/result", headers=server.auth)
    assert r.status_code == 410 and r.json()["error"] == "result_evicted", r.text
    assert "newer results" in r.json()["message"]
    assert httpx.get(f"{server.url}/v1/jobs/{newer}/result", headers=server.auth).status_code == 200


def test_health_answers_while_a_big_image_decodes(server) -> None:
    wait_idle(server)
    noise = Image.effect_noise((4000, 4000), 64).convert("RGB")  # slow to inflate: seconds of decoding
    body = png(noise, level=9)
    latencies: list[float] = []
    done = threading.Event()

    def upload() -> None:
        try:
            httpx.post(server.url + "/v1/styles", headers=server.auth, files=[("style", ("n.png", body))], timeout=120)
        finally:
            done.set()

    t0 = time.time()
    threading.Thread(target=upload).start()
    while not done.is_set():
        t = time.time()
        httpx.get(server.url + "/v1/health", timeout=30)
        latencies.append(time.time() - t)
        time.sleep(0.02)
    upload_time = time.time() - t0
    assert len(latencies) >= 3, (upload_time, latencies)
    assert max(latencies) < max(0.5, upload_time / 3), (upload_time, max(latencies))


def test_stylize_client_that_hangs_up_cancels_its_job(server, style_jpg) -> None:
    wait_idle(server)
    with pytest.raises(httpx.TimeoutException):
        httpx.post(server.url + "/v1/stylize", headers=server.auth, timeout=httpx.Timeout(120, read=3),
                   files=[("content", ("c.png", big_content(2000))), ("style", ("s.jpg", style_jpg))],
                   data={"tile": "256"})
    t0 = time.time()
    wait_idle(server, timeout=30)
    assert time.time() - t0 < 20


def test_cancel_is_not_stuck_behind_waiting_stylize_clients(server, style_jpg) -> None:
    wait_idle(server)
    content = big_content(800)  # 7 x 0.64 Mpx fit the 6 Mpx budget
    clients = [httpx.Client(timeout=httpx.Timeout(300, read=12)) for _ in range(7)]  # they hang up after 12 s
    threads = [threading.Thread(target=lambda c=c: _quiet_post(c, server, content, style_jpg)) for c in clients]
    for t in threads:
        t.start()
    deadline = time.time() + 60
    while (running := httpx.get(server.url + "/v1/health").json()["running"]) is None:
        assert time.time() < deadline
        time.sleep(0.05)
    t0 = time.time()
    r = httpx.delete(f"{server.url}/v1/jobs/{running}", headers=server.auth, timeout=60)
    took = time.time() - t0
    assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
    assert took < 10, took
    for t in threads:
        t.join(60)
    wait_idle(server, timeout=20)  # the clients hung up: their jobs were cancelled, not run
    for c in clients:
        c.close()


def _quiet_post(client: httpx.Client, server: RunningServer, content: bytes, style: bytes) -> None:
    try:
        client.post(server.url + "/v1/stylize", headers=server.auth, data={"tile": "256"},
                    files=[("content", ("c.png", content)), ("style", ("s.jpg", style))])
    except (httpx.HTTPError, RuntimeError):
        pass


def test_a_job_lost_in_a_crash_says_so(tmp_path, style_jpg) -> None:
    srv = start_server(tmp_path / "crash-home")
    try:
        job = submit(srv, big_content(1500), style_jpg, tile="256").json()["id"]
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait(30)
    finally:
        srv.stop()
    again = start_server(tmp_path / "crash-home")
    try:
        r = httpx.get(f"{again.url}/v1/jobs/{job}", headers=again.auth)
        assert r.status_code == 404 and r.json()["error"] == "job_lost", r.text
        assert "earlier run" in r.json()["message"] and "10 minutes" not in r.json()["message"]
        r = httpx.get(f"{again.url}/v1/jobs/nonsense", headers=again.auth)
        assert r.json()["error"] == "unknown_job"
    finally:
        again.stop()

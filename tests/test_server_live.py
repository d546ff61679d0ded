"""Live sessions over real HTTP on 127.0.0.1: a job with a `live` key re-renders only what changed since the
session's last job, and gives what a plain job on the same canvas gives (live_canvas's tolerances)."""
from __future__ import annotations

import time

import httpx
import numpy as np
import pytest
from conftest import EXAMPLES
from PIL import Image, ImageDraw
from server_fixture import RunningServer, start_server

from adastyle_plugin.errors import PluginError
from adastyle_plugin.http import Client

SIZE = (384, 320)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> RunningServer:
    srv = start_server(tmp_path_factory.mktemp("adastyle-home"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def client(server) -> Client:
    return Client(url=server.url, token=server.token, timeout=60)


def run(client: Client, canvas: Image.Image, style: str, **kw) -> tuple[dict, np.ndarray]:
    """(job info when done, result pixels) of a raw RGBA job for `canvas`."""
    job_id = client.submit(rgba=(canvas.tobytes(), *canvas.size), style_ids=[style], result_format="rgba", **kw)
    deadline = time.time() + 300
    while (info := client.job(job_id))["state"] not in ("done", "failed", "cancelled"):
        assert time.time() < deadline, info
        time.sleep(0.05)
    assert info["state"] == "done", info
    data, _ = client.result(job_id)
    return info, np.frombuffer(data, np.uint8).reshape(canvas.height, canvas.width, 4).astype(float)


def test_a_live_session_re_renders_what_changed(client) -> None:
    canvas = Image.open(EXAMPLES / "content-grace_hopper.jpg").convert("RGBA").resize(SIZE)
    first, _ = run(client, canvas, "lib:sower", live="doc-1")
    assert first["live"] == "full" and first["live_share"] == 1.0
    ImageDraw.Draw(canvas).line([(180, 150), (200, 160)], fill=(90, 80, 70, 255), width=7)
    second, live = run(client, canvas, "lib:sower", live="doc-1")
    assert second["live"] in ("partial", "refreshed") and second["live_share"] < 0.7, second
    plain_info, plain = run(client, canvas, "lib:sower")
    assert plain_info["live"] is None
    diff = np.abs(live - plain)
    assert diff[..., 3].max() == 0
    if second["live"] == "partial":
        assert diff[..., :3].mean() < 3.0  # the statistics of the last full render (live_canvas.MAX_DRIFT)
    else:
        assert diff[..., :3].max() <= 1
    again, same = run(client, canvas, "lib:sower", live="doc-1")
    assert again["live"] == "unchanged" and again["live_share"] == 0 and np.array_equal(same, live)
    other, _ = run(client, canvas, "lib:sower", live="doc-2")  # another session starts with a full render
    assert other["live"] == "full"


@pytest.mark.parametrize("key", ["x" * 65, "has space", "naïve", "semi;colon"])
def test_a_bad_live_key_is_422(server, key) -> None:
    canvas = Image.new("RGBA", (64, 64), (10, 20, 30, 255))
    r = httpx.post(server.url + "/v1/jobs", headers=server.auth, timeout=60,
                   files=[("content", ("c.rgba", canvas.tobytes()))],
                   data={"content_format": "rgba", "width": "64", "height": "64", "style_id": "lib:sower",
                         "live": key})
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid_parameter" and "live must be a session key" in r.json()["message"]


def test_the_client_refuses_a_bad_key_before_sending(client) -> None:
    with pytest.raises(PluginError, match="live must be a session key"):
        client.submit(rgba=(b"\0" * 16, 2, 2), style_ids=["lib:sower"], live="no/slashes")

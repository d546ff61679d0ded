"""The plug-in toolkit (standard library only) against a real server, and the CLI's server management commands."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request

import pytest
from conftest import EXAMPLES
from PIL import Image
from server_fixture import free_port, start_server

from adastyle_plugin import config, http, pixels, selection
from adastyle_plugin.errors import PluginError, ServerUnavailable


def run_cli(*args: str, home) -> subprocess.CompletedProcess:
    env = {**os.environ, "ADASTYLE_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "adastyle.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_client_round_trip_with_progress_and_rgba(tmp_path, monkeypatch) -> None:
    srv = start_server(tmp_path / "home")
    try:
        monkeypatch.setenv("ADASTYLE_HOME", str(srv.home))
        cl = http.Client(url=srv.url)  # token from the config folder
        assert cl.health()["status"] == "ok"
        seen: list[float] = []
        data, headers = cl.stylize(EXAMPLES / "content-rocket.jpg", [EXAMPLES / "style-swamp.jpg"],
                                   alpha=0.7, progress=seen.append)
        assert Image.open(__import__("io").BytesIO(data)).size == Image.open(EXAMPLES / "content-rocket.jpg").size
        assert seen and seen[-1] <= 1.0
        rgba = Image.new("RGBA", (40, 30), (200, 100, 50, 255))
        raw, headers = cl.stylize(styles=[EXAMPLES / "style-swamp.jpg"], rgba=(rgba.tobytes(), 40, 30),
                                  mask_gray=b"\xff" * 1200, result_format="rgba")
        assert len(raw) == 40 * 30 * 4 and headers["x-width"] == "40"
        with pytest.raises(PluginError) as err:
            cl.stylize(EXAMPLES / "content-rocket.jpg", [EXAMPLES / "style-swamp.jpg"], alpha=3)
        assert err.value.status == 422 and "alpha" in err.value.message
        bad = http.Client(url=srv.url, token="wrong")
        with pytest.raises(PluginError) as err:
            bad.submit(EXAMPLES / "content-rocket.jpg", [EXAMPLES / "style-swamp.jpg"])
        assert err.value.status == 401
    finally:
        srv.stop()


def test_client_reports_a_missing_server_clearly(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ADASTYLE_HOME", str(tmp_path))
    cl = http.Client(url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ServerUnavailable) as err:
        cl.ensure_running(command=None)
    assert "adastyle serve" in err.value.message


def test_client_starts_a_stopped_server(tmp_path, monkeypatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("ADASTYLE_HOME", str(home))
    port = free_port()
    cl = http.Client(url=f"http://127.0.0.1:{port}")
    assert not cl.is_running()
    cmd = [sys.executable, "-m", "adastyle.cli", "serve", "--port", str(port), "--background"]
    try:
        info = cl.ensure_running(command=cmd, wait=180)
        assert info["status"] == "ok"
        data, _ = cl.stylize(EXAMPLES / "content-coffee.jpg", [EXAMPLES / "style-castle.jpg"], scale=0.5)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        run_cli("stop", home=home)
    assert not cl.is_running()


def test_settings_file_and_environment_resolution(tmp_path, monkeypatch) -> None:
    settings = tmp_path / config.SETTINGS_NAME
    token_file = tmp_path / "tok"
    token_file.write_text("from-file\n")
    settings.write_text(json.dumps({"url": "http://127.0.0.1:1234/", "token_file": str(token_file),
                                    "server_command": ["x"]}))
    monkeypatch.delenv("ADASTYLE_URL", raising=False)
    monkeypatch.delenv("ADASTYLE_TOKEN", raising=False)
    monkeypatch.setenv("ADASTYLE_HOME", str(tmp_path / "nohome"))
    cl = http.Client(settings_path=settings)
    assert cl.url == "http://127.0.0.1:1234" and cl.token == "from-file" and cl.server_command == ["x"]
    monkeypatch.setenv("ADASTYLE_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("ADASTYLE_TOKEN", "env")
    cl = http.Client(settings_path=settings)
    assert cl.url == "http://127.0.0.1:9" and cl.token == "env"


def test_serve_background_status_stop_and_busy_port(tmp_path) -> None:
    home = tmp_path / "home"
    port = free_port()
    r = run_cli("serve", "--background", "--port", str(port), home=home)
    assert r.returncode == 0, r.stderr
    try:
        assert f"127.0.0.1:{port}" in r.stdout
        st = run_cli("status", home=home)
        assert st.returncode == 0 and json.loads(st.stdout)["status"] == "ok"
        assert (home / "server.pid").exists() and (home / "server.log").exists()
        again = run_cli("serve", "--port", str(port), home=home)  # the same config folder: the running one is named
        assert again.returncode == 2 and "already runs for the config folder" in again.stderr
        other = run_cli("serve", "--port", str(port), home=tmp_path / "other")  # another folder, the same port
        assert other.returncode == 2 and "already in use" in other.stderr
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=10) as resp:
            assert resp.status == 200
    finally:
        stop = run_cli("stop", home=home)
    assert stop.returncode == 0 and "stopped" in stop.stdout
    assert run_cli("status", home=home).returncode == 1


# ---- pixel helpers the plug-ins share ---------------------------------------------------------------
def test_mask_bbox_and_margin() -> None:
    w, h = 10, 6
    mask = bytearray(w * h)
    for y in range(2, 4):
        for x in range(3, 7):
            mask[y * w + x] = 128
    assert selection.mask_bbox(bytes(mask), w, h) == (3, 2, 7, 4)
    assert selection.mask_bbox(bytes(w * h), w, h) is None
    assert selection.expand_box((3, 2, 7, 4), 5, w, h) == (0, 0, 10, 6)
    with pytest.raises(ValueError):
        selection.mask_bbox(b"\x00", w, h)


def test_crop_swap_and_alpha() -> None:
    data = bytes(range(4 * 3 * 4))  # 4x3 RGBA
    cropped = pixels.crop(data, 4, 4, (1, 1, 3, 2))
    assert cropped == data[20:28]
    assert pixels.swap_red_blue(pixels.swap_red_blue(data)) == data
    assert pixels.swap_red_blue(b"\x01\x02\x03\x04") == b"\x03\x02\x01\x04"
    assert pixels.alpha_times_mask(b"\x01\x02\x03\xff\x01\x02\x03\x80", b"\x40\xff") == b"\x01\x02\x03\x40\x01\x02\x03\x80"


def test_client_is_standard_library_only() -> None:
    """The plug-ins ship the toolkit alone: it may import nothing outside the standard library and itself."""
    import ast
    from pathlib import Path

    for path in Path(http.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        names = {n.names[0].name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)}
        names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert names <= set(sys.stdlib_module_names) | {"__future__", "adastyle_plugin"}, (path.name, names)


def test_encode_png_round_trips_through_pillow() -> None:
    import io

    im = Image.open(EXAMPLES / "style-goldfish.jpg").convert("RGBA").resize((37, 23))
    png = pixels.encode_png(im.tobytes(), 37, 23)
    back = Image.open(io.BytesIO(png))
    assert back.mode == "RGBA" and back.size == (37, 23) and back.tobytes() == im.tobytes()
    with pytest.raises(ValueError):
        pixels.encode_png(b"\x00" * 5, 2, 2)

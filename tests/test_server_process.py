"""Managing the server from the command line, as a user does: one server per config folder (a second start is
refused and names the first), status/stop/open find it, and unsafe log or config folders are refused in one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from server_fixture import free_port


def adastyle(home: Path, *args: str, timeout: float = 400) -> subprocess.CompletedProcess:
    env = {**os.environ, "ADASTYLE_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "adastyle.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def one_line(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr[-2000:])
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    return r.stderr.strip()


def answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
def test_one_server_per_config_folder_and_status_stop_open_find_it(tmp_path) -> None:
    home = tmp_path / "cfg"
    first, second = free_port(), free_port()
    r = adastyle(home, "serve", "--background", "--port", str(first))
    try:
        assert r.returncode == 0, r.stderr[-2000:]
        pid = json.loads((home / "server.pid").read_text())["pid"]
        token = (home / "token").read_text().strip()
        assert f"Web page: http://127.0.0.1:{first}/ui/?token={token}" in r.stdout, r.stdout

        # A second server on the same config folder, on another port: refused, naming the running one.
        for args in (["serve", "--background", "--port", str(second)], ["serve", "--port", str(second)]):
            line = one_line(adastyle(home, *args))
            assert f"already runs for the config folder {home}: http://127.0.0.1:{first} (pid {pid})" in line, line
            assert "adastyle stop" in line and "ADASTYLE_HOME=" in line
            assert not answers(second)
        assert json.loads((home / "server.pid").read_text())["pid"] == pid, "the pidfile was taken over"

        status = adastyle(home, "status")
        assert status.returncode == 0 and json.loads(status.stdout)["pid"] == pid
        link = adastyle(home, "open", "--print")
        assert link.returncode == 0 and link.stdout.strip() == f"http://127.0.0.1:{first}/ui/?token={token}"
        swap = httpx.get(link.stdout.strip(), follow_redirects=False, timeout=30)
        assert swap.status_code == 303 and swap.headers["location"].endswith("/ui/"), swap.status_code
        doctor = adastyle(home, "doctor")
        assert f"running at http://127.0.0.1:{first} (pid {pid}" in doctor.stdout
    finally:
        stop = adastyle(home, "stop")
    assert stop.stdout.strip() == "stopped"
    assert not answers(first), "the server still answers after stop"
    assert adastyle(home, "status").returncode == 1
    assert one_line(adastyle(home, "open")).endswith("no AdaStyle server is running: start it with "
                                                     "`adastyle serve --background`")


def test_a_symlinked_server_log_is_refused_in_one_line(tmp_path) -> None:
    home = tmp_path / "cfg"
    home.mkdir(mode=0o700)
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me\n")
    (home / "server.log").symlink_to(target)
    line = one_line(adastyle(home, "serve", "--background", "--port", str(free_port())))
    assert f"{home / 'server.log'} is a symbolic link" in line and "remove it" in line, line
    assert target.read_text() == "keep me\n"
    assert not (home / "server.pid").exists()


@pytest.mark.parametrize("background", [True, False])
def test_a_config_folder_under_a_world_writable_folder_is_refused(tmp_path, background: bool) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # anyone may rename the config folder away and put their own in its place
    home = shared / "cfg"
    args = ["serve", "--port", str(free_port())] + (["--background"] if background else [])
    line = one_line(adastyle(home, *args))
    assert f"{shared}, above the config folder {home}, is writable by every user (mode 777)" in line, line
    assert f"chmod o-w {shared}" in line
    assert not home.exists(), "nothing may be written there"


def test_a_sticky_world_writable_parent_like_tmp_is_accepted(tmp_path) -> None:
    from adastyle.server.private_files import private_dir

    shared = tmp_path / "tmp-like"
    shared.mkdir()
    shared.chmod(0o1777)
    assert private_dir(shared / "cfg").is_dir()

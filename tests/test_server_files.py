"""`serve`/`stop`/`status` and the config folder: only our server is signalled, planted files are refused."""
from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from server_fixture import free_port, start_server


def adastyle(home: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI's main() in this process (a subprocess per call costs seconds of imports), with its
    exit status and output, as a user would see them."""
    from adastyle.cli import main

    old = os.environ.get("ADASTYLE_HOME")
    os.environ["ADASTYLE_HOME"] = str(home)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        if old is None:
            del os.environ["ADASTYLE_HOME"]
        else:
            os.environ["ADASTYLE_HOME"] = old
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def one_line_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("adastyle: error:") and "Traceback" not in r.stderr, r.stderr
    return lines[0]


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir(mode=0o700)
    return folder


@pytest.fixture()
def bystander():
    """An unrelated process whose pid we plant in the pidfile (it must survive `adastyle stop`)."""
    proc = subprocess.Popen(["sleep", "300"])
    yield proc
    proc.kill()
    proc.wait()


def write_pidfile(home: Path, pid, port: int = 8765) -> None:
    path = home / "server.pid"
    path.write_text(json.dumps({"pid": pid, "host": "127.0.0.1", "port": port, "url": f"http://127.0.0.1:{port}"}))
    path.chmod(0o600)


# ---- stop / status ---------------------------------------------------------------------------------
def test_stop_does_not_signal_an_unrelated_process(home, bystander) -> None:
    write_pidfile(home, bystander.pid)
    r = adastyle(home, "stop")
    assert r.returncode == 0 and "no AdaStyle server is running" in r.stdout, r.stderr
    time.sleep(0.3)
    assert bystander.poll() is None, "stop killed a process that is not our server"
    assert not (home / "server.pid").exists(), "a stale pidfile must be removed"


def test_stop_does_not_kill_a_process_that_ignores_sigterm(home) -> None:
    ignorer = subprocess.Popen([sys.executable, "-c",
                                "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
    try:
        time.sleep(0.5)
        write_pidfile(home, ignorer.pid)
        adastyle(home, "stop")
        assert ignorer.poll() is None
    finally:
        ignorer.kill()
        ignorer.wait()


@pytest.mark.parametrize("pid", [-1, 0, 1, None, "12", 3.5, True, 2**40])
def test_invalid_pids_are_stale(home, pid) -> None:
    write_pidfile(home, pid)
    r = adastyle(home, "status")
    assert r.returncode == 1 and "no AdaStyle server is running" in r.stdout, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    write_pidfile(home, pid)
    r = adastyle(home, "stop")
    assert r.returncode == 0 and "Traceback" not in r.stderr and "no AdaStyle server" in r.stdout


def test_garbage_pidfile_is_stale(home) -> None:
    (home / "server.pid").write_text("{not json")
    (home / "server.pid").chmod(0o600)
    r = adastyle(home, "status")
    assert r.returncode == 1 and "Traceback" not in r.stderr


def test_sigterm_removes_the_pidfile_and_temp_folders_and_exits_zero(home, tmp_path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    srv = start_server(home, env={"TMPDIR": str(tmp)})
    try:
        info = json.loads((home / "server.pid").read_text())
        assert info["pid"] == srv.proc.pid and info["port"] == srv.port
        assert (home / "server.pid").stat().st_mode & 0o077 == 0
        r = adastyle(home, "status")
        assert r.returncode == 0 and json.loads(r.stdout)["status"] == "ok"
        srv.proc.send_signal(signal.SIGTERM)
        assert srv.proc.wait(30) == 0
        assert not (home / "server.pid").exists()
        assert not list(tmp.glob("adastyle-web-*")), "the page's temporary folder was left behind"
    finally:
        srv.stop()


def test_status_and_stop_refuse_a_pidfile_naming_our_server_on_another_port(home) -> None:
    srv = start_server(home)
    try:
        write_pidfile(home, srv.proc.pid, port=free_port())  # right program, wrong port: not the one recorded
        assert adastyle(home, "stop").stdout.strip() == "no AdaStyle server is running"
        assert srv.alive()
    finally:
        srv.stop()


# ---- the config folder -----------------------------------------------------------------------------
def serve_quickly(home: Path) -> subprocess.CompletedProcess:
    return adastyle(home, "serve", "--port", str(free_port()))


def test_new_config_folder_is_private(tmp_path) -> None:
    home = tmp_path / "fresh" / "adastyle"
    srv = start_server(home)
    try:
        assert home.stat().st_mode & 0o777 == 0o700
        assert (home / "token").stat().st_mode & 0o777 == 0o600
    finally:
        srv.stop()


@pytest.mark.parametrize("mode", [0o666, 0o644, 0o640])
def test_token_open_to_others_is_refused(home, mode) -> None:
    (home / "token").write_text("planted-token\n")
    (home / "token").chmod(mode)
    line = one_line_error(serve_quickly(home))
    assert str(home / "token") in line and "chmod 600" in line


def test_token_symlink_is_refused_and_its_target_untouched(home, tmp_path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("do not read or overwrite me\n")
    target.chmod(0o600)
    (home / "token").symlink_to(target)
    line = one_line_error(serve_quickly(home))
    assert "symbolic link" in line
    assert target.read_text() == "do not read or overwrite me\n"
    (home / "token").unlink()
    (home / "token").symlink_to(tmp_path / "missing")  # a dangling link must not be created through either
    one_line_error(serve_quickly(home))
    assert not (tmp_path / "missing").exists()


@pytest.mark.parametrize("name", ["server.pid", "server.json"])
def test_pid_and_state_symlinks_are_refused(home, tmp_path, name) -> None:
    target = tmp_path / "victim"
    target.write_text("keep")
    (home / name).symlink_to(target)
    line = one_line_error(serve_quickly(home))
    assert "symbolic link" in line and name in line
    assert target.read_text() == "keep"
    if name == "server.pid":
        one_line_error(adastyle(home, "status"))


def test_world_writable_folder_is_refused(home) -> None:
    home.chmod(0o777)
    try:
        line = one_line_error(serve_quickly(home))
        assert "chmod 700" in line
    finally:
        home.chmod(0o700)

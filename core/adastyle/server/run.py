"""Running the server: in the foreground, detached in the background (pidfile + log), stop, status."""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from adastyle.client import Client, ServerUnavailable
from adastyle.config import config_dir

log = logging.getLogger(__name__)
DEFAULT_PORT = 8765


class ServeError(RuntimeError):
    """A server start or stop problem, with a message for the user."""


def pidfile() -> Path:
    return config_dir() / "server.pid"


def logfile() -> Path:
    return config_dir() / "server.log"


def port_in_use(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def url_for(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, device: str = "auto", max_queue: int = 8,
          max_pixels: int = 64_000_000, max_body: int = 256 << 20) -> None:
    """Run in the foreground until SIGTERM/SIGINT."""
    import uvicorn

    from adastyle.server.app import ServerSettings, build_asgi
    from adastyle.server.security import load_or_create_token

    if port_in_use(host, port):
        raise ServeError(f"port {port} on {host} is already in use (is AdaStyle already running? "
                         "try `adastyle status`, or pick another --port)")
    remote = host not in ("127.0.0.1", "localhost", "::1")
    folder = config_dir()
    token = load_or_create_token(folder)
    if remote:
        log.warning("listening on %s: other machines can reach this server; the token is the only protection", host)
    settings = ServerSettings(token=token, device=device, allow_remote=remote, max_queue=max_queue,
                              max_pixels=max_pixels, max_body=max_body)
    asgi = build_asgi(settings)
    url = url_for(host, port)
    pidfile().write_text(json.dumps({"pid": os.getpid(), "host": host, "port": port, "url": url}))
    (folder / "server.json").write_text(json.dumps({"url": url}))
    log.info("AdaStyle server on %s (web page: %s/ui/?token=...)", url, url)
    try:
        uvicorn.run(asgi, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
    finally:
        try:
            info = json.loads(pidfile().read_text())
            if info.get("pid") == os.getpid():
                pidfile().unlink()
        except (OSError, ValueError):
            pass


def start_background(args: list[str], wait: float = 180.0) -> dict:
    """Start `adastyle serve ARGS` detached, wait until healthy, return its health."""
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with logfile().open("ab") as logf:
        proc = subprocess.Popen([sys.executable, "-m", "adastyle.cli", "serve", *args], stdin=subprocess.DEVNULL,
                                stdout=logf, stderr=logf, start_new_session=True, cwd=str(folder))
    deadline = time.time() + wait
    while time.time() < deadline:
        code = proc.poll()
        if code is not None:
            tail = logfile().read_text(errors="replace").strip().splitlines()[-1:] or ["(no log)"]
            raise ServeError(f"the server exited with status {code}: {tail[0]} (log: {logfile()})")
        try:
            info = json.loads(pidfile().read_text())
            if info.get("pid") == proc.pid:
                health = Client(url=info["url"]).health()
                return {**health, **info}
        except (OSError, ValueError, ServerUnavailable):
            pass
        time.sleep(0.5)
    raise ServeError(f"the server did not become healthy within {wait:.0f} s (log: {logfile()})")


def read_pidfile() -> dict | None:
    try:
        info = json.loads(pidfile().read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(int(info["pid"]), 0)
    except (OSError, KeyError, ValueError):
        return None  # stale
    return info


def stop(timeout: float = 15.0) -> bool:
    """Stop the background server; False when none was running."""
    info = read_pidfile()
    if info is None:
        pidfile().unlink(missing_ok=True)
        return False
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    pidfile().unlink(missing_ok=True)
    return True


def status() -> dict | None:
    info = read_pidfile()
    if info is None:
        return None
    try:
        return {**info, **Client(url=info["url"]).health()}
    except ServerUnavailable:
        return {**info, "status": "not answering"}

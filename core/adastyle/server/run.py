"""Running the server: in the foreground, detached in the background (pidfile + log), stop, status."""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adastyle.config import config_dir
from adastyle.errors import UserError
from adastyle.server.private_files import (
    UnsafeFileError,
    load_or_create_token,
    open_private_append,
    private_dir,
    read_private,
    remove_private,
    write_private,
)
from adastyle.server.process import alive, is_our_server, valid_pid, valid_port
from adastyle.settings import LOCAL_HOSTS, Settings
from adastyle_plugin.errors import ServerUnavailable
from adastyle_plugin.http import Client

if TYPE_CHECKING:
    from adastyle.server.app import FrontEnd

log = logging.getLogger(__name__)
IDLE_TIMEOUT = 5        # seconds a kept-alive connection may wait for its next request (uvicorn's, not a setting)


class ServeError(UserError):
    """A server start or stop problem, with a message for the user."""


def pidfile() -> Path:
    return config_dir() / "server.pid"


def logfile() -> Path:
    return config_dir() / "server.log"


def lockfile() -> Path:
    return config_dir() / "server.lock"


def page_link(url: str, token: str) -> str:
    """The web page's address with the token, ready to open (the page swaps it for a cookie at once)."""
    return f"{url}/ui/?token={token}"


def already_running(info: dict | None) -> ServeError:
    """The one message for a second server on a config folder that has one: which one runs and what to do."""
    folder = config_dir()
    if info is None:
        return ServeError(f"an AdaStyle server is already starting for the config folder {folder}; "
                          "see `adastyle status` in a moment")
    return ServeError(f"an AdaStyle server already runs for the config folder {folder}: {info.get('url')} "
                      f"(pid {info.get('pid')}); use it, stop it with `adastyle stop`, or give a second server "
                      f"its own config folder and port: ADASTYLE_HOME=<another folder> adastyle serve --port <N>")


def take_server_lock() -> int | None:
    """Hold the config folder's server lock (an fd to keep open while serving); ServeError when a server has it.

    Why a lock and not only the pidfile: two starts at once both find no pidfile, and the later one would
    take the pidfile over, leaving the first server running where `status`, `stop` and `doctor` never find it.
    The lock goes with the process however it ends. None where the system has no flock (Windows): the
    pidfile check alone.
    """
    try:
        import fcntl
    except ImportError:
        running = read_pidfile()
        if running is not None:
            raise already_running(running) from None
        return None
    fd = open_private_append(lockfile())
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise already_running(read_pidfile()) from None
    return fd


def check_not_running() -> None:
    """ServeError naming the server that runs for this config folder, if one does (before a background start)."""
    private_dir(config_dir())
    fd = take_server_lock()
    if fd is not None:
        os.close(fd)


def port_taken(host: str, port: int) -> ServeError:
    """The one message for a port another program (or another AdaStyle) holds."""
    return ServeError(f"port {port} on {host} is already in use (is AdaStyle already running? "
                      "try `adastyle status`, or pick another --port)")


def check_port_free(host: str, port: int) -> None:
    """ServeError when the port cannot be bound (checked before starting a background server)."""
    if port_in_use(host, port):
        raise port_taken(host, port)


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


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets: for a local host both 127.0.0.1 and [::1] (both are accepted as Host).

    Why bind ourselves: uvicorn binds one address; a browser that resolves localhost to ::1 first
    should find the server there too. [::1] is skipped where the system has no IPv6 loopback.
    """
    addrs = [("127.0.0.1", socket.AF_INET), ("::1", socket.AF_INET6)] if host in LOCAL_HOSTS else \
        [(host, socket.AF_INET6 if ":" in host else socket.AF_INET)]
    socks: list[socket.socket] = []
    for addr, family in addrs:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            s.bind((addr, port))
        except OSError as exc:
            s.close()
            if addr == "::1" and socks:
                log.info("not listening on [::1]:%d (%s)", port, exc.strerror)
                continue
            for other in socks:
                other.close()
            raise port_taken(addr, port) from None
        s.listen(128)
        s.set_inheritable(True)
        socks.append(s)
    return socks


def serve(settings: Settings, front_ends: Sequence[FrontEnd] = ()) -> None:
    """Run in the foreground until SIGTERM/SIGINT; then remove the pidfile and return (exit status 0).
    `front_ends`: mounted beside the API on the same queue (the web page; see app.FrontEnd)."""
    folder = private_dir(config_dir())
    token = load_or_create_token(folder)
    for name in ("server.pid", "server.json"):  # refuse planted files before doing anything
        read_private(folder / name, private_read=False)
    lock = take_server_lock()  # held until this function returns: one server per config folder
    try:
        _serve_locked(settings, front_ends, folder, token)
    finally:
        if lock is not None:
            os.close(lock)


def _serve_locked(settings: Settings, front_ends: Sequence[FrontEnd], folder: Path, token: str) -> None:
    from adastyle.server.app import build_asgi

    host, port = settings.host, settings.port
    if settings.allow_remote:
        log.warning("listening on %s: other machines can reach this server; the token is the only protection", host)
    socks = bind(host, port)
    asgi = build_asgi(settings, token, front_ends=front_ends)
    url = url_for(host, port)
    write_private(pidfile(), json.dumps({"pid": os.getpid(), "host": host, "port": port, "url": url}))
    write_private(folder / "server.json", json.dumps({"url": url}))
    log.info("AdaStyle server on %s; web page: %s", url, page_link(url, token))
    try:
        serve_asgi(asgi, settings, socks, reserve=True)
    finally:
        try:
            info = json.loads(read_private(pidfile(), private_read=False) or "{}")
            if info.get("pid") == os.getpid():
                remove_private(pidfile())
        except (OSError, ValueError, UnsafeFileError):
            pass


def serve_asgi(asgi: Any, settings: Settings, socks: list[socket.socket], reserve: bool = False,
               on_started: Callable[[], None] | None = None) -> None:
    """Serve `asgi` on the bound `socks` with the guarded protocol (header deadline, fair connection cap; with
    `reserve`, a quarter of the cap kept for clients with the credential) until SIGTERM/SIGINT, then return
    normally, so callers and atexit clean up (`adastyle serve` and `adastyle web` alike)."""
    import uvicorn

    from adastyle.server.guarded_http import GuardedH11Protocol

    protocol = type("Protocol", (GuardedH11Protocol,), {
        "header_timeout": settings.header_timeout, "max_connections": settings.max_connections,
        "reserved": max(1, settings.max_connections // 4) if reserve else 0})
    config = uvicorn.Config(asgi, log_level="warning", timeout_graceful_shutdown=5, http=protocol,
                            timeout_keep_alive=IDLE_TIMEOUT, lifespan="on")
    server = uvicorn.Server(config)
    if on_started is not None:
        def announce() -> None:
            while not server.started and not server.should_exit:
                time.sleep(0.1)
            if server.started:
                on_started()

        threading.Thread(target=announce, daemon=True).start()
    # uvicorn turns SIGTERM/SIGINT into a graceful shutdown and afterwards re-raises the signal with
    # the handler it found; a handler of ours makes that a no-op, so we clean up and exit 0.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run(sockets=socks)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for s in socks:
            s.close()


def read_token() -> str:
    """The server's token from the config folder (made by the server on its first start)."""
    return (read_private(config_dir() / "token") or "").strip()


def start_background(args: list[str], wait: float = 180.0) -> dict:
    """Start `adastyle serve ARGS` detached, wait until healthy, return its health."""
    private_dir(config_dir())
    fd = open_private_append(logfile())
    with os.fdopen(fd, "ab") as logf:
        proc = subprocess.Popen([sys.executable, "-m", "adastyle.cli", "serve", *args], stdin=subprocess.DEVNULL,
                                stdout=logf, stderr=logf, start_new_session=True, cwd=str(config_dir()))
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
    """The pidfile's record when it names our running server; None (and the file removed) when stale.

    A record is stale when its pid or port is not a sane number, the pid is gone, or the pid is
    some other program now (pids are reused): see process.is_our_server.
    """
    try:
        text = read_private(pidfile(), private_read=False)
    except UnsafeFileError as exc:
        raise ServeError(str(exc)) from None
    if text is None:
        return None
    try:
        info = json.loads(text)
    except ValueError:
        info = None
    pid = valid_pid(info.get("pid")) if isinstance(info, dict) else None
    port = valid_port(info.get("port")) if isinstance(info, dict) else None
    if pid is None or port is None or not alive(pid) or not is_our_server(pid, port):
        remove_private(pidfile())
        return None
    return info


def stop(timeout: float = 15.0) -> bool:
    """Stop the background server; False when none was running (a stale pidfile is removed)."""
    info = read_pidfile()
    if info is None:
        return False
    pid = int(info["pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while time.time() < deadline and alive(pid):
        time.sleep(0.2)
    if alive(pid) and is_our_server(pid, int(info["port"])):  # checked again: only ever kill our server
        os.kill(pid, signal.SIGKILL)
    remove_private(pidfile())
    return True


def status() -> dict | None:
    info = read_pidfile()
    if info is None:
        return None
    try:
        return {**info, **Client(url=info["url"]).health()}
    except ServerUnavailable:
        return {**info, "status": "not answering"}

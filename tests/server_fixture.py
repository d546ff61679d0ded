"""Start a real AdaStyle server (a subprocess on 127.0.0.1, free port, temporary config folder)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningServer:
    url: str
    port: int
    home: Path
    proc: subprocess.Popen

    @property
    def token(self) -> str:
        return (self.home / "token").read_text().strip()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def alive(self) -> bool:
        try:
            return httpx.get(self.url + "/v1/health", timeout=10).status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's output (test-server.log), for a failing test's message."""
        path = self.home / "test-server.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else "(no server log)"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_server(home: Path, *extra: str, wait: float = 300.0, env: dict[str, str] | None = None,
                 verbose: bool = False) -> RunningServer:
    """The server as a subprocess; `wait` is generous because importing gradio for the page can take
    minutes on a busy 2-core machine. verbose: debug logging (each job's states) in `log_tail()`."""
    port = free_port()
    env = {**os.environ, **(env or {}), "ADASTYLE_HOME": str(home)}
    log = (home / "test-server.log").open("wb") if home.mkdir(parents=True, exist_ok=True) is None else None
    proc = subprocess.Popen([sys.executable, "-m", "adastyle.cli", *(["-v"] if verbose else []), "serve", "--port",
                             str(port), *extra],
                            env=env, stdout=log, stderr=log)
    server = RunningServer(f"http://127.0.0.1:{port}", port, home, proc)
    deadline = time.time() + wait
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {(home / 'test-server.log').read_text()[-2000:]}")
        if server.alive():
            return server
        time.sleep(0.3)
    server.stop()
    raise RuntimeError("server did not start in time")

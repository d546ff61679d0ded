"""Starting the server from a plug-in when it is not running (the configured command), then waiting for it.

Kept apart from the HTTP client: starting a process is a different job from talking to one, and the
client works without it (a server started by hand or on another machine).
"""
from __future__ import annotations

import os
import subprocess
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

from adastyle_plugin.errors import ServerUnavailable

try:  # typing only: the client calls ensure_running with itself
    from typing import Protocol
except ImportError:  # Python 3.7
    Protocol = object  # type: ignore[assignment,misc]


class Server(Protocol):
    url: str

    def health(self, timeout: float = 3.0) -> Dict[str, Any]: ...

    def forget_token(self) -> None: ...


def start(command: Sequence[str]) -> "subprocess.Popen[bytes]":
    """Run the start command detached (its own session on POSIX, so closing the host does not stop it)."""
    kwargs: Dict[str, Any] = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if os.name == "posix":
        kwargs["start_new_session"] = True
    try:
        return subprocess.Popen(list(command), **kwargs)
    except OSError as exc:
        raise ServerUnavailable(f"could not start the AdaStyle server with {' '.join(command)!r}: {exc}") from None


def ensure_running(server: Server, command: Optional[Sequence[str]], wait: float = 120.0,
                   on_wait: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
    """Health of the server, starting it with `command` if it is down."""
    try:
        return server.health()
    except ServerUnavailable:
        pass
    cmd: List[str] = list(command or [])
    if not cmd:
        raise ServerUnavailable(f"the AdaStyle server is not running at {server.url} and no start command is "
                                "configured. Start it with `adastyle serve --background`.")
    if on_wait:
        on_wait("Starting the AdaStyle server…")
    proc = start(cmd)
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            server.forget_token()  # a fresh server may have written a new token
            return server.health()
        except ServerUnavailable:
            code = proc.poll()
            if code not in (None, 0):
                raise ServerUnavailable(f"the AdaStyle server command exited with status {code}: "
                                        f"{' '.join(cmd)}") from None
            time.sleep(0.5)
    raise ServerUnavailable(f"the AdaStyle server did not answer within {wait:.0f} s after starting it")

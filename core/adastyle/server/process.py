"""Is this pid our server? (before `adastyle stop` signals it, or `status` reports it)

Why: a pidfile outlives its process (a crash, a reboot) and pids are reused, so the number in it may
name any program by now. Signalling it on trust could kill an unrelated process. A pid counts as our
server only when it is a sane number, its command line is `adastyle serve` and it listens on the
port recorded at start.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any


def valid_pid(value: Any) -> int | None:
    """A pid we may signal: an int above 1 that is not this process (0, -1 and 1 address groups or init)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 1 or value == os.getpid():
        return None
    return value


def valid_port(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not (1 <= value <= 65535):
        return None
    return value


def command_line(pid: int) -> list[str] | None:
    """The process's arguments (None when it does not exist or cannot be read)."""
    proc = Path(f"/proc/{pid}/cmdline")
    if Path("/proc/self").exists():
        try:
            raw = proc.read_bytes()
        except OSError:
            return None
        return [a.decode("utf-8", "replace") for a in raw.split(b"\0") if a] or None
    try:
        out = subprocess.run(["ps", "-ww", "-o", "args=", "-p", str(pid)], capture_output=True, text=True,
                             timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.split() or None if out.returncode == 0 else None


def is_adastyle_serve(args: list[str]) -> bool:
    """`adastyle serve ...` or `python -m adastyle.cli serve ...`."""
    named = any(a == "adastyle.cli" or Path(a).name == "adastyle" for a in args)
    return named and "serve" in args


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(cols[9])
    return inodes


def listens_on(pid: int, port: int) -> bool | None:
    """Whether pid holds a listening socket on port (None where /proc cannot tell, e.g. macOS)."""
    if not Path("/proc/net/tcp").exists():
        return None
    wanted = _listening_inodes(port)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return None if Path(f"/proc/{pid}").exists() else False  # someone else's process: cannot look
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in wanted:
            return True
    return False


def is_our_server(pid: int, port: int) -> bool:
    """pid runs `adastyle serve` and (where the system can tell) listens on port."""
    args = command_line(pid)
    if args is None or not is_adastyle_serve(args):
        return False
    return listens_on(pid, port) is not False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError, ValueError):
        return False
    except PermissionError:
        return True
    return True

"""What the real-GIMP and real-Krita tests share: the chroot, skip-or-fail, and the real server."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from server_fixture import start_server

REPO = Path(__file__).resolve().parents[2]
CHROOT_SH = REPO / "tests" / "realapp" / "chroot.sh"


def unavailable(app: str, reason: str) -> None:
    """Skip locally, but fail in CI: there a missing chroot is a broken pipeline, not a missing tool."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"real-{app} test cannot run in CI: {reason}")
    pytest.skip(reason)


def chroot_run(args: list[str], env: dict[str, str] | None = None, timeout: float = 360) -> subprocess.CompletedProcess:
    """CMD as user 'artist' inside the chroot (chroot.sh run); env values must not contain spaces."""
    extra = {"CHROOT_ENV": " ".join(f"{k}={v}" for k, v in (env or {}).items())}
    return subprocess.run([str(CHROOT_SH), "run", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **extra}, check=False)


def build_chroot(app: str, check: Callable[[Path], str | None]) -> Path:
    """The cached trixie root (built on first use, about 3 minutes); `check` returns a problem or None."""
    if os.geteuid() != 0:
        unavailable(app, "needs root for debootstrap and chroot")
    for tool in ("chroot", "mount"):
        if shutil.which(tool) is None:
            unavailable(app, f"{tool} not found")
    try:
        built = subprocess.run([str(CHROOT_SH), "build"], capture_output=True, text=True, timeout=1800, check=False)
    except subprocess.TimeoutExpired:
        unavailable(app, "building the trixie chroot took over 30 minutes")
    if built.returncode != 0:
        unavailable(app, f"cannot build the trixie chroot: {built.stderr.strip()[-800:]}")
    root = Path(built.stdout.strip().splitlines()[-1])
    problem = check(root)
    if problem:
        unavailable(app, problem)
    return root


def real_server(prefix: str, keep_log: Path | None = None,
                env: dict[str, str] | None = None) -> Iterator[dict[str, str]]:
    """The real server (`adastyle serve`) on a free port with its own ADASTYLE_HOME: url, token, home."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    srv = start_server(home / "home", env=env)
    try:
        yield {"url": srv.url, "token": srv.token, "home": str(srv.home)}
    finally:
        srv.stop()
        if keep_log is not None:
            keep_log.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(srv.home / "test-server.log", keep_log)
        shutil.rmtree(home, ignore_errors=True)

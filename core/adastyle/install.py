"""`adastyle install-plugin gimp|krita`: copy a plug-in (with its toolkit) into the application's folder.

The plug-ins import nothing from this package: beside them go the `adastyle_plugin` toolkit package
(standard library only, the same package the core uses) and a settings file naming the server URL,
the token file and the command that starts the server.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from adastyle_plugin.config import DEFAULT_URL, SETTINGS_NAME, config_dir

TOOLKIT = "adastyle_plugin"


def plugin_source(*parts: str) -> Path:
    return Path(str(resources.files("adastyle.plugins").joinpath(*parts)))


def copy_toolkit(folder: Path) -> Path:
    """The toolkit package into `folder` (replacing an older copy), importable from the plug-in there."""
    target = folder / TOOLKIT
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(Path(str(resources.files(TOOLKIT))), target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def settings_for(server_url: str | None) -> dict:
    """What the plug-in needs: where the server is, where its token is, and how to start it there."""
    url = server_url or DEFAULT_URL
    parsed = urlsplit(url)
    command = [sys.executable, "-m", "adastyle.cli", "serve", "--background"]
    if parsed.port:
        command += ["--port", str(parsed.port)]
    return {"url": url, "token_file": str(config_dir() / "token"), "server_command": command}


def _write_settings(folder: Path, server_url: str | None) -> Path:
    path = folder / SETTINGS_NAME
    path.write_text(json.dumps(settings_for(server_url), indent=1))
    os.chmod(path, 0o600)
    return path


def gimp_default_dests() -> list[Path]:
    home = Path.home()
    dests = [home / ".config" / "GIMP" / "3.0" / "plug-ins"]
    flatpak = home / ".var" / "app" / "org.gimp.GIMP" / "config" / "GIMP" / "3.0"
    if flatpak.exists():
        dests.append(flatpak / "plug-ins")
    return dests


def install_gimp(dest: Path, server_url: str | None) -> list[Path]:
    folder = dest / "adastyle"
    folder.mkdir(parents=True, exist_ok=True)
    for source in plugin_source("gimp", "adastyle").glob("*.py"):  # the plug-in and its gi-free rules
        shutil.copy(source, folder / source.name)
    main = folder / "adastyle.py"
    main.chmod(main.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)  # GIMP ignores it otherwise
    (folder / "adastyle_client.py").unlink(missing_ok=True)  # the single-file client of older versions
    return [main, copy_toolkit(folder), _write_settings(folder, server_url)]


def enable_in_kritarc(rc: Path, key: str) -> None:
    """Set `key=true` under [python] in kritarc, leaving every other line as Krita wrote it.

    Why not ConfigParser: Krita writes keys before the first section header and has its own formatting.
    """
    lines = rc.read_text().splitlines() if rc.exists() else []
    out: list[str] = []
    in_python = done = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            if in_python and not done:
                out.append(f"{key}=true")
                done = True
            in_python = stripped == "[python]"
        elif in_python and line.split("=", 1)[0].strip() == key:
            line, done = f"{key}=true", True
        out.append(line)
    if not done:
        if not in_python:
            out += ["", "[python]"]
        out.append(f"{key}=true")
    rc.parent.mkdir(parents=True, exist_ok=True)
    rc.write_text("\n".join(out) + "\n")


def install_krita(dest: Path, server_url: str | None, kritarc: Path | None = None) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    desktop = dest / "adastyle_krita.desktop"
    shutil.copy(plugin_source("krita", "adastyle_krita.desktop"), desktop)
    pkg = dest / "adastyle_krita"
    if pkg.exists():
        shutil.rmtree(pkg)
    shutil.copytree(plugin_source("krita", "adastyle_krita"), pkg,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    written = [desktop, pkg, copy_toolkit(dest), _write_settings(pkg, server_url)]
    rc = kritarc or Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "kritarc"
    enable_in_kritarc(rc, "enable_adastyle_krita")
    written.append(rc)
    return written


def install_plugin(app: str, dest: str | None = None, server_url: str | None = None) -> list[Path]:
    """Install the plug-in for `app` ('gimp' or 'krita'); returns the files written."""
    if app == "gimp":
        dests = [Path(dest)] if dest else gimp_default_dests()
        return [p for d in dests for p in install_gimp(d, server_url)]
    if app == "krita":
        if dest:
            d = Path(dest)
            # With --dest, kritarc is looked for beside a standard layout (~/.local/share/krita/pykrita).
            rc = d.parents[3] / ".config" / "kritarc" if len(d.parents) > 3 and d.parts[-3:] == (
                "share", "krita", "pykrita") else None
            return install_krita(d, server_url, rc)
        return install_krita(Path.home() / ".local" / "share" / "krita" / "pykrita", server_url)
    raise ValueError(f"unknown application {app!r} (gimp or krita)")

"""`adastyle install-plugin|uninstall-plugin gimp|krita`: copy a plug-in (with its toolkit) into one host folder.

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
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from adastyle import hosts
from adastyle.errors import UserError
from adastyle_plugin.config import DEFAULT_URL, SETTINGS_NAME, config_dir

KRITARC_KEY = "enable_adastyle_krita"
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


MANIFEST = ".adastyle-installed.json"
GIMP_NEXT = "restart GIMP, then open an image and use Filters \u25b8 Artistic \u25b8 AdaIN Style Transfer\u2026"
KRITA_NEXT = "restart Krita, then show the docker with Settings \u25b8 Dockers \u25b8 AdaIN Style"
KRITA_ENABLE = ("enable it once in Krita: Settings \u25b8 Configure Krita \u25b8 Python Plugin Manager \u25b8 tick "
                "\u201cAdaIN Style (AdaStyle)\u201d")


@dataclass
class Installed:
    """What one install wrote (for the user and for uninstall-plugin) and what the user does next."""

    app: str
    folder: Path                  # the one folder everything was written into
    files: list[Path]
    next_steps: list[str] = field(default_factory=list)
    kind: str = ""                # regular, flatpak, ... ("" = a folder given with --dest)


def _write_manifest(plugin_folder: Path, files: list[Path], kritarc_key: tuple[Path, str] | None = None) -> Path:
    """Record what was written, so uninstall-plugin removes exactly that (and nothing a user added)."""
    record = {"files": sorted(str(f) for f in files)}
    if kritarc_key:
        record["kritarc"] = [str(kritarc_key[0]), kritarc_key[1]]
    path = plugin_folder / MANIFEST
    path.write_text(json.dumps(record, indent=1))
    return path


def install_gimp(dest: Path, server_url: str | None) -> list[Path]:
    """Into GIMP's plug-ins folder `dest`: everything goes into dest/adastyle/ (GIMP wants folder = file name)."""
    folder = dest / "adastyle"
    folder.mkdir(parents=True, exist_ok=True)
    for source in plugin_source("gimp", "adastyle").glob("*.py"):  # the plug-in and its gi-free rules
        shutil.copy(source, folder / source.name)
    main = folder / "adastyle.py"
    main.chmod(main.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)  # GIMP ignores it otherwise
    (folder / "adastyle_client.py").unlink(missing_ok=True)  # the single-file client of older versions
    toolkit = copy_toolkit(folder)
    files = [main, *sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST and
                           "__pycache__" not in p.parts and p != main), _write_settings(folder, server_url)]
    return [main, toolkit, files[-1], _write_manifest(folder, list(dict.fromkeys(files)))]


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


def drop_kritarc_key(rc: Path, key: str) -> bool:
    """Remove the `key=` line from kritarc's [python] group (what enable_in_kritarc added); True if it was there."""
    if not rc.is_file():
        return False
    lines = rc.read_text().splitlines()
    out: list[str] = []
    in_python = found = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            in_python = stripped == "[python]"
        elif in_python and line.split("=", 1)[0].strip() == key:
            found = True
            continue
        out.append(line)
    if found:
        rc.write_text("\n".join(out) + "\n")
    return found


def check_pykrita_dest(dest: Path) -> None:
    """--dest for Krita is its pykrita folder; refuse Krita's resource folder (one level up), a common slip."""
    if dest.name != "pykrita" and ((dest / "pykrita").is_dir() or dest.name == "krita"):
        raise UserError(f"--dest {dest} looks like Krita's resource folder; pass its pykrita folder: "
                        f"--dest {dest / 'pykrita'}")


def install_krita(dest: Path, server_url: str | None, kritarc: Path | None = None) -> list[Path]:
    """Into Krita's pykrita folder `dest`; with `kritarc`, also enable the plug-in there (no --dest only)."""
    dest.mkdir(parents=True, exist_ok=True)
    desktop = dest / "adastyle_krita.desktop"
    shutil.copy(plugin_source("krita", "adastyle_krita.desktop"), desktop)
    pkg = dest / "adastyle_krita"
    if pkg.exists():
        shutil.rmtree(pkg)
    shutil.copytree(plugin_source("krita", "adastyle_krita"), pkg,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    toolkit = copy_toolkit(dest)
    settings = _write_settings(pkg, server_url)
    files = [desktop, *sorted(p for p in [*pkg.rglob("*"), *toolkit.rglob("*")] if p.is_file())]
    written = [desktop, pkg, toolkit, settings]
    key = None
    if kritarc is not None:
        enable_in_kritarc(kritarc, KRITARC_KEY)
        key = (kritarc, KRITARC_KEY)
        written.append(kritarc)
    return [*written, _write_manifest(pkg, files, key)]


def install_plugin(app: str, dest: str | None = None, server_url: str | None = None) -> list[Installed]:
    """Install the plug-in for `app` ('gimp' or 'krita').

    With `dest` (GIMP: its plug-ins folder; Krita: its pykrita folder) everything is written inside that one
    folder; Krita's own settings are left alone, so the user enables the plug-in in Krita. Without `dest`,
    into every installation found (regular, Flatpak, Snap), enabling it in that Krita's kritarc.
    """
    if app not in ("gimp", "krita"):
        raise UserError(f"unknown application {app!r} (gimp or krita)")
    if dest:
        folder = Path(dest).expanduser()
        if app == "gimp":
            return [Installed(app, folder, install_gimp(folder, server_url), [GIMP_NEXT])]
        check_pykrita_dest(folder)
        return [Installed(app, folder, install_krita(folder, server_url), [KRITA_ENABLE, KRITA_NEXT])]
    done = []
    for target in hosts.install_targets(app):
        steps = [target.note] if target.note else []
        if app == "gimp":
            files = install_gimp(target.plugin_dir, server_url)
            steps.append(GIMP_NEXT)
        else:
            files = install_krita(target.plugin_dir, server_url, target.kritarc)
            steps.append(KRITA_NEXT)
        done.append(Installed(app, target.plugin_dir, files, steps, target.kind))
    return done


def _plugin_folder(app: str, folder: Path) -> Path:
    return folder / ("adastyle" if app == "gimp" else "adastyle_krita")


def is_installed(app: str, folder: Path) -> bool:
    """Whether install-plugin put the plug-in into this plug-ins (GIMP) or pykrita (Krita) folder."""
    return (_plugin_folder(app, folder) / MANIFEST).is_file()


def uninstall_plugin(app: str, dest: str | None = None) -> list[Path]:
    """Remove what install-plugin wrote (its manifest's files, then the folders it made if empty).

    Returns what was removed. Files a user added to the plug-in folder stay; Krita's kritarc loses only the
    enable line that install-plugin added.
    """
    if app not in ("gimp", "krita"):
        raise UserError(f"unknown application {app!r} (gimp or krita)")
    folders = [Path(dest).expanduser()] if dest else [t.plugin_dir for t in hosts.installs_for(app)]
    removed: list[Path] = []
    for folder in dict.fromkeys(folders):
        plugin = _plugin_folder(app, folder)
        manifest = plugin / MANIFEST
        if not manifest.is_file():
            continue
        record = json.loads(manifest.read_text())
        for name in record.get("files", []):
            path = Path(name)
            if path.is_file() and folder in path.parents:
                path.unlink()
                removed.append(path)
        manifest.unlink()
        removed.append(manifest)
        made = {d for p in removed for d in p.parents if folder in d.parents}  # folders that held our files
        for sub in sorted(made, key=lambda d: len(d.parts), reverse=True):
            shutil.rmtree(sub / "__pycache__", ignore_errors=True)  # the host's bytecode of our files
            if sub.is_dir() and not any(sub.iterdir()):
                sub.rmdir()
                removed.append(sub)
        if record.get("kritarc"):
            rc, key = Path(record["kritarc"][0]), record["kritarc"][1]
            if drop_kritarc_key(rc, key):
                removed.append(rc)
    return removed

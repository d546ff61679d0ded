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
APP_TITLES = {"gimp": "GIMP 3", "krita": "Krita 5"}
GIMP_PACKAGE = "adastyle_gimp"          # GIMP 3 loads plug-ins/NAME/NAME.py
GIMP_MAIN = f"{GIMP_PACKAGE}.py"
GIMP_LEGACY_FOLDER = "adastyle"         # the folder name of earlier versions (removed on install)
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


def make_folder(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; return those it made (deepest first), for uninstall-plugin."""
    made = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    return made


def _write_manifest(plugin_folder: Path, files: list[Path], made: list[Path],
                    kritarc_key: tuple[Path, str, str] | None = None) -> Path:
    """Record what was written and which folders were made, so uninstall-plugin removes exactly that (and
    nothing a user added)."""
    record: dict = {"files": sorted(str(f) for f in files), "folders": [str(d) for d in made]}
    if kritarc_key:
        record["kritarc"] = [str(kritarc_key[0]), kritarc_key[1], kritarc_key[2]]
    path = plugin_folder / MANIFEST
    path.write_text(json.dumps(record, indent=1))
    return path


def install_gimp(dest: Path, server_url: str | None) -> list[Path]:
    """Into GIMP's plug-ins folder `dest`: everything goes into dest/adastyle_gimp/ (GIMP wants folder = file
    name). A copy installed under the plug-in's former folder name is removed first: GIMP would otherwise
    register the same procedures twice."""
    remove_recorded(dest / GIMP_LEGACY_FOLDER, dest)
    folder = dest / GIMP_PACKAGE
    made = make_folder(folder)
    for source in plugin_source("gimp", GIMP_PACKAGE).glob("*.py"):  # the plug-in and its gi-free rules
        shutil.copy(source, folder / source.name)
    main = folder / GIMP_MAIN
    main.chmod(main.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)  # GIMP ignores it otherwise
    (folder / "adastyle_client.py").unlink(missing_ok=True)  # the single-file client of older versions
    toolkit = copy_toolkit(folder)
    files = [main, *sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST and
                           "__pycache__" not in p.parts and p != main), _write_settings(folder, server_url)]
    return [main, toolkit, files[-1], _write_manifest(folder, list(dict.fromkeys(files)), made)]


def enable_in_kritarc(rc: Path, key: str) -> str:
    """Set `key=true` under [python] in kritarc, leaving every other line as Krita wrote it.

    Returns what had to be made for it: "file" (no kritarc yet), "section" (no [python] group) or "" (the
    line only), so uninstall-plugin can take away exactly that.
    Why not ConfigParser: Krita writes keys before the first section header and has its own formatting.
    """
    created = "" if rc.exists() else "file"
    lines = rc.read_text().splitlines() if rc.exists() else []
    if not created and "[python]" not in (line.strip() for line in lines):
        created = "section"
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
    return created


def _drop_empty_python_group(lines: list[str]) -> list[str]:
    """Without a [python] header that has no lines under it (the one enable_in_kritarc added)."""
    out: list[str] = []
    for i, line in enumerate(lines):
        if line.strip() == "[python]":
            rest = lines[i + 1:]
            body = next((r for r in rest if r.strip()), "")
            if not body or body.strip().startswith("["):
                while out and not out[-1].strip():  # the blank line written before it
                    out.pop()
                continue
        out.append(line)
    return out


def drop_kritarc_key(rc: Path, key: str, created: str = "") -> bool:
    """Remove the `key=` line from kritarc's [python] group (what enable_in_kritarc added); True if it was there.

    What enable_in_kritarc made for it (`created`) goes too: the [python] group when left empty, the file when
    nothing else is in it."""
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
    if not found:
        return False
    if created:
        out = _drop_empty_python_group(out)
    if created == "file" and not any(line.strip() for line in out):
        rc.unlink()
    else:
        rc.write_text("\n".join(out) + "\n")
    return True


def check_pykrita_dest(dest: Path) -> None:
    """--dest for Krita is its pykrita folder; refuse Krita's resource folder (one level up), a common slip."""
    if dest.name != "pykrita" and ((dest / "pykrita").is_dir() or dest.name == "krita"):
        raise UserError(f"--dest {dest} looks like Krita's resource folder; pass its pykrita folder: "
                        f"--dest {dest / 'pykrita'}")


def install_krita(dest: Path, server_url: str | None, kritarc: Path | None = None) -> list[Path]:
    """Into Krita's pykrita folder `dest`; with `kritarc`, also enable the plug-in there (no --dest only)."""
    made = make_folder(dest)
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
        made += [d for d in make_folder(kritarc.parent) if d not in made]
        key = (kritarc, KRITARC_KEY, enable_in_kritarc(kritarc, KRITARC_KEY))
        written.append(kritarc)
    return [*written, _write_manifest(pkg, files, made, key)]


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
        if not target.present:
            steps.append(f"{APP_TITLES[app]} was not found on this machine (no regular, Flatpak or Snap "
                         f"installation), so the plug-in went into its regular folder, ready for when it is "
                         f"installed; for another folder, pass --dest")
        if app == "gimp":
            files = install_gimp(target.plugin_dir, server_url)
            steps.append(GIMP_NEXT)
        else:
            files = install_krita(target.plugin_dir, server_url, target.kritarc)
            steps.append(KRITA_NEXT)
        done.append(Installed(app, target.plugin_dir, files, steps, target.kind))
    return done


def _plugin_folder(app: str, folder: Path) -> Path:
    return folder / (GIMP_PACKAGE if app == "gimp" else "adastyle_krita")


def is_installed(app: str, folder: Path) -> bool:
    """Whether install-plugin put the plug-in into this plug-ins (GIMP) or pykrita (Krita) folder."""
    return (_plugin_folder(app, folder) / MANIFEST).is_file()


def remove_recorded(plugin: Path, folder: Path) -> list[Path]:
    """Remove what the manifest in `plugin` lists (only inside `folder`), the folders it made once empty, and a
    kritarc enable line it added; nothing when there is no manifest (not ours, or not installed)."""
    manifest = plugin / MANIFEST
    if not manifest.is_file():
        return []
    removed: list[Path] = []
    record = json.loads(manifest.read_text())
    for name in record.get("files", []):
        path = Path(name)
        if path.is_file() and folder in path.parents:
            path.unlink()
            removed.append(path)
    manifest.unlink()
    removed.append(manifest)
    made = {d for p in removed for d in p.parents if folder in d.parents}  # folders that held our files
    made |= {Path(d) for d in record.get("folders", [])}  # and those install-plugin created
    if record.get("kritarc"):
        rc, key, created = Path(record["kritarc"][0]), record["kritarc"][1], (record["kritarc"][2:] or [""])[0]
        if drop_kritarc_key(rc, key, created):
            removed.append(rc)
    for sub in sorted(made, key=lambda d: len(d.parts), reverse=True):
        shutil.rmtree(sub / "__pycache__", ignore_errors=True)  # the host's bytecode of our files
        if sub.is_dir() and not any(sub.iterdir()):
            sub.rmdir()
            removed.append(sub)
    return removed


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
        removed += remove_recorded(_plugin_folder(app, folder), folder)
    return removed


def archive_entries(app: str) -> list[tuple[str, Path]]:
    """(name in the archive, source file) of the plug-in archive for `app`, in the layout each host takes as it is.

    GIMP: the folder `adastyle_gimp/` (plug-in, its rules, the toolkit inside), to unpack into GIMP's plug-ins folder.
    Krita: `adastyle_krita.desktop` and the package `adastyle_krita/` with the toolkit inside it, the layout
    Krita's Tools > Scripts > Import Python Plugin from File... reads: it takes each .desktop file's
    X-KDE-Library and copies the folder of that name (which must hold __init__.py) and nothing else.
    """
    toolkit = Path(str(resources.files(TOOLKIT)))
    if app == "gimp":
        package, plugin = GIMP_PACKAGE, sorted(plugin_source("gimp", GIMP_PACKAGE).glob("*.py"))
        entries = [(f"{package}/{p.name}", p) for p in plugin]
    elif app == "krita":
        package = "adastyle_krita"
        entries = [("adastyle_krita.desktop", plugin_source("krita", "adastyle_krita.desktop"))]
        entries += [(f"{package}/{p.name}", p) for p in sorted(plugin_source("krita", package).glob("*.py"))]
    else:
        raise UserError(f"unknown application {app!r} (gimp or krita)")
    return entries + [(f"{package}/{TOOLKIT}/{p.name}", p) for p in sorted(toolkit.glob("*.py"))]


def write_plugin_archive(app: str, out: Path) -> Path:
    """The plug-in for `app` as a zip at `out`, with an entry for every folder (Krita's importer looks for them)
    and the GIMP plug-in's main file executable (GIMP runs only executable plug-ins)."""
    import zipfile

    out.parent.mkdir(parents=True, exist_ok=True)
    entries = archive_entries(app)
    folders = sorted({name.rsplit("/", i)[0] + "/" for name, _ in entries for i in range(1, name.count("/") + 1)})
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for folder in folders:
            info = zipfile.ZipInfo(folder, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = (0o40755 << 16) | 0x10
            zf.writestr(info, b"")
        for name, source in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if name == f"{GIMP_PACKAGE}/{GIMP_MAIN}" else 0o100644) << 16
            zf.writestr(info, source.read_bytes())
    return out

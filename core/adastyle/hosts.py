"""Where GIMP 3 and Krita 5 keep their user plug-ins, for each way they are installed (regular, Flatpak, Snap).

Why a module of its own: `install-plugin`, `uninstall-plugin` and `doctor` must agree on the folders; a
plug-in copied where the host does not look is the most common reason a plug-in "does not appear".
Standard library only; nothing here writes.
"""
from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

GIMP_FLATPAK = "org.gimp.GIMP"
KRITA_FLATPAK = "org.kde.krita"
GIMP_SERIES = "3.0"  # GIMP 3.x reads user plug-ins from <config>/GIMP/3.0/plug-ins


@dataclass(frozen=True)
class HostInstall:
    """One way a host application is (or may be) installed, and its user plug-in folder."""

    app: str            # "gimp" or "krita"
    kind: str           # "regular", "flatpak", "snap", "appimage"
    found: str          # how it was found ("" = not found; the folder is then the default guess)
    plugin_dir: Path    # GIMP: its plug-ins folder; Krita: its pykrita folder
    kritarc: Path | None = None  # Krita's settings file of this installation
    note: str = ""      # what differs for this kind (e.g. the sandbox cannot start the server)

    @property
    def present(self) -> bool:
        return bool(self.found)


def _home() -> Path:
    return Path(os.environ.get("HOME") or Path.home())


def _xdg(var: str, fallback: str) -> Path:
    value = os.environ.get(var)
    return Path(value) if value else _home() / fallback


def _which(*names: str) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return ""


def _flatpak_installed(app_id: str) -> str:
    """The Flatpak's install folder (system or user), or its data folder in HOME when only that exists."""
    for root in (Path("/var/lib/flatpak/app"), _xdg("XDG_DATA_HOME", ".local/share") / "flatpak" / "app"):
        if (root / app_id).is_dir():
            return str(root / app_id)
    data = _home() / ".var" / "app" / app_id
    return str(data) if data.is_dir() else ""


def _appimages(stem: str) -> str:
    for folder in (_home() / "Applications", _home() / "Downloads", _home() / ".local" / "bin", _home()):
        if folder.is_dir():
            for entry in sorted(folder.glob("*.AppImage")):
                if stem in entry.name.lower():
                    return str(entry)
    return ""


def _gimp_config_root() -> Path:
    if sys.platform == "darwin":
        return _home() / "Library" / "Application Support" / "GIMP"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", _home() / "AppData" / "Roaming")) / "GIMP"
    return _xdg("XDG_CONFIG_HOME", ".config") / "GIMP"


def gimp_installs() -> list[HostInstall]:
    """Every GIMP 3 installation kind this platform can have; `found` says which are really here."""
    regular = _which("gimp-3.0", "gimp-3", "gimp")
    if not regular and sys.platform == "darwin" and Path("/Applications/GIMP.app").exists():
        regular = "/Applications/GIMP.app"
    installs = [HostInstall("gimp", "regular", regular, _gimp_config_root() / GIMP_SERIES / "plug-ins")]
    if sys.platform.startswith("linux"):
        flatpak = _flatpak_installed(GIMP_FLATPAK)
        installs.append(HostInstall(
            "gimp", "flatpak", flatpak,
            _home() / ".var" / "app" / GIMP_FLATPAK / "config" / "GIMP" / GIMP_SERIES / "plug-ins",
            note="the sandbox cannot start the server: run `adastyle serve --background` before using the filter"))
        snap = "/snap/gimp" if Path("/snap/gimp").exists() else ""
        installs.append(HostInstall(
            "gimp", "snap", snap, _home() / "snap" / "gimp" / "current" / ".config" / "GIMP" / GIMP_SERIES / "plug-ins",
            note="the snap's confinement may stop the plug-in reaching the server; the regular or Flatpak GIMP "
                 "is the tested way"))
        appimage = _appimages("gimp")
        if appimage:  # an AppImage reads the regular user folder
            installs.append(HostInstall("gimp", "appimage", appimage, installs[0].plugin_dir))
    return installs


def _krita_data_root() -> Path:
    if sys.platform == "darwin":
        return _home() / "Library" / "Application Support" / "krita"
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", _home() / "AppData" / "Roaming")) / "krita"
    return _xdg("XDG_DATA_HOME", ".local/share") / "krita"


def _kritarc() -> Path:
    if sys.platform == "darwin":
        return _home() / "Library" / "Preferences" / "kritarc"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", _home() / "AppData" / "Local")) / "kritarc"
    return _xdg("XDG_CONFIG_HOME", ".config") / "kritarc"


def krita_installs() -> list[HostInstall]:
    """Every Krita installation kind this platform can have; `found` says which are really here."""
    regular = _which("krita")
    if not regular and sys.platform == "darwin" and Path("/Applications/krita.app").exists():
        regular = "/Applications/krita.app"
    installs = [HostInstall("krita", "regular", regular, _krita_data_root() / "pykrita", _kritarc())]
    if sys.platform.startswith("linux"):
        flatpak = _flatpak_installed(KRITA_FLATPAK)
        base = _home() / ".var" / "app" / KRITA_FLATPAK
        installs.append(HostInstall(
            "krita", "flatpak", flatpak, base / "data" / "krita" / "pykrita", base / "config" / "kritarc",
            note="the sandbox cannot start the server: run `adastyle serve --background` before using the docker"))
        snap = "/snap/krita" if Path("/snap/krita").exists() else ""
        sbase = _home() / "snap" / "krita" / "current"
        installs.append(HostInstall("krita", "snap", snap, sbase / ".local" / "share" / "krita" / "pykrita",
                                    sbase / ".config" / "kritarc"))
        appimage = _appimages("krita")
        if appimage:  # an AppImage reads the regular user folders
            installs.append(HostInstall("krita", "appimage", appimage, installs[0].plugin_dir, installs[0].kritarc))
    return installs


def installs_for(app: str) -> list[HostInstall]:
    if app == "gimp":
        return gimp_installs()
    if app == "krita":
        return krita_installs()
    raise ValueError(f"unknown application {app!r} (gimp or krita)")


def install_targets(app: str) -> list[HostInstall]:
    """Where `install-plugin APP` without --dest installs: every installation found (one folder each), else
    the regular folder (GIMP/Krita may be installed later, or not be on PATH)."""
    found: dict[Path, HostInstall] = {}
    for inst in installs_for(app):
        if inst.present and inst.plugin_dir not in found:
            found[inst.plugin_dir] = inst
    return list(found.values()) or [installs_for(app)[0]]

"""The release's Krita plug-in zip, imported by Krita's own importer inside REAL Krita 5.2 (the trixie chroot):
the code behind Tools > Scripts > Import Python Plugin from File... (plugin_importer.py, shipped with Krita),
run by the chroot's Python as the artist, then Krita started with what it imported: the docker appears and
connects. Nothing of `adastyle install-plugin` is in the pykrita folder: the zip alone must do.

Not root, or no chroot: skipped, except in CI (CI=true), where it fails.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from realapp_common import chroot_run, real_server
from test_krita import (
    ARTIFACTS,
    ARTIST,
    HARNESS,
    HOME_IN,
    PYKRITA_IN,
    chroot_root,  # noqa: F401 (a fixture)
    collect,
    drop_kritarc_group,
    run_krita,
    stage,
)

from adastyle.install import enable_in_kritarc, write_plugin_archive

pytestmark = [pytest.mark.realapp, pytest.mark.slow]
IMPORTER_IN = "/usr/share/krita/pykrita/plugin_importer/plugin_importer.py"
RESOURCES_IN = f"{HOME_IN}/.local/share/krita"


@pytest.fixture(scope="module")
def server() -> Iterator[Dict[str, str]]:
    yield from real_server("adastyle-krita-zip-home-", keep_log=ARTIFACTS / "server-zip.log")


@pytest.fixture(scope="module")
def imported(chroot_root: Path) -> subprocess.CompletedProcess:  # noqa: F811
    """Krita's importer, run on the zip inside the chroot, into a pykrita folder with no AdaStyle in it."""
    if not (chroot_root / IMPORTER_IN.lstrip("/")).is_file():
        pytest.fail(f"Krita's plugin importer is not at {IMPORTER_IN} in the chroot")
    home = chroot_root / HOME_IN.lstrip("/")
    pykrita = chroot_root / PYKRITA_IN.lstrip("/")
    for stale in ("adastyle_krita", "adastyle_plugin", "adastyle_harness", "adastyle_krita.desktop"):
        path = pykrita / stale
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    (chroot_root / RESOURCES_IN.lstrip("/")).mkdir(parents=True, exist_ok=True)  # Krita makes it on its first start
    zip_path = write_plugin_archive("krita", home / "adastyle-krita-plugin.zip")
    subprocess.run(["chown", "-R", ARTIST, str(home)], check=True)
    return chroot_run(["python3", IMPORTER_IN, f"{HOME_IN}/{zip_path.name}", RESOURCES_IN], timeout=600)


@pytest.fixture(scope="module")
def krita_run(chroot_root: Path, imported, server: Dict[str, str]) -> Dict[str, Any]:  # noqa: F811
    """Krita started with the imported plug-in (enabled, as the Plugin Manager's tick does) and the harness."""
    home = chroot_root / HOME_IN.lstrip("/")
    pykrita = chroot_root / PYKRITA_IN.lstrip("/")
    kritarc = home / ".config" / "kritarc"
    enable_in_kritarc(kritarc, "enable_adastyle_krita")
    shutil.copy(HARNESS / "adastyle_harness.desktop", pykrita)
    shutil.copytree(HARNESS / "adastyle_harness", pykrita / "adastyle_harness",
                    ignore=shutil.ignore_patterns("__pycache__"))
    enable_in_kritarc(kritarc, "enable_adastyle_harness")
    drop_kritarc_group(kritarc, "adastyle")
    subprocess.run(["chown", "-R", ARTIST, str(home / ".local"), str(home / ".config")], check=True)
    test_dir = stage(chroot_root)
    return collect(test_dir, run_krita(server))


def test_kritas_importer_takes_the_zip(imported, chroot_root: Path) -> None:  # noqa: F811
    assert imported.returncode == 0, imported.stdout + imported.stderr[-2000:]
    assert "Imported plugin: AdaIN Style (AdaStyle)" in imported.stdout, imported.stdout
    pykrita = chroot_root / PYKRITA_IN.lstrip("/")
    assert (pykrita / "adastyle_krita.desktop").is_file() and (pykrita / "adastyle_krita" / "__init__.py").is_file()
    assert (pykrita / "adastyle_krita" / "adastyle_plugin" / "http.py").is_file()
    assert not (pykrita / "adastyle_plugin").exists(), "only the importer's copy of the toolkit may be there"


def test_the_imported_docker_appears_and_connects(krita_run) -> None:
    c = krita_run["checks"]
    assert krita_run["error"] is None, krita_run["error"]
    assert c["docker"]["found"] and c["docker"]["title"] == "AdaIN Style", c["docker"]
    assert c["connection_initial"].startswith("Server connected"), c["connection_initial"]

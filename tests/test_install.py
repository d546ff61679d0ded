"""install-plugin / uninstall-plugin: --dest is one folder and nothing is written outside it; host folders
(regular, Flatpak) are found without --dest; both commands print the next step; uninstall removes exactly that."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def snapshot(root: Path) -> dict[str, int]:
    """Every file and folder under root with its size (folders: -1), to prove nothing changed."""
    return {str(p.relative_to(root)): (p.stat().st_size if p.is_file() else -1) for p in root.rglob("*")}


def fake_home(tmp_path: Path) -> dict[str, str]:
    """An environment whose HOME is a throwaway folder holding a user's existing kritarc and GIMP profile."""
    home = tmp_path / "home"
    (home / ".config" / "GIMP" / "3.0").mkdir(parents=True)
    (home / ".config" / "kritarc").write_text("[General]\nfoo=bar\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), ADASTYLE_HOME=str(home / "adastyle-config"), PATH="/usr/bin:/bin")
    return env


def adastyle(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "adastyle.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.mark.parametrize("app", ["krita", "gimp"])
def test_install_with_dest_writes_only_inside_dest_and_names_next_step(tmp_path, app: str) -> None:
    env = fake_home(tmp_path)
    home = Path(env["HOME"])
    before = snapshot(home)
    dest = tmp_path / ("pykrita" if app == "krita" else "plug-ins")
    r = adastyle("install-plugin", app, "--dest", str(dest), env=env)
    assert r.returncode == 0, r.stderr
    assert snapshot(home) == before, "install-plugin --dest wrote into HOME"
    written = [p for p in tmp_path.rglob("*") if p.is_file() and home not in p.parents]
    assert written and all(dest in p.parents for p in written)
    if app == "krita":
        assert (dest / "adastyle_krita.desktop").is_file() and (dest / "adastyle_krita" / "__init__.py").is_file()
        assert "Python Plugin Manager" in r.stdout and "Settings \u25b8 Dockers \u25b8 AdaIN Style" in r.stdout
    else:
        assert os.access(dest / "adastyle_gimp" / "adastyle_gimp.py", os.X_OK)
        assert "restart GIMP" in r.stdout and "Filters \u25b8 Artistic \u25b8 AdaIN Style Transfer" in r.stdout
    assert "Next:" in r.stdout

    r = adastyle("uninstall-plugin", app, "--dest", str(dest), env=env)
    assert r.returncode == 0, r.stderr
    assert not dest.exists(), "uninstall-plugin left files or the folder it made behind"
    assert snapshot(home) == before
    r = adastyle("uninstall-plugin", app, "--dest", str(dest), env=env)
    assert r.returncode == 1 and "no AdaStyle" in r.stdout


def test_krita_resource_folder_as_dest_is_refused_with_the_right_folder(tmp_path) -> None:
    env = fake_home(tmp_path)
    resource = tmp_path / "krita"
    (resource / "pykrita").mkdir(parents=True)
    r = adastyle("install-plugin", "krita", "--dest", str(resource), env=env)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and f"--dest {resource / 'pykrita'}" in r.stderr
    assert list((resource / "pykrita").iterdir()) == []


def test_install_without_dest_finds_regular_and_flatpak_folders(tmp_path) -> None:
    env = fake_home(tmp_path)
    home = Path(env["HOME"])
    for app_id in ("org.gimp.GIMP", "org.kde.krita"):  # a Flatpak's per-user data folder
        (home / ".var" / "app" / app_id).mkdir(parents=True)
    (home / ".var" / "app" / "org.kde.krita" / "config").mkdir()
    r = adastyle("install-plugin", "gimp", env=env)
    assert r.returncode == 0, r.stderr
    flatpak_gimp = home / ".var/app/org.gimp.GIMP/config/GIMP/3.0/plug-ins/adastyle_gimp/adastyle_gimp.py"
    assert flatpak_gimp.is_file()
    assert "(flatpak)" in r.stdout and "adastyle serve --background" in r.stdout  # the sandbox note
    r = adastyle("install-plugin", "krita", env=env)
    assert r.returncode == 0, r.stderr
    flatpak_krita = home / ".var/app/org.kde.krita"
    assert (flatpak_krita / "data/krita/pykrita/adastyle_krita.desktop").is_file()
    assert "enable_adastyle_krita=true" in (flatpak_krita / "config/kritarc").read_text()
    assert "Settings \u25b8 Dockers \u25b8 AdaIN Style" in r.stdout

    r = adastyle("doctor", env=env)
    assert r.returncode == 0, r.stderr
    assert "GIMP 3 (flatpak)" in r.stdout and "Krita 5 (flatpak)" in r.stdout and "plug-in installed" in r.stdout

    r = adastyle("uninstall-plugin", "krita", env=env)
    assert r.returncode == 0, r.stderr
    assert not (flatpak_krita / "data/krita/pykrita/adastyle_krita").exists()
    assert not (flatpak_krita / "config/kritarc").exists(), "install-plugin created this kritarc: uninstall removes it"
    r = adastyle("uninstall-plugin", "gimp", env=env)
    assert r.returncode == 0 and not flatpak_gimp.parent.exists()


def test_regular_krita_install_keeps_the_users_kritarc_lines(tmp_path) -> None:
    from adastyle.install import drop_kritarc_key, enable_in_kritarc

    rc = tmp_path / "kritarc"
    rc.write_text("top=1\n[General]\nfoo=bar\n[python]\nenable_other=true\n")
    enable_in_kritarc(rc, "enable_adastyle_krita")
    assert rc.read_text() == "top=1\n[General]\nfoo=bar\n[python]\nenable_other=true\nenable_adastyle_krita=true\n"
    assert drop_kritarc_key(rc, "enable_adastyle_krita")
    assert rc.read_text() == "top=1\n[General]\nfoo=bar\n[python]\nenable_other=true\n"


def test_install_without_any_host_says_so_and_uninstall_leaves_nothing_it_made(tmp_path) -> None:
    """No GIMP or Krita here: install-plugin says it found none and where it put the plug-in; uninstall-plugin
    then removes the folders it made and the kritarc it created, and doctor words both states right."""
    env = fake_home(tmp_path)
    home = Path(env["HOME"])
    (home / ".config" / "kritarc").unlink()  # no Krita ever ran here: install creates kritarc
    before = snapshot(home)
    for app, name in (("gimp", "GIMP 3"), ("krita", "Krita 5")):
        r = adastyle("install-plugin", app, env=env)
        assert r.returncode == 0, r.stderr
        assert f"{name} was not found on this machine" in r.stdout, r.stdout
    r = adastyle("doctor", env=env)
    assert r.returncode == 0, r.stderr
    for name in ("GIMP 3", "Krita 5"):
        line = next(line for line in r.stdout.splitlines() if line[4:].startswith(name))
        assert "plug-in installed in" in line and f"ready for when {name} is installed" in line, line
        assert "to install it there" not in line and "install-plugin" not in line, line
    assert (home / ".config" / "kritarc").read_text().strip() == "[python]\nenable_adastyle_krita=true"
    for app in ("gimp", "krita"):
        r = adastyle("uninstall-plugin", app, env=env)
        assert r.returncode == 0, r.stderr
    assert snapshot(home) == before, "uninstall-plugin left files or folders that install-plugin made"


def test_uninstall_keeps_a_users_kritarc_and_takes_only_the_python_group_it_added(tmp_path) -> None:
    from adastyle.install import drop_kritarc_key, enable_in_kritarc

    rc = tmp_path / "kritarc"
    rc.write_text("[General]\nfoo=bar\n")
    created = enable_in_kritarc(rc, "enable_adastyle_krita")
    assert created == "section"
    assert drop_kritarc_key(rc, "enable_adastyle_krita", created)
    assert rc.read_text() == "[General]\nfoo=bar\n"
    rc.write_text("[python]\nenable_other=true\n")
    created = enable_in_kritarc(rc, "enable_adastyle_krita")
    assert created == "" and drop_kritarc_key(rc, "enable_adastyle_krita", created)
    assert rc.read_text() == "[python]\nenable_other=true\n"


def test_gimp_install_replaces_a_copy_under_the_former_folder_name(tmp_path) -> None:
    """Earlier versions installed into plug-ins/adastyle/; left there, GIMP would register the procedures twice.
    A user's own file in that folder stays."""
    from adastyle.install import MANIFEST

    env = fake_home(tmp_path)
    dest = tmp_path / "plug-ins"
    legacy = dest / "adastyle"
    legacy.mkdir(parents=True)
    (legacy / "adastyle.py").write_text("# old plug-in\n")
    (legacy / "notes.txt").write_text("mine\n")
    (legacy / MANIFEST).write_text('{"files": ["%s"], "folders": ["%s"]}' % (legacy / "adastyle.py", legacy))
    r = adastyle("install-plugin", "gimp", "--dest", str(dest), env=env)
    assert r.returncode == 0, r.stderr
    assert not (legacy / "adastyle.py").exists() and not (legacy / MANIFEST).exists()
    assert (legacy / "notes.txt").read_text() == "mine\n"
    assert os.access(dest / "adastyle_gimp" / "adastyle_gimp.py", os.X_OK)

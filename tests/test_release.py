"""The release files: the wheel and sdist carry the weights, examples, plug-ins and page, and the wheel installs in
a fresh venv and stylises with the README's commands; the plug-in zips have the layout each host takes."""
from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import REPO
from PIL import Image

from adastyle.install import write_plugin_archive

PACKAGE_FILES = ("adastyle/weights/decoder.safetensors", "adastyle/weights/vgg19_relu4_1.safetensors",
                 "adastyle/examples/content-grace_hopper.jpg", "adastyle/examples/style-castle.jpg",
                 "adastyle/plugins/gimp/adastyle_gimp/adastyle_gimp.py", "adastyle/plugins/krita/adastyle_krita.desktop",
                 "adastyle/plugins/krita/adastyle_krita/__init__.py", "adastyle_plugin/http.py",
                 "adastyle/web/page.py", "adastyle/server/docs.py")


def readme_block(section: str, index: int = 0) -> list[str]:
    """The command lines of the `index`-th ```bash block of README's `section` (comments dropped)."""
    text = (REPO / "README.md").read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```bash\n(.*?)```", body, re.S)[index]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


@pytest.mark.slow
def test_wheel_and_sdist_carry_everything_and_the_wheel_stylizes_in_a_fresh_venv(tmp_path) -> None:
    dist = tmp_path / "dist"
    # --no-isolation: the test venv's setuptools builds it (an isolated build would download setuptools each run);
    # `python -m build` makes the sdist first and the wheel from it, so the wheel proves the sdist is complete.
    r = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(REPO)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    wheel = next(dist.glob("adastyle-*.whl"))
    sdist = next(dist.glob("adastyle-*.tar.gz"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(PACKAGE_FILES) <= names, set(PACKAGE_FILES) - names
    with tarfile.open(sdist) as tar:
        sdist_names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"README.md", "pyproject.toml", "core/adastyle/weights/decoder.safetensors",
            "plugins/krita/adastyle_krita.desktop", "web/page.py"} <= sdist_names

    # A fresh venv that borrows the test venv's installed dependencies (torch is 2+ GB) through a .pth file,
    # so that nothing is downloaded (--no-index) and only the wheel's own adastyle is new.
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    fresh_site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                     capture_output=True, text=True, check=True).stdout.strip())
    (fresh_site / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # The venv's own setuptools (older than torch asks for) would shadow the borrowed one: the borrowed one serves.
    subprocess.run([str(python), "-m", "pip", "uninstall", "-q", "-y", "setuptools"], capture_output=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=f"{venv / 'bin'}:/usr/bin:/bin", ADASTYLE_HOME=str(tmp_path / "cfg"), HOME=str(tmp_path))
    install = readme_block("Install")
    pip = [line for line in install if line.startswith("pip install") and ".whl" in line]
    assert len(pip) == 1, install
    wheel.rename(tmp_path / wheel.name)  # where a user who downloaded it runs the command
    r = subprocess.run(pip[0] + " --no-index -q", shell=True, capture_output=True, text=True, env=env, cwd=tmp_path,
                       timeout=600)
    assert r.returncode == 0, (pip[0], r.stdout[-2000:] + r.stderr[-2000:])
    where = subprocess.run([str(python), "-c", "import adastyle, adastyle_plugin; print(adastyle.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    package = Path(where.stdout.strip()).parent
    assert fresh_site in package.parents, f"adastyle came from {package}, not from the installed wheel"

    for line in install:
        if line.startswith("adastyle "):
            r = subprocess.run(line, shell=True, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
            assert r.returncode == 0, (line, r.stderr[-2000:])
    # The Run section's first command; its example paths are the checkout's, in the package they are here:
    run = readme_block("Run")[0].replace("core/adastyle/examples/", f"{package / 'examples'}/")
    assert run.startswith("adastyle stylize") and run.endswith("-o out.png"), run
    r = subprocess.run(run, shell=True, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    with Image.open(tmp_path / "out.png") as out, Image.open(package / "examples" / "content-grace_hopper.jpg") as c:
        assert out.size == c.size


def test_krita_zip_has_the_layout_kritas_importer_takes(tmp_path) -> None:
    """Krita's Tools > Scripts > Import Python Plugin from File... (plugin_importer.py) reads each .desktop file's
    X-KDE-Library, looks for a zip entry for the folder of that name with __init__.py in it, and copies that folder
    and the .desktop file only: so the toolkit must be inside the folder, and the folder needs its own entry."""
    path = write_plugin_archive("krita", tmp_path / "krita.zip")
    names = zipfile.ZipFile(path).namelist()
    desktops = [n for n in names if n.endswith(".desktop")]
    assert desktops == ["adastyle_krita.desktop"]
    entry = configparser.ConfigParser()
    entry.read_string(zipfile.ZipFile(path).read(desktops[0]).decode())
    library = entry["Desktop Entry"]["X-KDE-Library"]
    assert entry["Desktop Entry"]["Name"]
    assert f"{library}/" in names and f"{library}/__init__.py" in names
    assert f"{library}/adastyle_plugin/http.py" in names, "the toolkit must travel inside the plug-in's folder"
    outside = [n for n in names if not n.startswith(f"{library}/") and n != desktops[0]]
    assert outside == [], f"the importer would leave these out: {outside}"

    # Unpacked as the importer does it (the folder and the .desktop into pykrita), the package imports its toolkit.
    pykrita = tmp_path / "pykrita"
    zipfile.ZipFile(path).extractall(pykrita)
    code = (f"import sys; sys.path.insert(0, {str(pykrita)!r}); import types; "
            "sys.modules['krita'] = types.ModuleType('krita'); "
            "import importlib.util as u; spec = u.spec_from_file_location('k', "
            f"{str(pykrita / library / '__init__.py')!r}); "
            "exec(compile(open(spec.origin).read().split('from krita import')[0], spec.origin, 'exec'), "
            "{'__file__': spec.origin}); import adastyle_plugin.http as h; print(h.__file__)")
    r = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(pykrita / library / "adastyle_plugin" / "http.py")


def test_gimp_zip_unpacks_into_the_plug_ins_folder_ready_to_run(tmp_path) -> None:
    path = write_plugin_archive("gimp", tmp_path / "gimp.zip")
    archive = zipfile.ZipFile(path)
    names = archive.namelist()
    assert {"adastyle_gimp/", "adastyle_gimp/adastyle_gimp.py", "adastyle_gimp/gimp_rules.py",
            "adastyle_gimp/adastyle_plugin/http.py"} <= set(names)
    assert all(n.startswith("adastyle_gimp/") for n in names)
    assert (archive.getinfo("adastyle_gimp/adastyle_gimp.py").external_attr >> 16) & 0o111, "GIMP runs executable plug-ins only"
    plug_ins = tmp_path / "plug-ins"
    r = subprocess.run(["unzip", "-q", str(path), "-d", str(plug_ins)], capture_output=True, text=True)
    if r.returncode == 127:
        pytest.skip("no unzip here")
    assert os.access(plug_ins / "adastyle_gimp" / "adastyle_gimp.py", os.X_OK)


def test_release_builder_writes_both_plugin_zips(tmp_path) -> None:
    r = subprocess.run([sys.executable, str(REPO / "tools" / "build_release.py"), "--plugins", "--dist", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    from adastyle import __version__

    for app in ("krita", "gimp"):
        assert (tmp_path / f"adastyle-{app}-plugin-{__version__}.zip").is_file()
        assert f"adastyle-{app}-plugin-{__version__}.zip" in r.stdout

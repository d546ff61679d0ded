"""The library on disk and on the command line: `--style lib:NAME` (stylize and batch) gives what the style's file
gives, a preset brings its styles, weights and settings, `adastyle library` lists it; damaged files are skipped."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLES
from PIL import Image

from adastyle.library import Library, LibraryError
from adastyle.library.store import STARTER


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """A config folder whose library holds two added styles and a preset of them."""
    home = tmp_path_factory.mktemp("cli-home")
    lib = Library(home / "library")
    lib.add_style(Image.open(EXAMPLES / "style-castle.jpg"), "Castle", "painting")
    lib.add_style(Image.open(EXAMPLES / "style-goldfish.jpg"), "Gold fish", "painting")
    ids = {e.name: e.id for e in lib.entries()}
    lib.add_preset("Fishy castle", [{"id": ids["Castle"], "weight": 1}, {"id": ids["Gold fish"], "weight": 3}],
                   alpha=0.6, scale=0.5)
    return home


@pytest.fixture(scope="module")
def content(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("content") / "c.png"
    Image.open(EXAMPLES / "content-coffee.jpg").convert("RGB").resize((128, 96)).save(path)
    return path


def adastyle(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "adastyle.cli", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "ADASTYLE_HOME": str(home)})


def pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def stored(home: Path, name: str) -> str:
    lib = Library(home / "library")
    return str(lib.style_path(lib.find(name)))


def test_stylize_with_a_library_style_is_stylize_with_its_file(home, content, tmp_path) -> None:
    by_name, by_file = tmp_path / "name.png", tmp_path / "file.png"
    r = adastyle(home, "stylize", str(content), "--style", "lib:castle", "--alpha", "0.8", "-o", str(by_name))
    assert r.returncode == 0, r.stderr
    r = adastyle(home, "stylize", str(content), "--style", stored(home, "Castle"), "--alpha", "0.8", "-o", str(by_file))
    assert r.returncode == 0, r.stderr
    assert np.array_equal(pixels(by_name), pixels(by_file))


def test_a_preset_brings_its_styles_weights_and_settings(home, content, tmp_path) -> None:
    by_preset, by_hand = tmp_path / "preset.png", tmp_path / "hand.png"
    r = adastyle(home, "stylize", str(content), "--style", "lib:Fishy castle", "-o", str(by_preset))
    assert r.returncode == 0, r.stderr
    r = adastyle(home, "stylize", str(content), "-s", stored(home, "Castle"), "-s", stored(home, "Gold fish"),
                 "--weights", "0.25,0.75", "--alpha", "0.6", "--scale", "0.5", "-o", str(by_hand))
    assert r.returncode == 0, r.stderr
    assert np.array_equal(pixels(by_preset), pixels(by_hand))


def test_batch_takes_library_styles(home, content, tmp_path) -> None:
    r = adastyle(home, "batch", str(content), "-o", str(tmp_path / "lib"), "--style", "lib:Gold fish", "--no-progress")
    assert r.returncode == 0, r.stderr
    r = adastyle(home, "batch", str(content), "-o", str(tmp_path / "file"), "--style", stored(home, "Gold fish"),
                 "--no-progress")
    assert r.returncode == 0, r.stderr
    assert np.array_equal(pixels(tmp_path / "lib" / "c.png"), pixels(tmp_path / "file" / "c.png"))


@pytest.mark.parametrize("styles, needle", [
    (["lib:No such thing"], "no library style or preset named 'No such thing'"),
    (["lib:Fishy castle", "lib:Castle"], "a preset brings its own styles"),
])
def test_bad_library_references_give_one_line(home, content, tmp_path, styles, needle) -> None:
    args = [a for s in styles for a in ("--style", s)]
    r = adastyle(home, "stylize", str(content), *args, "-o", str(tmp_path / "o.png"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("adastyle: error:") and needle in lines[0], r.stderr


def test_library_command_lists_bundled_and_added(home) -> None:
    r = adastyle(home, "library")
    assert r.returncode == 0, r.stderr
    bundled = json.loads((STARTER / "manifest.json").read_text())["styles"]
    for name in ("Castle", "Gold fish", "Fishy castle", bundled[0]["name"]):
        assert name in r.stdout
    assert f"{len(bundled) + 3} entries" in r.stdout


def test_every_bundled_style_is_small_credited_and_readable() -> None:
    lib = Library(Path("/nonexistent-adastyle-library"))
    bundled = [e for e in lib.entries() if e.bundled]
    assert len(bundled) >= 30 and not lib.skipped
    assert sum(e.bytes for e in bundled) < 3_500_000
    for e in bundled:
        image = lib.style_image(e)
        assert max(image.size) <= 512 and image.size == (e.width, e.height), e.id
        assert e.licence and e.source and e.tags, e.id


def test_damaged_and_foreign_files_are_skipped_not_fatal(tmp_path, caplog) -> None:
    lib = Library(tmp_path / "library", starter=None)
    keep = lib.add_style(Image.new("RGB", (64, 64), "teal"), "Keep")
    folder = tmp_path / "library"
    (folder / "aaaaaaaaaaaa.json").write_text('{"id": "aaaaaaaaaaaa", "kind": "style", "name": "No image", '
                                              '"file": "aaaaaaaaaaaa.jpg", "width": 1, "height": 1, "bytes": 1}')
    (folder / "bbbbbbbbbbbb.json").write_text("[1, 2")
    (folder / "cccccccccccc.json").write_text(json.dumps({**json.loads((folder / f"{keep.id}.json").read_text()),
                                                          "id": "cccccccccccc", "name": "Twin", "file": "../token.jpg"}))
    (folder / "zzzzzzzzzzzz.json").write_text(json.dumps({**json.loads((folder / f"{keep.id}.json").read_text()),
                                                          "id": "zzzzzzzzzzzz"}))  # the same name again
    (folder / "eeeeeeeeeeee.json").symlink_to(folder / f"{keep.id}.json")
    again = Library(folder, starter=None)
    assert [e.name for e in again.entries()] == ["Keep"]
    skipped = "\n".join(again.skipped)
    for name in ("aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc", "zzzzzzzzzzzz", "eeeeeeeeeeee"):
        assert f"skipped {name}.json" in skipped, name
    assert "symbolic link" in skipped


def test_bundled_styles_are_never_written(tmp_path) -> None:
    lib = Library(tmp_path / "library")
    first = next(e for e in lib.entries() if e.bundled)
    before = (STARTER / first.file).read_bytes()
    lib.update(first.id, name="Mine now", favourite=True)
    lib.delete(first.id)
    assert (STARTER / first.file).read_bytes() == before
    again = Library(tmp_path / "library")
    assert first.id not in {e.id for e in again.entries()}
    with pytest.raises(LibraryError):
        again.get(first.id)

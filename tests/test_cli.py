"""The command line: produces images, fails with one line (no traceback) on bad input."""
from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import EXAMPLES
from PIL import Image


def adastyle(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "adastyle.cli", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_stylize_writes_an_image_of_the_content_size(tmp_path) -> None:
    out = tmp_path / "out.png"
    r = adastyle("stylize", str(EXAMPLES / "content-rocket.jpg"), "--style", str(EXAMPLES / "style-swamp.jpg"),
                 "--alpha", "0.8", "-o", str(out))
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im, Image.open(EXAMPLES / "content-rocket.jpg") as c:
        assert im.size == c.size


def test_stylize_several_contents_into_a_folder(tmp_path) -> None:
    r = adastyle("stylize", str(EXAMPLES / "content-rocket.jpg"), str(EXAMPLES / "content-coffee.jpg"),
                 "-s", str(EXAMPLES / "style-swamp.jpg"), "-s", str(EXAMPLES / "style-castle.jpg"),
                 "--weights", "0.3,0.7", "--scale", "0.5", "-o", str(tmp_path / "outdir"))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (tmp_path / "outdir").iterdir()) == ["content-coffee.png", "content-rocket.png"]


@pytest.mark.parametrize("kind", ["missing", "directory", "empty", "corrupt", "truncated"])
def test_bad_content_gives_one_line_error(tmp_path, kind: str) -> None:
    bad = tmp_path / "bad.png"
    if kind == "directory":
        bad = tmp_path
    elif kind == "empty":
        bad.write_bytes(b"")
    elif kind == "corrupt":
        bad.write_bytes(b"this is not an image at all")
    elif kind == "truncated":
        data = (EXAMPLES / "content-coffee.jpg").read_bytes()
        bad = tmp_path / "bad.jpg"
        bad.write_bytes(data[: len(data) // 3])
    r = adastyle("stylize", str(bad), "--style", str(EXAMPLES / "style-swamp.jpg"), "-o", str(tmp_path / "o.png"))
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("adastyle: error:"), r.stderr
    assert "Traceback" not in r.stderr
    assert str(bad) in lines[0]


@pytest.mark.parametrize("args,needle", [
    (["--alpha", "1.5"], "alpha"),
    (["--weights", "1,2,3"], "weights"),
    (["--scale", "0"], "scale"),
])
def test_bad_parameters_give_one_line_error(tmp_path, args: list[str], needle: str) -> None:
    r = adastyle("stylize", str(EXAMPLES / "content-rocket.jpg"), "--style", str(EXAMPLES / "style-swamp.jpg"),
                 *args, "-o", str(tmp_path / "o.png"))
    assert r.returncode == 2
    assert needle in r.stderr and "Traceback" not in r.stderr

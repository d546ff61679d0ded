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


def one_line_error(r: subprocess.CompletedProcess) -> str:
    """The CLI's contract for bad input: exit 2, exactly one line on stderr, no traceback."""
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr and "error:" in lines[0]
    return lines[0]


@pytest.mark.parametrize("args,needles", [
    (["--device", "foo"], ["unknown device", "foo"]),
    (["--weights", "-1,2"], ["--weights", "-1,2"]),
    (["--weights", "1"], ["1 weight for 2 styles"]),
    (["--style-size", "-5"], ["--style-size", "-5"]),
    (["--tile", "-1"], ["--tile"]),
    (["--alpha", "abc"], ["--alpha", "abc"]),
    (["--scale", "-0.5"], ["--scale"]),
    (["--preserve-color", "sepia"], ["--preserve-color", "sepia"]),
    (["--no-such-option"], ["--no-such-option"]),
])
def test_cli_errors_are_one_line_with_exit_2(tmp_path, args: list[str], needles: list[str]) -> None:
    r = adastyle("stylize", str(EXAMPLES / "content-rocket.jpg"), "-s", str(EXAMPLES / "style-swamp.jpg"),
                 "-s", str(EXAMPLES / "style-castle.jpg"), *args, "-o", str(tmp_path / "o.png"))
    line = one_line_error(r)
    for needle in needles:
        assert needle in line, line
    assert not (tmp_path / "o.png").exists()


def test_device_cuda_without_cuda_is_one_line(tmp_path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = adastyle("stylize", str(EXAMPLES / "content-rocket.jpg"), "-s", str(EXAMPLES / "style-swamp.jpg"),
                 "--device", "cuda", "-o", str(tmp_path / "o.png"))
    line = one_line_error(r)
    assert "CUDA is not available" in line and "--device cpu" in line


def test_missing_arguments_are_one_line() -> None:
    one_line_error(adastyle("stylize"))
    one_line_error(adastyle())
    one_line_error(adastyle("train", "--steps", "0"))


def test_eval_without_a_folder_explains_what_to_pass() -> None:
    line = one_line_error(adastyle("eval"))
    assert "content/ and style/" in line and "adastyle eval" in line


def test_progress_with_several_files_has_no_rate_unit_or_escape_codes(tmp_path) -> None:
    small = []
    for name in ("content-rocket.jpg", "content-coffee.jpg"):
        with Image.open(EXAMPLES / name) as im:
            im.convert("RGB").resize((96, 64)).save(tmp_path / name)
        small.append(str(tmp_path / name))
    r = adastyle("stylize", *small, "-s", str(EXAMPLES / "style-swamp.jpg"), "--style-size", "64",
                 "-o", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stderr and "%/s" not in r.stderr, repr(r.stderr)
    assert "[2/2] content-coffee.jpg" in r.stderr and "100%" in r.stderr
    assert r.stdout.split() == [str(tmp_path / "out" / "content-rocket.png"), str(tmp_path / "out" / "content-coffee.png")]


@pytest.mark.parametrize("command", ["stylize", "doctor", "eval", "train", "convert-vgg", "stop", "status",
                                     "install-plugin", "uninstall-plugin"])
def test_every_command_has_help_with_descriptions_and_defaults(command: str) -> None:
    from adastyle.cli import build_parser
    from adastyle.cli_args import HelpFormatter

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    assert sub.description, f"{command} has no description"
    assert sub.formatter_class is HelpFormatter
    formatter = HelpFormatter(sub.prog)
    for action in sub._actions:
        if action.dest == "help":
            continue
        assert action.help, f"{command} {action.option_strings or action.dest} has no help text"
        if action.option_strings and action.default not in (None, False):
            assert "(default:" in formatter._get_help_string(action), f"{command} {action.option_strings}"
    assert "Traceback" not in sub.format_help()


def test_train_help_explains_its_actions() -> None:
    r = adastyle("train", "--help")
    assert r.returncode == 0
    for action in ("run", "data", "pack", "export"):
        assert f"\n  {action} " in r.stdout, r.stdout

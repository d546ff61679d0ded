"""The command line: produces images, fails with one line (no traceback) on bad input."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EXAMPLES, REPO
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


@pytest.mark.parametrize("case", ["not weights", "missing", "the encoder"])
def test_eval_with_a_wrong_decoder_file_is_one_line(tmp_path, case: str) -> None:
    """A decoder file that is not one (not safetensors, absent, or another network's weights) is the user's to fix:
    one line naming the file, no safetensors or torch traceback."""
    for sub in ("content", "style"):
        (tmp_path / "set" / sub).mkdir(parents=True)
    bad = {"not weights": tmp_path / "bad.file", "missing": tmp_path / "none.safetensors",
           "the encoder": REPO / "core" / "adastyle" / "weights" / "vgg19_relu4_1.safetensors"}[case]
    if case == "not weights":
        bad.write_bytes(b"this is not a decoder" * 10)
    line = one_line_error(adastyle("eval", str(tmp_path / "set"), "--decoder", str(bad)))
    assert str(bad) in line and "decoder" in line, line
    if case == "the encoder":
        assert "not an AdaStyle decoder" in line, line


def test_train_pack_mistakes_are_one_line(tmp_path) -> None:
    """No training set there, or a budget it cannot fit: our words, one line each."""
    line = one_line_error(adastyle("train", "pack", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "p")))
    assert "not a training set" in line and "adastyle train data" in line
    data = tmp_path / "data"
    for role in ("content", "style"):
        (data / role).mkdir(parents=True)
        Image.open(EXAMPLES / "content-coffee.jpg").convert("RGB").save(data / role / "a.jpg")
    (data / "manifest.csv").write_text("file,licence\n")
    line = one_line_error(adastyle("train", "pack", "--data", str(data), "--out", str(tmp_path / "p"),
                                   "--budget-mb", "0.001"))
    assert "over the budget of 0.001 MB" in line and "--budget-mb" in line


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


COMMANDS = ["stylize", "batch", "doctor", "eval", "train", "convert-vgg", "serve", "stop", "status", "open", "web",
            "install-plugin", "uninstall-plugin"]


@pytest.mark.parametrize("command", COMMANDS)
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


def _subparser(command: str):
    from adastyle.cli import build_parser

    parser = build_parser()
    return next(a for a in parser._actions if a.dest == "command").choices[command]


@pytest.mark.parametrize("command", ["serve", "web"])
def test_serve_and_web_flags_are_the_settings_fields(command: str) -> None:
    from dataclasses import fields

    from adastyle.cli_server import settings_argv, settings_from
    from adastyle.settings import Settings, default_for, flag_fields

    sub = _subparser(command)
    options = {a.dest: a for a in sub._actions if a.option_strings and a.dest not in ("help", "background")}
    expected = flag_fields(command)
    assert set(options) == {f.name for f in expected}, "every flag is a setting and every setting of the command a flag"
    for f in expected:
        action = options[f.name]
        assert action.option_strings == ["--" + f.name.replace("_", "-")]
        assert action.default == default_for(f, command) and action.help == f.metadata["help"]
    # every setting is a flag of some command; the defaults are Settings' own
    assert {f.name for f in fields(Settings)} == {f.name for c in ("serve", "web") for f in flag_fields(c)}
    assert settings_from(sub.parse_args([]), command) == Settings(
        **{f.name: default_for(f, command) for f in expected})
    # the flags that start a background server give back the same settings
    changed = settings_from(sub.parse_args(["--max-queue", "3", "--result-ttl", "90", "--page-max-upload", "1000"]),
                            command)
    assert changed.max_queue == 3 and changed.result_ttl == 90.0 and changed.page_max_upload == 1000
    assert settings_from(sub.parse_args(settings_argv(changed, command)), command) == changed


def test_web_listens_on_its_own_port_and_serve_on_the_plugins_one() -> None:
    from adastyle.settings import WEB_PORT
    from adastyle_plugin.config import DEFAULT_PORT

    assert _subparser("serve").parse_args([]).port == DEFAULT_PORT == 8765
    assert _subparser("web").parse_args([]).port == WEB_PORT != DEFAULT_PORT


def test_a_new_setting_is_a_new_flag(monkeypatch) -> None:
    """Adding a field to Settings adds the flag, with its type, range, default and help: no other code."""
    from dataclasses import dataclass

    import adastyle.cli_server as cli_server
    import adastyle.settings as settings_module
    from adastyle.settings import SERVE, Settings, setting

    @dataclass(frozen=True)
    class More(Settings):
        tea_breaks: int = setting(3, "tea breaks per hour", commands=(SERVE,), minimum=0, maximum=6)

    monkeypatch.setattr(settings_module, "Settings", More)
    monkeypatch.setattr(cli_server, "Settings", More)
    sub = _subparser("serve")
    assert sub.parse_args([]).tea_breaks == 3 and sub.parse_args(["--tea-breaks", "0"]).tea_breaks == 0
    assert "tea breaks per hour (default: 3)" in " ".join(sub.format_help().split())
    with pytest.raises(SystemExit):
        sub.parse_args(["--tea-breaks", "7"])


@pytest.mark.parametrize("args,needle", [
    (["serve", "--max-queue", "0"], "--max-queue"),
    (["serve", "--port", "70000"], "--port"),
    (["serve", "--result-ttl", "soon"], "--result-ttl"),
    (["web", "--page-max-upload", "-1"], "--page-max-upload"),
    (["web", "--host", "0.0.0.0"], "--host"),  # the page alone is local only: no such flag
])
def test_bad_settings_flags_are_one_line(args: list[str], needle: str) -> None:
    assert needle in one_line_error(adastyle(*args))


def test_serve_on_a_busy_port_says_so_in_one_line_in_the_background_too(tmp_path) -> None:
    """Foreground (tests/test_client.py) and background starts give the one message for a taken port."""
    import os
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        r = adastyle("serve", "--background", "--port", str(port), env={**os.environ, "ADASTYLE_HOME": str(tmp_path)})
    line = one_line_error(r)
    assert f"port {port} on 127.0.0.1 is already in use" in line and "adastyle status" in line, line
    assert not (tmp_path / "server.pid").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_help_states_each_default_once(command: str) -> None:
    """No "(default 2) (default: 2.0)": a help text that speaks of its default gets no second one, and 0 is a
    default that is shown."""
    r = adastyle(command, "--help")
    assert r.returncode == 0, r.stderr
    from adastyle.cli import build_parser
    from adastyle.cli_args import HelpFormatter

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices[command]
    formatter = HelpFormatter(sub.prog)
    for action in sub._actions:
        text = (formatter._get_help_string(action) if action.help else "").replace("%(default)s", str(action.default))
        if "default" in (action.help or ""):
            assert text == action.help, f"{command} {action.option_strings}: a second default added: {text}"
        assert text.count("(default:") <= 1, f"{command} {action.option_strings}: {text}"
        if action.option_strings and action.default == 0 and action.default is not False:
            assert "(default: " in text or "default" in text, f"{command} {action.option_strings}: {text}"


def test_help_gives_scale_range_tile_default_and_the_eval_folder() -> None:
    out = " ".join(adastyle("stylize", "--help").stdout.split())
    assert "--scale SCALE stroke scale, 0.05 to 4" in out, out
    assert "tile side in pixels for large images, 128 to 8192 (0 = chosen from free memory) (default: 0)" in out, out
    stability = " ".join(adastyle("batch", "--help").stdout.split())
    assert "(0 = frame by frame) (default: 2.0)" in stability and "default 2)" not in stability
    assert "evaluation set (required, there is none built in)" in " ".join(adastyle("eval", "--help").stdout.split())


def no_torch(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The CLI in a Python where importing torch fails: what it reports then was checked before the model loads."""
    code = ("import sys; sys.modules['torch'] = None; from adastyle.cli import main; "
            f"sys.exit(main({list(args)!r}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.mark.parametrize("flag,value,needle", [
    ("--stability", "101", "--stability must be between 0 (frame by frame) and 100 frames, got 101.0"),
    ("--stability", "-1", "--stability must be between 0"),
    ("--coherence", "1.5", "--coherence must be between 0 (frame by frame) and 1, got 1.5"),
    ("--coherence-features", "-0.5", "--coherence-features (feature coherence) must be between 0 (off) and 1, got -0.5"),
])
def test_batch_checks_the_sequence_options_before_torch(tmp_path, flag: str, value: str, needle: str) -> None:
    """The one rule of stability and coherence (request.check_sequence), in the flag's name, before the model loads."""
    r = no_torch("batch", str(EXAMPLES / "content-rocket.jpg"), "-s", str(EXAMPLES / "style-swamp.jpg"),
                 "-o", str(tmp_path / "out"), flag, value)
    assert needle in one_line_error(r)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["missing content", "missing style", "unknown output format", "no extension",
                                  "scale out of range", "weights for another number of styles", "mask with 3 styles",
                                  "output is the content"])
def test_every_check_runs_before_torch_and_the_model_load(tmp_path, case: str) -> None:
    content, style = str(EXAMPLES / "content-rocket.jpg"), str(EXAMPLES / "style-swamp.jpg")
    args, needle = {
        "missing content": ([str(tmp_path / "nope.jpg"), "-s", style, "-o", str(tmp_path / "o.png")], "no such file"),
        "missing style": ([content, "-s", str(tmp_path / "nope.jpg"), "-o", str(tmp_path / "o.png")], "no such file"),
        "unknown output format": ([content, "-s", style, "-o", str(tmp_path / "x.xyz")], "unknown output format '.xyz'"),
        "no extension": ([content, "-s", style, "-o", str(tmp_path / "x")], "unknown output format"),
        "scale out of range": ([content, "-s", style, "--scale", "9", "-o", str(tmp_path / "o.png")],
                               "scale must be between 0.05 and 4"),
        "weights for another number of styles": ([content, "-s", style, "--weights", "1,2", "-o",
                                                  str(tmp_path / "o.png")], "2 weights for 1 style"),
        "mask with 3 styles": ([content, "-s", style, "-s", style, "-s", style, "--mask", content, "-o",
                                str(tmp_path / "o.png")], "with a mask, give one style"),
        "output is the content": ([content, "-s", style, "-o", content], "refusing to write over it"),
    }[case]
    r = no_torch("stylize", *args)
    assert r.returncode == 2, (r.stdout, r.stderr[-2000:])
    assert needle in one_line_error(r)
    assert not (tmp_path / "x.xyz").exists()


def test_output_equal_to_an_input_is_refused_also_through_links(tmp_path) -> None:
    import os
    import shutil

    content = tmp_path / "photo.jpg"
    shutil.copy(EXAMPLES / "content-rocket.jpg", content)
    style = tmp_path / "style.jpg"
    shutil.copy(EXAMPLES / "style-swamp.jpg", style)
    before = content.read_bytes()
    (tmp_path / "link.jpg").symlink_to(content)
    os.link(content, tmp_path / "hard.jpg")
    (tmp_path / "sub").mkdir()
    for target in (content, tmp_path / "link.jpg", tmp_path / "hard.jpg", tmp_path / "sub" / ".." / "photo.jpg",
                   style):
        line = one_line_error(no_torch("stylize", str(content), "-s", str(style), "-o", str(target)))
        assert "refusing to write over it" in line and "--overwrite" in line, line
    # several contents into a folder: NAME.png there may be one of the inputs too
    png = tmp_path / "photo.png"
    Image.open(content).save(png)
    line = one_line_error(no_torch("stylize", str(png), str(content), "-s", str(style), "-o", str(tmp_path)))
    assert f"{png} is the input {png}" in line, line
    assert content.read_bytes() == before

    small = tmp_path / "small.png"
    Image.open(content).convert("RGB").resize((64, 48)).save(small)
    r = adastyle("stylize", str(small), "-s", str(style), "--style-size", "64", "-o", str(small), "--overwrite")
    assert r.returncode == 0, r.stderr
    assert Image.open(small).size == (64, 48)


def test_a_pipe_closed_early_ends_quietly(tmp_path) -> None:
    """`adastyle status | head -0`: the reader is gone before anything is written; no BrokenPipeError."""
    import os

    env = {**os.environ, "ADASTYLE_HOME": str(tmp_path / "cfg")}
    for args in (["status"], ["--help"], ["doctor"]):
        read, write = os.pipe()
        os.close(read)
        r = subprocess.run([sys.executable, "-m", "adastyle.cli", *args], stdout=write, stderr=subprocess.PIPE,
                           text=True, timeout=120, env=env)
        os.close(write)
        assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, (args, r.stderr)
        assert r.returncode in (0, 1), (args, r.returncode)
    r = subprocess.run(f"{sys.executable} -m adastyle.cli --help | head -1", shell=True, capture_output=True,
                       text=True, timeout=120)
    assert r.stdout.startswith("usage: adastyle") and "Traceback" not in r.stderr


def test_gitignore_covers_the_readme_run_output() -> None:
    r = subprocess.run(["git", "check-ignore", "-q", "out.png"], cwd=REPO)
    assert r.returncode == 0, "out.png (written by the README's Run command) is not ignored"

"""The GIMP plug-in inside REAL GIMP 3.0.4 (Debian trixie chroot), talking to the real AdaStyle server.

Why a chroot: the host (bookworm) only has GIMP 2.10 without Python 3; tests/realapp/chroot.sh builds and
caches a trixie root with GIMP 3 (the recipe is that script). The chroot shares the host's
network, so the plug-in reaches a server started here on 127.0.0.1.

Two GIMP sessions:
  1. gimp-console-3.0 batch (tests/realapp/gimp/batch_stylize.py): the procedure, non-interactive, with each
     preserve-color mode, two styles + weights on a feathered selection, a layer with offsets, a library
     style by id and by name, a grey image without selection, and twice with the server down; the script
     records and pytest checks.
  2. GIMP's GUI under Xvfb (tests/realapp/gimp/batch_gui.py): undo cannot be driven through the PDB (there
     is no undo procedure, only undo groups), so a real Ctrl+Z / Ctrl+Y goes to the image window with
     xdotool; the interactive dialog is accepted with Return and the progress window's Cancel is tested.

A third session (tests/realapp/gimp/batch_layers.py) runs "Stylise all layers" on a 3-layer image (layers
as frames) and once with the server down; pytest compares the new layers with the server's own stabilised
sequence of the same frames.

Each session starts GIMP once for the module (a module-scoped fixture; the GUI session follows the console
one in the same profile); each scenario is a test of its own over the session's records, so one failure
hides no other.

Not root, or no debootstrap/chroot: skipped, except in CI (CI=true), where it fails.
Images written to test-artifacts/gimp/.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from realapp_common import build_chroot, chroot_run, real_server, unavailable
from server_fixture import free_port

pytestmark = [pytest.mark.realapp, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
EVAL_DEV = REPO / "eval" / "sets" / "eval-dev"
SCRIPTS = Path(__file__).resolve().parent / "gimp"
ARTIFACTS = REPO / "test-artifacts" / "gimp"
HOME_IN = "/home/artist"
TEST_DIR_IN = f"{HOME_IN}/adastyle-test"
PLUGIN_DIR_IN = f"{HOME_IN}/.config/GIMP/3.0/plug-ins/adastyle_gimp"
ARTIST = "4242:4242"
STYLES = ("castle.jpg", "autumn.jpg")
STARTER = json.loads((REPO / "core" / "adastyle" / "library" / "starter" / "manifest.json").read_text())["styles"][0]


def _gimp_runs(root: Path) -> str | None:
    probe = chroot_run(["gimp-console-3.0", "--version"], timeout=120)
    if probe.returncode != 0 or "3.0" not in probe.stdout:
        return f"GIMP 3 does not run in the chroot: {probe.stdout[-300:]} {probe.stderr[-500:]}"
    return None


# ---- fixtures ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chroot_root() -> Path:
    """The cached trixie root with GIMP 3."""
    return build_chroot("GIMP", _gimp_runs)


@pytest.fixture(scope="module")
def server() -> Iterator[dict[str, str]]:
    """The real server on a free port with its own config folder: url, token, home."""
    yield from real_server("adastyle-gimp-home-")


# ---- setup inside the chroot ------------------------------------------------------------------------------
def install_plugin(root: Path, server: dict[str, str]) -> None:
    """`adastyle install-plugin gimp` into the artist's GIMP profile (fresh, so the run is reproducible)."""
    shutil.rmtree(root / HOME_IN.lstrip("/") / ".config" / "GIMP", ignore_errors=True)
    dest = root / PLUGIN_DIR_IN.lstrip("/")
    out = subprocess.run([sys.executable, "-m", "adastyle.cli", "install-plugin", "gimp", "--dest", str(dest.parent),
                          "--server-url", server["url"]], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "ADASTYLE_HOME": server["home"]}, check=False)
    assert out.returncode == 0, out.stderr
    assert (dest / "adastyle_gimp.py").stat().st_mode & 0o111, "the plug-in must be executable or GIMP ignores it"
    gimprc = root / HOME_IN.lstrip("/") / ".config" / "GIMP" / "3.0" / "gimprc"
    gimprc.write_text("(show-welcome-dialog no)\n")  # the GUI session must not open a welcome window
    subprocess.run(["chown", "-R", ARTIST, str(root / HOME_IN.lstrip("/") / ".config")], check=True)


def stage_test_dir(root: Path, cases: list[dict[str, Any]], **job: Any) -> Path:
    """Images, batch scripts and job.json (cases, plus `job`'s keys) in the artist's home; returns the host
    path of that folder."""
    test_dir = root / TEST_DIR_IN.lstrip("/")
    shutil.rmtree(test_dir, ignore_errors=True)
    (test_dir / "out").mkdir(parents=True)
    (test_dir / "in").mkdir()
    (test_dir / "in" / "style").mkdir()
    for image in sorted((EVAL_DEV / "content").glob("*.jpg")):
        shutil.copy(image, test_dir / "in" / image.name)
    for image in sorted((EVAL_DEV / "style").glob("*.jpg")):
        shutil.copy(image, test_dir / "in" / "style" / image.name)
    for script in SCRIPTS.glob("*.py"):
        shutil.copy(script, test_dir / script.name)
    (test_dir / "job.json").write_text(json.dumps({"plugin_dir": PLUGIN_DIR_IN, "cases": cases, **job}, indent=1))
    subprocess.run(["chown", "-R", ARTIST, str(test_dir)], check=True)
    return test_dir


def style_paths(*names: str) -> str:
    return os.pathsep.join(f"{TEST_DIR_IN}/in/style/{n}" for n in names)


def batch_cases(closed_port: int) -> list[dict[str, Any]]:
    """Scenarios for the console session (see batch_stylize.py)."""
    one = {"style_path": style_paths(STYLES[0]), "use_selection": True}
    down = {**one, "server_url": f"http://127.0.0.1:{closed_port}"}
    return [
        {"name": "china-none", "content": "china.jpg", "select": [150, 120, 220, 160],
         "props": {**one, "preserve_color": "none"}},
        {"name": "china-histogram", "content": "china.jpg", "select": [150, 120, 220, 160],
         "props": {**one, "preserve_color": "histogram"}},
        {"name": "china-luminance-offset", "content": "china.jpg", "select": [150, 120, 220, 160],
         "offset": [40, -30], "props": {**one, "preserve_color": "luminance", "alpha": 0.8}},
        {"name": "astronaut-two-styles", "content": "astronaut.jpg", "select": [100, 60, 260, 300], "feather": 24.0,
         "props": {"style_path": style_paths(*STYLES), "weights": "0.3,0.7", "use_selection": True}},
        {"name": "china-style-layer", "content": "china.jpg", "select": [150, 120, 220, 160],
         "style_layer_image": "style/autumn.jpg", "props": {"style_path": "", "use_selection": True}},
        {"name": "china-library-id", "content": "china.jpg", "select": [150, 120, 220, 160],
         "props": {"style_path": "", "library": STARTER["id"], "use_selection": True}},
        {"name": "china-library-name", "content": "china.jpg", "select": [150, 120, 220, 160],
         "props": {"style_path": "", "library": STARTER["name"].upper(), "use_selection": True}},
        {"name": "china-library-unknown", "content": "china.jpg", "select": [150, 120, 220, 160],
         "props": {"style_path": "", "library": "no such style", "use_selection": True}},
        {"name": "grace-hopper-gray-whole", "content": "grace_hopper.jpg", "select": [10, 10, 50, 50], "gray": True,
         "props": {**one, "use_selection": False, "scale": 0.75}},
        {"name": "down-no-command", "content": "coffee.jpg", "down": True, "props": down},
        {"name": "down-command-fails", "content": "coffee.jpg", "down": True,
         "server_command": ["/bin/sh", "-c", "exit 3"], "props": down},
    ]


def run_gimp(args: list[str], server: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    env = {"ADASTYLE_URL": server["url"], "ADASTYLE_TOKEN": server["token"], "ADASTYLE_TEST_DIR": TEST_DIR_IN}
    try:
        return chroot_run(["timeout", str(timeout), *args], env=env, timeout=timeout + 30)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"GIMP hung past {timeout} s: {exc}")


def batch_args(script: str) -> list[str]:
    return ["-i", "-n", "--batch-interpreter=python-fu-eval",
            "-b", f'exec(open("{TEST_DIR_IN}/{script}").read())', "--quit"]


# ---- checks ---------------------------------------------------------------------------------------------
def check_styled(rec: dict[str, Any]) -> None:
    """A successful run: one new layer directly above, source untouched, change only inside the selection."""
    name = rec["name"]
    assert rec["status"] == "success", f"{name}: {rec['status']}: {rec['message']}"
    assert len(rec["layers_after"]) == len(rec["layers_before"]) + 1, f"{name}: {rec['layers_after']}"
    assert rec["new_directly_above"], f"{name}: new layer not directly above the source: {rec['layers_after']}"
    assert "(AdaIN)" in rec["new_name"], rec["new_name"]
    assert rec["source_unchanged"], f"{name}: the source layer's pixels changed"
    cmp = rec["cmp"]
    assert cmp["full"] > 0 and cmp["full_changed"] / cmp["full"] > 0.5, f"{name}: too little changed: {cmp}"
    assert cmp["empty_changed"] == 0, f"{name}: pixels outside the selection changed: {cmp}"
    if "expected_box" in rec:
        assert rec["new_box"] == rec["expected_box"], f"{name}: layer box {rec['new_box']} != {rec['expected_box']}"
        assert rec["new_has_mask"], f"{name}: no layer mask from the selection"


def run_session(test_dir: Path, args: list[str], server: dict[str, str], tag: str) -> dict[str, Any]:
    """One GIMP start: its records (result.json) with its exit status and log tail; artefacts copied."""
    started = time.time()
    proc = run_gimp(args, server)
    print(f"{tag} session {time.time() - started:.0f} s; command: {shlex.join(args)}")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{tag}.log").write_text(f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}")
    for png in (test_dir / "out").glob("*.png"):
        shutil.copy(png, ARTIFACTS / png.name)
    result_file = test_dir / "result.json"
    if not result_file.exists():
        pytest.fail(f"the {tag} session wrote no result (exit {proc.returncode}): {proc.stderr[-3000:]}")
    shutil.copy(result_file, ARTIFACTS / f"{tag}-result.json")
    result = json.loads(result_file.read_text())
    result_file.unlink()
    return result


def check_session_errors(result: dict[str, Any]) -> None:
    assert not result["errors"], "\n".join(result["errors"])


# ---- the sessions: one GIMP start each -------------------------------------------------------------------
@pytest.fixture(scope="module")
def test_images() -> None:
    if not (EVAL_DEV / "content").is_dir():
        unavailable("GIMP", f"test images not found in {EVAL_DEV}")


@pytest.fixture(scope="module")
def console(chroot_root: Path, server: dict[str, str], test_images: None) -> dict[str, Any]:
    """gimp-console-3.0 plays every procedure scenario (batch_stylize.py); the tests below check one each."""
    install_plugin(chroot_root, server)
    test_dir = stage_test_dir(chroot_root, batch_cases(free_port()))
    return run_session(test_dir, ["gimp-console-3.0", *batch_args("batch_stylize.py")], server, "console")


@pytest.fixture(scope="module")
def console_cases(console: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rec["name"]: rec for rec in console["cases"]}


@pytest.fixture(scope="module")
def gui(chroot_root: Path, server: dict[str, str], console: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """GIMP's GUI under Xvfb (batch_gui.py), after the console session, in its profile and test folder."""
    xvfb = ["xvfb-run", "-a", "-s", "-screen 0 1280x1024x24", "gimp-3.0"]
    result = run_session(chroot_root / TEST_DIR_IN.lstrip("/"), [*xvfb, *batch_args("batch_gui.py")[1:]], server,
                         "gui")  # the GUI has no -i
    return {"errors": result["errors"], **{rec["name"]: rec for rec in result["cases"]}}


@pytest.fixture(scope="module")
def layers(chroot_root: Path, server: dict[str, str], test_images: None) -> dict[str, Any]:
    """"Stylise all layers" on a 3-layer image (layers as frames), and once with the server down
    (batch_layers.py), in a fresh profile; the new layers' raw pixels are kept in `pixels`."""
    from adastyle.batch.flicker import pan_clip

    install_plugin(chroot_root, server)
    frames = pan_clip(Image.open(EVAL_DEV / "content" / "china.jpg"), 3, (256, 192), 8)
    style = f"{TEST_DIR_IN}/in/style/{STYLES[0]}"
    test_dir = stage_test_dir(chroot_root, [], frames=len(frames), style_path=style,
                              down_url=f"http://127.0.0.1:{free_port()}")
    (test_dir / "in" / "frames").mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f).save(test_dir / "in" / "frames" / f"frame_{i}.png")
    subprocess.run(["chown", "-R", ARTIST, str(test_dir)], check=True)
    result = run_session(test_dir, ["gimp-console-3.0", *batch_args("batch_layers.py")], server, "layers")
    new = result.get("styled", {}).get("new", [])
    pixels = {n["file"]: (test_dir / "out" / n["file"]).read_bytes() for n in new if (test_dir / "out" / n["file"]).exists()}
    return {**result, "frames": frames, "pixels": pixels, "style_file": test_dir / "in" / "style" / STYLES[0]}


# ---- the console session: the procedure, non-interactive ------------------------------------------------
def test_console_session_ran_without_errors(console: dict[str, Any]) -> None:
    check_session_errors(console)


def test_each_colour_mode_styles_the_selection_only_and_differs(console_cases) -> None:
    cases = console_cases
    for name in ("china-none", "china-histogram", "china-luminance-offset"):
        check_styled(cases[name])
    assert cases["china-histogram"]["new_name"].endswith("histogram")
    digests = {cases[n]["new_digest"] for n in ("china-none", "china-histogram", "china-luminance-offset")}
    assert len(digests) == 3, "preserve-color made no difference: is it passed to the server?"


def test_two_weighted_styles_on_a_feathered_selection(console_cases) -> None:
    two = console_cases["astronaut-two-styles"]
    check_styled(two)
    assert "castle + autumn" in two["new_name"]
    assert two["cmp"]["partial"] > 0, "the feathered selection has no soft edge"


def test_a_style_from_another_images_layer(console_cases) -> None:
    by_layer = console_cases["china-style-layer"]  # the style is another open image's layer, no style file at all
    check_styled(by_layer)
    assert by_layer["new_name"] == f"{by_layer['style_layer_name']} (AdaIN)", by_layer
    assert by_layer["style_layer_unchanged"], "the style layer's pixels changed"
    assert by_layer["new_digest"] != console_cases["china-none"]["new_digest"], "the style layer was not used as the style"


def test_a_library_style_by_id_or_name_styles_the_selection(console_cases) -> None:
    """A starter style of the server's library, with no style file: by id and by name (any case), the same
    pixels; an unknown name is refused as a bad argument and the image stays as it was."""
    by_id, by_name = console_cases["china-library-id"], console_cases["china-library-name"]
    for rec in (by_id, by_name):
        check_styled(rec)
    assert by_id["new_name"] == by_name["new_name"] == f"{STARTER['name']} (AdaIN)", by_id["new_name"]  # its name
    assert by_id["new_digest"] == by_name["new_digest"], "the same library style by id and by name differ"
    assert by_id["new_digest"] != console_cases["china-none"]["new_digest"], "the library style was not used"
    unknown = console_cases["china-library-unknown"]
    assert unknown["status"] == "calling-error" and "No library style or preset named" in unknown["message"], unknown
    assert unknown["layers_after"] == unknown["layers_before"] and unknown["source_unchanged"], unknown
    assert unknown["cmp"]["full_changed"] == 0, unknown["cmp"]


def test_a_grey_image_without_the_selection(console_cases) -> None:
    gray = console_cases["grace-hopper-gray-whole"]
    check_styled(gray)
    assert gray["base_type"] == "gray" and not gray["new_has_mask"], gray
    assert gray["new_box"] == [0, 0, 512, 512], gray


@pytest.mark.parametrize("name,needle", [("down-no-command", "no start command"), ("down-command-fails", "status 3")])
def test_a_server_that_is_down_leaves_the_image_alone(console_cases, name: str, needle: str) -> None:
    rec = console_cases[name]
    assert rec["status"] != "success", f"{name}: succeeded with the server down"
    assert "adastyle serve --background" in rec["message"] and needle in rec["message"], rec["message"]
    assert rec["layers_after"] == rec["layers_before"], f"{name}: layers changed: {rec['layers_after']}"
    assert rec["source_unchanged"] and rec["composite_unchanged"], f"{name}: pixels changed"


# ---- the GUI session: undo, the dialog, the progress window's Cancel ------------------------------------
def test_gui_session_ran_without_errors(gui: dict[str, Any]) -> None:
    check_session_errors(gui)


def test_one_undo_and_redo_take_away_and_bring_back_the_new_layer(gui) -> None:
    undo = gui["undo"]
    assert undo["status"] == "success", undo
    assert undo["after_run"] == [undo["new_name"], *undo["before"]], undo
    assert undo["after_undo"] == undo["before"], f"one Ctrl+Z did not remove exactly the new layer: {undo}"
    assert undo["source_unchanged_after_undo"] and undo["composite_restored"], undo
    assert undo["after_redo"] == undo["after_run"], f"one Ctrl+Y did not bring the layer back: {undo}"


def test_one_undo_and_redo_for_all_the_layers_of_stylise_all_layers(gui) -> None:
    layers = gui["layers-undo"]
    assert layers["status"] == "success" and len(layers["after_run"]) == 2 * len(layers["before"]), layers
    assert layers["after_undo"] == layers["before"], f"one Ctrl+Z did not remove exactly the new layers: {layers}"
    assert layers["after_redo"] == layers["after_run"], f"one Ctrl+Y did not bring the new layers back: {layers}"


def test_the_dialogs_accepted_with_return(gui) -> None:
    il = gui["interactive-layers"]
    assert il["dialog_seen"] and il["status"] == "success" and len(il["after"]) == 2 * len(il["before"]), il
    ok = gui["interactive-ok"]
    assert ok["dialog_seen"] and ok["status"] == "success" and len(ok["after"]) == len(ok["before"]) + 1, ok


def assert_matches_the_servers_answer(name: str) -> None:
    """The dialog's new layer against the server's own picture for the same picture (as GIMP decoded it) and
    library entries."""
    got = np.asarray(Image.open(ARTIFACTS / f"{name}-dialog-result.png").convert("RGB"), dtype=float)
    want = np.asarray(Image.open(ARTIFACTS / f"{name}-direct-result.png").convert("RGB"), dtype=float)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.abs(got - want).mean() < 0.25, f"differs from the server's answer by {np.abs(got - want).mean():.2f} levels"


def test_the_dialogs_library_panel_picks_a_library_style(gui) -> None:
    """The dialog opened with a library style and no style file shows the library panel (it did not fail: the
    plug-in says so on stderr) and, accepted, gives the server's own picture for that style."""
    rec = gui["interactive-library"]
    assert rec["dialog_seen"] and rec["status"] == "success", rec
    assert len(rec["after"]) == len(rec["before"]) + 1 and rec["source_unchanged"], rec
    assert rec["after"][0] == f"{rec['style_name']} (AdaIN)", rec["after"]  # the entry's name, not its id
    log = (ARTIFACTS / "gui.log").read_text()
    assert "library panel could not be shown" not in log, log[-2000:]
    shot = ARTIFACTS / "clicks-interactive-library-step0.png"
    assert shot.exists(), "the player took no photograph of the dialog"
    assert_matches_the_servers_answer("interactive-library")


def test_add_layer_to_library_in_the_dialog_adds_and_picks_the_layer(gui) -> None:
    """The panel's "Add layer to library" (its mnemonic, Alt+D, typed into the real dialog) makes the layer a
    library entry named after it and picks it beside the style already picked: accepted, the new layer is the
    server's own picture for those two library styles."""
    rec = gui["interactive-add-layer"]
    assert rec["status"] == "success" and rec["clicks"][0]["seen_after_s"] is not None, rec
    assert len(rec["added"]) == 1 and rec["added"][0]["name"] == rec["layer_name"], rec
    assert len(rec["after"]) == len(rec["before"]) + 1 and rec["source_unchanged"], rec
    assert rec["after"][0] == f"{rec['first_name']} + {rec['layer_name']} (AdaIN)", rec["after"]  # names, not ids
    assert_matches_the_servers_answer("interactive-add-layer")


def test_add_file_to_library_in_the_dialog_adds_and_picks_the_file(gui) -> None:
    """The panel's "Add file to library…" (Alt+I) opens GTK's file chooser; a path typed into it and Return make
    the file a library entry named after it, picked after the two entries of the run before: accepted, the new
    layer is the server's own picture for those three library styles."""
    rec, before = gui["interactive-add-file"], gui["interactive-add-layer"]
    typed, accepted = rec["clicks"][1:3]  # the path typed into the chooser, then its Return
    assert typed["seen_after_s"] is not None and accepted["closed"], rec["clicks"]
    assert rec["status"] == "success", rec
    assert [e["name"] for e in rec["added"]] == ["goldfish"], rec
    assert len(rec["after"]) == len(rec["before"]) + 1 and rec["source_unchanged"], rec
    assert rec["after"][0] == f"{before['first_name']} + {before['layer_name']} + goldfish (AdaIN)", rec["after"]
    assert_matches_the_servers_answer("interactive-add-file")


def test_cancel_in_the_progress_window_cancels_the_servers_job(gui) -> None:
    cancel = gui["interactive-cancel"]
    assert cancel["dialog_seen"] and cancel["progress_window_seen"], cancel
    assert cancel["status"] == "cancel", cancel
    assert cancel["after"] == cancel["before"] and cancel["source_unchanged"], cancel
    assert cancel["server_job_cancelled"], f"the plug-in's job was not cancelled on the server: {cancel}"


# ---- the layers session: Stylise all layers ---------------------------------------------------------------
def test_layers_session_ran_without_errors(layers: dict[str, Any]) -> None:
    check_session_errors(layers)


def test_stylise_all_layers_puts_new_layers_on_top_in_frame_order(layers) -> None:
    """A 3-layer image (layers as frames) gets 3 stylised layers on top, in frame order; the 3 originals are
    unchanged."""
    styled = layers["styled"]
    assert styled["status"] == "success", styled
    names_before = [name for name, _ in styled["before"]]
    assert names_before == ["Frame 3", "Frame 2", "Frame 1"]
    new = styled["new"]
    assert [n["name"] for n in new] == [f"Frame {i} - {Path(STYLES[0]).stem} (AdaIN)" for i in (3, 2, 1)], new
    assert styled["after"][3:] == styled["before"], "the original layers changed (pixels, names or order)"
    assert all(n["size"] == styled["canvas"] and n["offsets"] == [0, 0] for n in new), new


def test_stylise_all_layers_gives_the_servers_stabilised_sequence(layers, server: dict[str, str]) -> None:
    """The new layers are the server's stabilised sequence of the same frames (within 1 level), with the
    procedure's coherence-features argument sent as the sequence's field."""
    from adastyle_plugin.http import Client

    frames, new = layers["frames"], layers["styled"]["new"]
    assert len(new) == len(frames), new
    # The server's own sequence of the same frames: GIMP sent them in playback order and wrote each back
    # to its own layer.
    api = Client(url=server["url"], token=server["token"], timeout=120)
    rgba = [Image.fromarray(f).convert("RGBA").tobytes() for f in frames]
    expected = api.stylize_sequence(rgba, [str(layers["style_file"])], size=(256, 192),
                                    stability=2.0, coherence_features=0.5, result_format="rgba")
    for k, (data, _) in enumerate(reversed(expected)):  # new layers top first: the last frame first
        got = np.frombuffer(layers["pixels"][new[k]["file"]], np.uint8).astype(int)
        want = np.frombuffer(data, np.uint8).astype(int)
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1, f"{new[k]['name']}: differs from the server's frame"
        original = np.asarray(Image.fromarray(frames[len(frames) - 1 - k]).convert("RGBA")).reshape(-1).astype(int)
        assert np.abs(got - original).mean() > 10, f"{new[k]['name']} is not stylised"


def test_stylise_all_layers_takes_a_style_layer_of_the_image_as_a_style_not_a_frame(layers) -> None:
    by_layer = layers["style_layer"]  # the top layer as the style: the 2 layers below are the frames
    assert by_layer["status"] == "success", by_layer
    names_before = [name for name, _ in by_layer["before"]]
    assert [name for name, _ in by_layer["after"]] == [f"Frame {i} - Frame 3 (AdaIN)" for i in (2, 1)] + \
        names_before, by_layer
    assert by_layer["after"][2:] == by_layer["before"], "the original layers changed"


def test_stylise_all_layers_with_the_server_down_leaves_the_image_alone(layers) -> None:
    down = layers["down"]
    assert down["status"] != "success" and "adastyle serve --background" in down["message"], down
    assert down["after"] == down["before"], "a failed run changed the image"

# Runs INSIDE real GIMP 3 with its GUI under Xvfb (gimp-3.0 --batch-interpreter=python-fu-eval), driven by
# tests/realapp/test_gimp.py. What the console session cannot do:
#   - undo: the PDB has undo-group procedures but no "undo", so a real Ctrl+Z (then Ctrl+Y) is typed into
#     the image window with xdotool and the layers are read back;
#   - the interactive path: the procedure dialog is accepted with Return, and the progress window's Cancel
#     (Escape) must cancel the job on the server.
# Writes result.json; pytest checks it. Executed with exec(..., globals()) by python-eval.
import json
import os
import subprocess
import time
import traceback
import urllib.request

from gi.repository import Gegl, Gimp, Gio

TEST_DIR = os.environ.get("ADASTYLE_TEST_DIR", "/home/artist/adastyle-test")
PROC = "plug-in-adastyle-stylize"
STYLE = os.path.join(TEST_DIR, "in", "style", "castle.jpg")


def layer_names(img):
    return [x.get_name() for x in img.get_layers()]


def layer_bytes(layer):
    return bytes(layer.get_buffer().get(Gegl.Rectangle.new(0, 0, layer.get_width(), layer.get_height()), 1.0,
                                        "R'G'B'A u8", Gegl.AbyssPolicy.NONE))


def composite(img):
    dup = img.duplicate()
    merged = dup.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
    # A lone layer is "merged" as it is, offsets and all: read the image's rectangle in that layer's space.
    _, ox, oy = merged.get_offsets()
    data = bytes(merged.get_buffer().get(Gegl.Rectangle.new(-ox, -oy, dup.get_width(), dup.get_height()), 1.0,
                                         "R'G'B'A u8", Gegl.AbyssPolicy.NONE))
    dup.delete()
    return data


def load_with_display(name):
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(os.path.join(TEST_DIR, "in", name)))
    Gimp.Display.new(img)
    Gimp.displays_flush()
    return img, img.get_layers()[0]


def run_plugin(img, layer, mode, **props):
    proc = Gimp.get_pdb().lookup_procedure(PROC)
    cfg = proc.create_config()
    cfg.set_property("run-mode", mode)
    cfg.set_property("image", img)
    cfg.set_core_object_array("drawables", [layer])
    for name, value in props.items():
        cfg.set_property(name.replace("_", "-"), value)
    result = proc.run(cfg)
    status = result.index(0)
    message = result.index(1) if result.length() > 1 and status != Gimp.PDBStatusType.SUCCESS else ""
    return status.value_nick, str(message or "")


def xdotool(*args):
    return subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=10).stdout.strip()


def type_into_image_window(title, key):
    """A real key press in the image window (Xvfb has no window manager: focus it explicitly)."""
    wid = xdotool("search", "--onlyvisible", "--name", title).split()[0]
    xdotool("windowfocus", "--sync", wid)
    xdotool("key", "--clearmodifiers", key)


def wait_for(img, count, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline and len(img.get_layers()) != count:
        time.sleep(0.1)
    return layer_names(img)


def undo_case():
    img, layer = load_with_display("rocket.jpg")
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 150, 100, 200, 250)
    before, src, comp = layer_names(img), layer_bytes(layer), composite(img)
    status, message = run_plugin(img, layer, Gimp.RunMode.NONINTERACTIVE, style_path=STYLE)
    after_run = layer_names(img)
    time.sleep(0.5)
    type_into_image_window("rocket", "ctrl+z")
    after_undo = wait_for(img, len(before))
    rec = {"name": "undo", "status": status, "message": message, "before": before, "after_run": after_run,
           "new_name": after_run[0], "after_undo": after_undo, "source_unchanged_after_undo": layer_bytes(layer) == src,
           "composite_restored": composite(img) == comp}
    type_into_image_window("rocket", "ctrl+y")
    rec["after_redo"] = wait_for(img, len(after_run))
    return rec


def interactive_case(name, steps, **props):
    """Run with the dialog; click_dialogs.py (a separate process) plays the user."""
    img, layer = load_with_display("coffee.jpg")
    before, src = layer_names(img), layer_bytes(layer)
    out = os.path.join(TEST_DIR, f"clicks-{name}.json")
    player = subprocess.Popen(["python3", os.path.join(TEST_DIR, "click_dialogs.py"), out, *steps])
    status, message = run_plugin(img, layer, Gimp.RunMode.INTERACTIVE, style_path=STYLE, **props)
    health = json.load(urllib.request.urlopen(os.environ["ADASTYLE_URL"] + "/v1/health", timeout=5))
    player.wait(60)
    clicks = json.load(open(out))["steps"]
    rec = {"name": name, "status": status, "message": message, "before": before, "after": layer_names(img),
           "source_unchanged": layer_bytes(layer) == src, "clicks": clicks,
           "dialog_seen": clicks[0]["seen_after_s"] is not None,
           "server_idle_after": health.get("running") is None and not health.get("queue")}
    if len(clicks) > 1:
        rec["progress_window_seen"] = clicks[1]["seen_after_s"] is not None
    return rec


def main():
    results = {"cases": [], "errors": []}
    cases = [
        undo_case,
        lambda: interactive_case("interactive-ok", ["^AdaIN Style Transfer$=Return"]),
        # scale 4 on the whole 512x512 layer: a job of tens of seconds, cancelled a second after it shows.
        lambda: interactive_case("interactive-cancel", ["^AdaIN Style Transfer$=Return", "^AdaStyle: stylising=Escape@1.0"],
                                 use_selection=False, scale=4.0),
    ]
    for case in cases:
        try:
            results["cases"].append(case())
        except Exception:
            results["errors"].append(traceback.format_exc())
    with open(os.path.join(TEST_DIR, "result.json"), "w") as f:
        json.dump(results, f, indent=1)


main()

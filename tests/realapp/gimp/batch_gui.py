# Runs INSIDE real GIMP 3 with its GUI under Xvfb (gimp-3.0 --batch-interpreter=python-fu-eval), driven by
# tests/realapp/test_gimp.py. What the console session cannot do:
#   - undo: the PDB has undo-group procedures but no "undo", so a real Ctrl+Z (then Ctrl+Y) is typed into
#     the image window with xdotool and the layers are read back (for one layer, and for all layers);
#   - the interactive path: the procedure dialog is accepted with Return (also Stylise All Layers'), and the
#     progress window's Cancel (Escape) must cancel the job on the server.
# Writes result.json; pytest checks it. Executed with exec(..., globals()) by python-eval.
import json
import os
import subprocess
import sys
import time
import traceback

from gi.repository import Gimp, Gio

TEST_DIR = os.environ.get("ADASTYLE_TEST_DIR", "/home/artist/adastyle-test")
exec(open(os.path.join(TEST_DIR, "gimp_common.py")).read(), globals())  # run_plugin, layer_bytes, composite
STYLE = os.path.join(TEST_DIR, "in", "style", "castle.jpg")
PLUGIN_DIR = os.path.expanduser("~/.config/GIMP/3.0/plug-ins/adastyle_gimp")
PICKED = []  # the library entries the last dialog run picked (the next dialog opens with them)


def layer_names(img):
    return [x.get_name() for x in img.get_layers()]


def load_with_display(name):
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(os.path.join(TEST_DIR, "in", name)))
    Gimp.Display.new(img)
    Gimp.displays_flush()
    return img, img.get_layers()[0]


def xdotool(*args):
    return subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=10, check=False).stdout.strip()


def image_window_title(img):
    """xdotool --name regex for the image's window: titles read "*[Untitled]-ID.0 (RGB color ...) – GIMP"."""
    return f"]-{img.get_id()}[.]0 "


def type_into_image_window(img, key):
    """A real key press in the image window (Xvfb has no window manager: focus it explicitly)."""
    deadline = time.time() + 15
    found = []
    while time.time() < deadline and not found:
        found = xdotool("search", "--onlyvisible", "--name", image_window_title(img)).split()
        time.sleep(0.2)
    if not found:
        raise RuntimeError("no image window found: " + xdotool("search", "--onlyvisible", "--name", ".", "getwindowname", "%@"))
    xdotool("windowfocus", "--sync", found[0])
    xdotool("key", "--clearmodifiers", key)


def wait_for(img, count, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline and len(img.get_layers()) != count:
        time.sleep(0.1)
    return layer_names(img)


def undo_case():
    img, layer = load_with_display("rocket.jpg")
    # GIMP 3.0.4 hands plug-ins images from file_load with undo DISABLED; a user-opened image has it on.
    rec_undo_was_enabled = img.undo_is_enabled()
    img.undo_enable()
    img.select_rectangle(Gimp.ChannelOps.REPLACE, 150, 100, 200, 250)
    before, src, comp = layer_names(img), layer_bytes(layer), composite(img)
    status, message = run_plugin(img, layer, Gimp.RunMode.NONINTERACTIVE, style_path=STYLE)
    after_run = layer_names(img)
    time.sleep(0.5)
    type_into_image_window(img, "ctrl+z")
    after_undo = wait_for(img, len(before))
    rec = {"name": "undo", "status": status, "message": message, "before": before, "after_run": after_run,
           "new_name": after_run[0], "after_undo": after_undo, "source_unchanged_after_undo": layer_bytes(layer) == src,
           "composite_restored": composite(img) == comp, "undo_enabled_after_file_load": rec_undo_was_enabled}
    type_into_image_window(img, "ctrl+y")
    rec["after_redo"] = wait_for(img, len(after_run))
    return rec


def layers_undo_case():
    """Stylise all layers on a 3-layer image: one Ctrl+Z takes all 3 new layers away, one Ctrl+Y brings them back."""
    img, layer = load_with_display("rocket.jpg")
    img.undo_enable()
    for i, (dx, dy) in enumerate(((16, 0), (32, 0)), start=2):  # two more frames: the photo moved
        frame = layer.copy()
        img.insert_layer(frame, None, 0)
        frame.set_offsets(dx, dy)
        frame.set_name(f"Frame {i}")
    Gimp.displays_flush()
    before = layer_names(img)
    status, message = run_plugin(img, layer, Gimp.RunMode.NONINTERACTIVE, proc_name=LAYERS_PROC,  # noqa: F821
                                 style_path=STYLE)
    after_run = layer_names(img)
    time.sleep(0.5)
    type_into_image_window(img, "ctrl+z")
    after_undo = wait_for(img, len(before))
    type_into_image_window(img, "ctrl+y")
    after_redo = wait_for(img, len(after_run))
    return {"name": "layers-undo", "status": status, "message": message, "before": before, "after_run": after_run,
            "after_undo": after_undo, "after_redo": after_redo}


def server_client():
    """The shipped client (the toolkit installed beside the plug-in), on the test server."""
    if PLUGIN_DIR not in sys.path:
        sys.path.insert(0, PLUGIN_DIR)
    from adastyle_plugin.http import Client

    return Client(url=os.environ["ADASTYLE_URL"], token=os.environ["ADASTYLE_TOKEN"])


def start_blocker(conn):
    """A slow job submitted straight to the server, so the plug-in's job waits in the queue and can be cancelled
    deterministically (an interactive run takes GIMP's remembered values, so its own size cannot be forced)."""
    job_id = conn.submit(os.path.join(TEST_DIR, "in", "china.jpg"), [STYLE], scale=3.0)
    deadline = time.time() + 30
    while time.time() < deadline and conn.job(job_id)["state"] != "running":
        time.sleep(0.1)
    return job_id


def interactive_case(name, steps, block=False):
    """Run with the dialog; click_dialogs.py (a separate process) plays the user."""
    img, layer = load_with_display("coffee.jpg")
    before, src = layer_names(img), layer_bytes(layer)
    conn = server_client()
    blocker = start_blocker(conn) if block else None
    out = os.path.join(TEST_DIR, f"clicks-{name}.json")
    player = subprocess.Popen(["python3", os.path.join(TEST_DIR, "click_dialogs.py"), out, *steps])
    started = time.time()
    # GIMP 3.0.4: an interactive call takes the values remembered from the last interactive run when there are
    # any (plug-in-settings/GimpProcedureConfigRun-*.last) and the passed ones only before that.
    status, message = run_plugin(img, layer, Gimp.RunMode.INTERACTIVE, style_path=STYLE)
    seconds = time.time() - started
    health = conn.health()
    player.wait(120)
    with open(out) as f:
        clicks = json.load(f)["steps"]
    rec = {"name": name, "status": status, "message": message, "seconds": round(seconds, 1), "before": before,
           "after": layer_names(img), "source_unchanged": layer_bytes(layer) == src, "clicks": clicks,
           "dialog_seen": clicks[0]["seen_after_s"] is not None, "health_after": health}
    if blocker:
        rec["progress_window_seen"] = clicks[1]["seen_after_s"] is not None
        # The plug-in's queued job is gone (cancelled) while the blocker still runs.
        rec["server_job_cancelled"] = health.get("running") == blocker and health.get("queue") == 0
        rec["blocker_state"] = conn.cancel(blocker)["state"]
    return rec


def dialog_case(name, steps, **props):
    """The procedure's dialog on coffee.jpg, played by the click player with `steps` (the dialog opens with the
    values of the run before, or `props`); returns the record, the picture as GIMP decoded it (its JPEG decoder
    is not Pillow's: the server's own answer is asked for these pixels) and the server client. The new layer is
    saved as out/NAME-dialog-result.png; `added` lists the library entries the run added."""
    img, layer = load_with_display("coffee.jpg")
    before, src = layer_names(img), layer_bytes(layer)
    source = os.path.join(TEST_DIR, "out", f"{name}-source.png")
    composite(img, save_as=source)
    conn = server_client()
    known = {e["id"] for e in conn.library()}
    out = os.path.join(TEST_DIR, f"clicks-{name}.json")
    player = subprocess.Popen(["python3", os.path.join(TEST_DIR, "click_dialogs.py"), out, *steps])
    status, message = run_plugin(img, layer, Gimp.RunMode.INTERACTIVE, **props)
    player.wait(120)
    with open(out) as f:
        clicks = json.load(f)["steps"]
    after = layer_names(img)
    composite(img, save_as=os.path.join(TEST_DIR, "out", f"{name}-dialog-result.png"))
    added = [e for e in conn.library() if e["id"] not in known]
    rec = {"name": name, "status": status, "message": message, "before": before,
           "after": after, "source_unchanged": layer_bytes(layer) == src, "clicks": clicks,
           "layer_name": layer.get_name(), "added": [{"id": e["id"], "name": e.get("name")} for e in added]}
    return rec, source, conn


def save_servers_answer(name, source, conn, entry_ids):
    """The server's own picture for `source` and these library entries, as out/NAME-direct-result.png."""
    with open(os.path.join(TEST_DIR, "out", f"{name}-direct-result.png"), "wb") as f:
        f.write(conn.stylize(source, [], style_ids=[f"lib:{i}" for i in entry_ids], result_format="png")[0])


def interactive_library_case():
    """The dialog with its library panel: the run is given a library style (no style file), the panel shows the
    server's thumbnails with that style picked, Return accepts; the new layer is saved beside the server's own
    answer for the same picture and style (pytest compares them). The dialog is photographed by the player."""
    entry = server_client().library()[0]
    # Thumbnails are fetched when the panel is built: give the dialog time to show them before the photo.
    rec, source, conn = dialog_case("interactive-library", ["^AdaIN Style Transfer$=Return@4.0"],
                                    style_path="", library=entry["id"])
    save_servers_answer("interactive-library", source, conn, [entry["id"]])
    clicks = rec["clicks"]
    return {**rec, "style_id": entry["id"], "style_name": entry["name"],
            "dialog_seen": clicks[0]["seen_after_s"] is not None, "closed": clicks[0]["closed"]}


def interactive_add_layer_case():
    """"Add layer to library" (Alt+D) in the dialog that opens with the library style of the run before picked:
    the layer becomes a library entry named after it, picked beside the first."""
    first = server_client().library()[0]  # the run before picked the first entry
    rec, source, conn = dialog_case("interactive-add-layer", ["^AdaIN Style Transfer$=alt+d!@4.0",
                                                              "^AdaIN Style Transfer$=Return@3.0"])
    rec["first_name"] = first["name"]
    PICKED[:] = [first["id"], *(e["id"] for e in rec["added"])]
    if len(rec["added"]) == 1:
        save_servers_answer("interactive-add-layer", source, conn, PICKED)
    return rec


def interactive_add_file_case():
    """"Add file to library…" (Alt+I) in the dialog that opens with the two entries of the run before picked: the
    file chooser takes a typed path and Return; the file becomes an entry named after it, picked as the third."""
    path = os.path.join(TEST_DIR, "in", "style", "goldfish.jpg")
    rec, source, conn = dialog_case(
        "interactive-add-file", ["^AdaIN Style Transfer$=alt+i!@4.0",
                                 f"^Add a style image to the library$=type:{path}!@1.5",
                                 "^Add a style image to the library$=Return@0.5", "^AdaIN Style Transfer$=Return@3.0"])
    if len(rec["added"]) == 1:
        save_servers_answer("interactive-add-file", source, conn, [*PICKED, rec["added"][0]["id"]])
    return rec


def interactive_layers_case():
    """Stylise All Layers from its dialog (accepted with Return): 2 frames in, 2 new layers out."""
    img, layer = load_with_display("coffee.jpg")
    frame = layer.copy()
    img.insert_layer(frame, None, 0)
    frame.set_offsets(24, 0)
    before = layer_names(img)
    out = os.path.join(TEST_DIR, "clicks-interactive-layers.json")
    player = subprocess.Popen(["python3", os.path.join(TEST_DIR, "click_dialogs.py"), out,
                               "^AdaIN: Stylise All Layers$=Return"])
    status, message = run_plugin(img, layer, Gimp.RunMode.INTERACTIVE, proc_name=LAYERS_PROC,  # noqa: F821
                                 style_path=STYLE)
    player.wait(120)
    with open(out) as f:
        clicks = json.load(f)["steps"]
    return {"name": "interactive-layers", "status": status, "message": message, "before": before,
            "after": layer_names(img), "dialog_seen": clicks[0]["seen_after_s"] is not None}


def main():
    results = {"cases": [], "errors": []}
    cases = [
        undo_case,
        layers_undo_case,
        interactive_layers_case,
        interactive_library_case,  # the first interactive run of the procedure: it takes the values passed
        interactive_add_layer_case,  # opens with the library style of the run before
        interactive_add_file_case,  # opens with the two entries of the run before
        lambda: interactive_case("interactive-ok", ["^AdaIN Style Transfer$=Return"]),
        lambda: interactive_case("interactive-cancel",
                                 ["^AdaIN Style Transfer$=Return", "^AdaStyle: stylising=Escape@1.0"], block=True),
    ]
    for case in cases:
        try:
            results["cases"].append(case())
        except Exception:  # noqa: BLE001 - recorded for pytest, the other cases still run
            results["errors"].append(traceback.format_exc())
    with open(os.path.join(TEST_DIR, "result.json"), "w") as f:
        json.dump(results, f, indent=1)


main()

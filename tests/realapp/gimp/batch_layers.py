# Runs INSIDE real GIMP 3 (gimp-console-3.0 --batch-interpreter=python-fu-eval), driven by tests/realapp/test_gimp.py.
# "Stylise all layers" (plug-in-adastyle-stylize-layers) on a 3-layer image built from the frames in in/frames/
# (frame_0 at the bottom: GIMP's first frame), non-interactively; then once more with the server down. Writes
# what it saw to result.json and each new layer's raw RGBA to out/; pytest makes the assertions.
# Executed with exec(..., globals()) by python-eval: plain top-level code and functions, no __file__.
import hashlib
import json
import os
import traceback

from gi.repository import Gimp, Gio

TEST_DIR = os.environ.get("ADASTYLE_TEST_DIR", "/home/artist/adastyle-test")
with open(os.path.join(TEST_DIR, "job.json")) as _f:
    JOB = json.load(_f)
exec(open(os.path.join(TEST_DIR, "gimp_common.py")).read(), globals())  # run_plugin, layer_bytes, composite


def run_layers(img, **props):
    """The real procedure, as a script calls it; (status name, error message)."""
    return run_plugin(img, img.get_layers()[0], proc_name=LAYERS_PROC, **props)  # noqa: F821 (gimp_common)


def frames_image():
    """Frame i as layer 'Frame i+1', the first frame at the bottom."""
    paths = [os.path.join(TEST_DIR, "in", "frames", f"frame_{i}.png") for i in range(JOB["frames"])]
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(paths[0]))
    img.get_layers()[0].set_name("Frame 1")
    for i, path in enumerate(paths[1:], start=2):
        layer = Gimp.file_load_layer(Gimp.RunMode.NONINTERACTIVE, img, Gio.File.new_for_path(path))
        layer.set_name(f"Frame {i}")
        img.insert_layer(layer, None, 0)
    return img


def snapshot(img):
    return [(x.get_name(), hashlib.sha1(layer_bytes(x)).hexdigest()) for x in img.get_layers()]


def styled_case():
    img = frames_image()
    before = snapshot(img)
    status, message = run_layers(img, style_path=JOB["style_path"], stability=2.0, coherence_features=0.5)
    layers = img.get_layers()
    rec = {"status": status, "message": message, "before": before, "after": snapshot(img),
           "canvas": [img.get_width(), img.get_height()], "new": []}
    originals = {name for name, _ in before}
    for x in layers:
        if x.get_name() in originals:
            continue
        data = layer_bytes(x)
        path = os.path.join(TEST_DIR, "out", f"layer-{len(rec['new'])}.rgba")
        with open(path, "wb") as f:
            f.write(data)
        _, ox, oy = x.get_offsets()
        rec["new"].append({"name": x.get_name(), "size": [x.get_width(), x.get_height()], "offsets": [ox, oy],
                           "file": os.path.basename(path)})
    composite(img, os.path.join(TEST_DIR, "out", "all-layers.png"))
    img.delete()
    return rec


def down_case():
    """No server at the URL and no start command: an error status, and the image as it was."""
    settings_path = os.path.join(JOB["plugin_dir"], "adastyle-settings.json")
    with open(settings_path) as f:
        original = f.read()
    settings = json.loads(original)
    settings.pop("server_command", None)
    with open(settings_path, "w") as f:
        json.dump(settings, f)
    try:
        img = frames_image()
        before = snapshot(img)
        status, message = run_layers(img, style_path=JOB["style_path"], server_url=JOB["down_url"])
        rec = {"status": status, "message": message, "before": before, "after": snapshot(img)}
        img.delete()
        return rec
    finally:
        with open(settings_path, "w") as f:
            f.write(original)


def style_layer_case():
    """The top layer as the style layer: it is a style, not a frame; the 2 layers below are the frames."""
    img = frames_image()
    before = snapshot(img)
    top = img.get_layers()[0]
    status, message = run_layers(img, style_path="", style_layer=top, stability=0.0)
    rec = {"status": status, "message": message, "before": before, "after": snapshot(img),
           "style_layer": top.get_name()}
    img.delete()
    return rec


def main():
    results = {"errors": []}
    for name, case in (("styled", styled_case), ("style_layer", style_layer_case), ("down", down_case)):
        try:
            results[name] = case()
        except Exception:  # noqa: BLE001 - recorded for pytest, the other case still runs
            results["errors"].append(name + ": " + traceback.format_exc())
    with open(os.path.join(TEST_DIR, "result.json"), "w") as f:
        json.dump(results, f, indent=1)


main()

# Runs INSIDE real GIMP 3 (gimp-console-3.0 --batch-interpreter=python-fu-eval), driven by tests/realapp/test_gimp.py.
# Calls plug-in-adastyle-stylize non-interactively on real images and writes what it saw to result.json;
# pytest makes the assertions, so a failed check still leaves the whole picture for the report.
# Executed with exec(..., globals()) by python-eval: plain top-level code and functions, no __file__.
import hashlib
import json
import os
import sys
import traceback

from gi.repository import Gegl, Gimp, Gio

TEST_DIR = os.environ.get("ADASTYLE_TEST_DIR", "/home/artist/adastyle-test")
with open(os.path.join(TEST_DIR, "job.json")) as _f:
    JOB = json.load(_f)
exec(open(os.path.join(TEST_DIR, "gimp_common.py")).read(), globals())  # run_plugin, layer_bytes, composite


def rect_bytes(drawable_or_buffer, x, y, w, h, fmt=RGBA):
    """Pixels of a rectangle (buffer coordinates) as bytes."""
    buf = drawable_or_buffer if isinstance(drawable_or_buffer, Gegl.Buffer) else drawable_or_buffer.get_buffer()
    return bytes(buf.get(Gegl.Rectangle.new(x, y, w, h), 1.0, fmt, Gegl.AbyssPolicy.NONE))


def selection_mask(img):
    """The selection as one byte per image pixel (0 = not selected)."""
    return rect_bytes(img.get_selection().get_buffer(), 0, 0, img.get_width(), img.get_height(), "Y u8")


def compare(before, after, mask, width):
    """Counts of changed pixels where the selection is full, empty and partial (+ where the latter changed)."""
    out = {"full": 0, "full_changed": 0, "empty": 0, "empty_changed": 0, "partial": 0, "empty_changed_box": None}
    for i, m in enumerate(mask):
        a, b_px = before[4 * i:4 * i + 4], after[4 * i:4 * i + 4]
        diff = max(abs(p - q) for p, q in zip(a, b_px))
        if m == 255:
            out["full"] += 1
            out["full_changed"] += diff > 8
        elif m == 0:
            out["empty"] += 1
            if diff > 0:
                out["empty_changed"] += 1
                x, y = i % width, i // width
                b = out["empty_changed_box"] or [x, y, x + 1, y + 1]
                out["empty_changed_box"] = [min(b[0], x), min(b[1], y), max(b[2], x + 1), max(b[3], y + 1)]
                out.setdefault("example", [x, y, list(a), list(b_px)])
        else:
            out["partial"] += 1
    return out


def load(name, offset=None):
    img = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(os.path.join(TEST_DIR, "in", name)))
    layer = img.get_layers()[0]
    if offset:
        layer.set_offsets(*offset)
    return img, layer


def expected_box(img, layer):
    """The box the plug-in should send (selection bounds in layer space plus margin), by the shipped toolkit's rule."""
    sys.path.insert(0, JOB["plugin_dir"])
    from adastyle_plugin import selection

    _, _, x1, y1, x2, y2 = Gimp.Selection.bounds(img)
    _, ox, oy = layer.get_offsets()
    sel = (max(0, x1 - ox), max(0, y1 - oy), min(layer.get_width(), x2 - ox), min(layer.get_height(), y2 - oy))
    return list(selection.plan_region(layer.get_width(), layer.get_height(), sel))


def stylize_case(case):
    """One successful-run scenario: returns everything pytest checks."""
    img, layer = load(case["content"], case.get("offset"))
    if case.get("gray"):
        img.convert_grayscale()
        layer = img.get_layers()[0]
    sel = case.get("select")
    if sel:
        img.select_rectangle(Gimp.ChannelOps.REPLACE, *sel)
        if case.get("feather"):
            Gimp.Selection.feather(img, case["feather"])
    names_before = [x.get_name() for x in img.get_layers()]
    src_before = layer_bytes(layer)
    comp_before = composite(img)
    mask = selection_mask(img)
    box = expected_box(img, layer) if sel and case["props"].get("use_selection", True) else None
    props = dict(case["props"])
    style_img = None
    if case.get("style_layer_image"):  # a second open image whose layer is the style (not a file path)
        style_img, style_layer = load(case["style_layer_image"])
        style_before = layer_bytes(style_layer)
        props["style_layer"] = style_layer
    status, message = run_plugin(img, layer, **props)
    layers = img.get_layers()
    rec = {"name": case["name"], "status": status, "message": message,
           "layers_before": names_before, "layers_after": [x.get_name() for x in layers],
           "source_unchanged": layer_bytes(layer) == src_before,
           "base_type": img.get_base_type().value_nick}
    if style_img is not None:
        rec["style_layer_name"] = style_layer.get_name()
        rec["style_layer_unchanged"] = layer_bytes(style_layer) == style_before
        style_img.delete()
    if len(layers) == len(names_before) + 1:
        new = layers[img.get_item_position(layer) - 1] if img.get_item_position(layer) > 0 else None
        rec["new_directly_above"] = new is not None and new.get_name() not in names_before
        if new is not None:
            _, nx, ny = new.get_offsets()
            _, sx, sy = layer.get_offsets()
            rec.update(new_name=new.get_name(), new_digest=hashlib.sha1(layer_bytes(new)).hexdigest(),
                       new_has_mask=new.get_mask() is not None,
                       new_box=[nx - sx, ny - sy, nx - sx + new.get_width(), ny - sy + new.get_height()],
                       new_type=new.type().value_nick if hasattr(new, "type") else "")
    comp_after = composite(img, os.path.join(TEST_DIR, "out", case["name"] + ".png"))
    if box is not None:
        rec["expected_box"] = box
        rec["cmp"] = compare(comp_before, comp_after, mask, img.get_width())
    else:
        rec["cmp"] = compare(comp_before, comp_after, b"\xff" * (img.get_width() * img.get_height()), img.get_width())
    img.delete()
    return rec


def down_case(case):
    """Server down: the procedure must fail and leave the image exactly as it was."""
    settings_path = os.path.join(JOB["plugin_dir"], "adastyle-settings.json")
    with open(settings_path) as f:
        original = f.read()
    settings = json.loads(original)
    settings.pop("server_command", None)
    if case.get("server_command"):
        settings["server_command"] = case["server_command"]
    with open(settings_path, "w") as f:
        json.dump(settings, f)
    try:
        img, layer = load(case["content"])
        img.select_rectangle(Gimp.ChannelOps.REPLACE, 100, 100, 200, 150)
        names_before = [x.get_name() for x in img.get_layers()]
        src_before, comp_before = layer_bytes(layer), composite(img)
        status, message = run_plugin(img, layer, **case["props"])
        rec = {"name": case["name"], "status": status, "message": message, "layers_before": names_before,
               "layers_after": [x.get_name() for x in img.get_layers()],
               "source_unchanged": layer_bytes(layer) == src_before, "composite_unchanged": composite(img) == comp_before}
        img.delete()
        return rec
    finally:
        with open(settings_path, "w") as f:
            f.write(original)


def main():
    results = {"cases": [], "errors": []}
    for case in JOB["cases"]:
        try:
            results["cases"].append(down_case(case) if case.get("down") else stylize_case(case))
        except Exception:  # noqa: BLE001 - recorded for pytest, the other cases still run
            results["errors"].append(case["name"] + ": " + traceback.format_exc())
    with open(os.path.join(TEST_DIR, "result.json"), "w") as f:
        json.dump(results, f, indent=1)


main()

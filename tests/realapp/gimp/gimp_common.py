# Helpers both GIMP batch scripts need, exec'd into their globals (python-eval gives no __file__ or imports
# of sibling files): run the procedure, read a layer's pixels, read the visible composite.
# Expects TEST_DIR to be set by the script that execs it.
import os

from gi.repository import Gegl, Gimp, Gio

PROC = "plug-in-adastyle-stylize"
LAYERS_PROC = "plug-in-adastyle-stylize-layers"
RGBA = "R'G'B'A u8"


def run_plugin(img, layer, mode=Gimp.RunMode.NONINTERACTIVE, proc_name=PROC, **props):
    """Run the real procedure (or "Stylise all layers" with proc_name=LAYERS_PROC); (status name, error message)."""
    proc = Gimp.get_pdb().lookup_procedure(proc_name)
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


def layer_bytes(layer):
    return bytes(layer.get_buffer().get(Gegl.Rectangle.new(0, 0, layer.get_width(), layer.get_height()), 1.0,
                                        RGBA, Gegl.AbyssPolicy.NONE))


def composite(img, save_as=None):
    """The visible result (all layers merged on a duplicate), image-sized RGBA; optionally saved as PNG."""
    dup = img.duplicate()
    merged = dup.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
    if not merged.has_alpha():
        merged.add_alpha()
    # A lone layer is "merged" as it is, offsets and all: read the image's rectangle in that layer's space.
    _, ox, oy = merged.get_offsets()
    data = bytes(merged.get_buffer().get(Gegl.Rectangle.new(-ox, -oy, dup.get_width(), dup.get_height()), 1.0,
                                         RGBA, Gegl.AbyssPolicy.NONE))
    if save_as:
        Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, dup, Gio.File.new_for_path(save_as), None)
    dup.delete()
    return data


assert os.path.isdir(TEST_DIR)  # noqa: F821  (defined by the exec'ing script)

#!/usr/bin/env python3
"""AdaStyle for GIMP 3: AdaIN style transfer of a layer (or its selection) through the local AdaStyle server.

Thin on purpose: GIMP does the pixels and the undo, the server does the network. This file holds what needs
GIMP; its decisions (arguments, names, error wording) are in gimp_rules.py, and the client and shared rules
in the `adastyle_plugin` toolkit (standard library only) that `adastyle install-plugin gimp` copies beside
it, so it runs on GIMP's own Python without numpy or torch.

PDB procedure `plug-in-adastyle-stylize` (Filters > Artistic > AdaIN Style Transfer…), arguments:
  style-path      one or more style image paths separated by os.pathsep (':' on Linux/macOS, ';' on Windows);
                  may be empty when style-layer is set
  weights         comma-separated style weights ("0.3,0.7"), one per style (files, then the layer); empty = equal
  alpha           0..1 content/style trade-off (1 = full style)
  preserve-color  none | histogram | luminance
  use-selection   stylise only the selection (soft edges kept through a layer mask)
  scale           stroke scale 0.05..4 (working resolution / canvas)
  server-url      AdaStyle server URL; empty = ADASTYLE_URL or the settings file beside the plug-in
  style-layer     optional drawable (of any open image) used as one more style, after the style-path files
  library         library styles and presets of the server, by name or id, comma-separated, after the files
                  and the layer (a preset brings its styles and weights, and its settings when it is alone);
                  in the dialog they are picked from a grid of thumbnails, with a search box

The result is a NEW layer directly above the source layer (which is never modified), cropped to the
selection's bounding box, with a layer mask from the selection; one undo step removes it.

PDB procedure `plug-in-adastyle-stylize-layers` (Filters > Artistic > AdaIN: Stylise All Layers…): GIMP's
layers-as-frames animation convention. Every top-level layer (bottom = first frame) is stylised whole, as
one sequence whose content statistics are smoothed across the frames (argument `stability`, in frames;
0 = each frame on its own), so the animation does not flicker; the same frames as `adastyle batch
--sequence`. The new layers, one per frame and image-sized, go above all the original layers in the same
order; the originals are never modified; one undo step removes them all. Arguments: as above without
use-selection, plus `stability` and `coherence` (0..1: each frame follows the previous stylised frame along
the motion between the layers, so the texture does not boil; 0 = off), and, last, `coherence-features` (0..1:
the same one step earlier, on the decoder's input: each frame's AdaIN target follows the previous one's).
Grey images: the server stylises in colour and GIMP converts the result to grey when it is written into a
GRAYA layer (the image mode is left alone; convert the image to RGB first to keep the colours).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)  # gimp_rules.py and the adastyle_plugin toolkit installed beside this file

import gi  # noqa: E402
from gimp_rules import (  # noqa: E402
    Box,
    Params,
    Region,
    calling_error,
    double_spec,
    frame_layer_name,
    frame_layers,
    from_server,
    layer_name,
    library_request,
    parse_library,
    read_layers_params,
    read_params,
    status_of,
    unavailable,
)

from adastyle_plugin import http, pixels, rules, selection, wire  # noqa: E402  (found only after the path insert above)
from adastyle_plugin.config import SETTINGS_NAME  # noqa: E402
from adastyle_plugin.errors import PluginError  # noqa: E402

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, GLib, GObject  # noqa: E402  (after gi.require_version)

__all__ = ["Box", "Params", "Region", "PluginError"]
PROC_NAME = "plug-in-adastyle-stylize"
PROC_LAYERS = "plug-in-adastyle-stylize-layers"
PIXEL_FORMAT = "R'G'B'A u8"  # primed = sRGB-encoded; "RGBA u8" would be linear light
MASK_FORMAT = "Y u8"
SETTINGS_PATH = os.path.join(HERE, SETTINGS_NAME)


# ---- arguments ----------------------------------------------------------------------------------------
def add_arguments(procedure: Gimp.Procedure, frames: bool = False) -> None:
    """The public scripting interface; names are stable, the dialog shows the nicks.

    frames: the arguments of "Stylise all layers" (no selection; a stability across the frames).
    """
    rw = GObject.ParamFlags.READWRITE
    procedure.add_string_argument("style-path", "St_yle image(s)",
                                  f"Style image path(s), several separated by {os.pathsep!r}", "", rw)
    procedure.add_string_argument("weights", "_Weights", "Comma-separated weight per style (empty = equal)", "", rw)
    procedure.add_double_argument("alpha", "_Alpha", "Style strength: 0 = content, 1 = full style",
                                  *double_spec(wire.ALPHA), rw)
    procedure.add_string_argument("preserve-color", "_Preserve color",
                                  f"Keep the content's colours: {', '.join(rules.COLOR_MODES)}",
                                  wire.PRESERVE_COLOR.default, rw)
    if not frames:
        procedure.add_boolean_argument("use-selection", "Use the s_election",
                                       "Stylise only the selection (soft edges kept)", True, rw)
    procedure.add_double_argument("scale", "_Brush-stroke scale",
                                  f"Working resolution / canvas ({rules.SCALE_MIN:g} to {rules.SCALE_MAX:g})",
                                  *double_spec(wire.SCALE), rw)
    procedure.add_string_argument("server-url", "Server _URL",
                                  "AdaStyle server URL (empty = from the plug-in settings)", "", rw)
    # Added last so positional PDB calls written for the older argument list keep working; none_ok=True
    # makes it optional (GIMP 3.0.4: add_drawable_argument(name, nick, blurb, none_ok, flags)).
    procedure.add_drawable_argument("style-layer", "S_tyle layer",
                                    "A layer of any open image to use as a style too (after the style files)",
                                    True, rw)
    if frames:
        procedure.add_double_argument("stability", "_Stability",
                                      "Smoothing across frames, in frames (0 = each frame on its own; more = "
                                      "less flicker)", *double_spec(wire.STABILITY), rw)
        procedure.add_double_argument("coherence", "_Coherence",
                                      "How strongly each frame follows the previous one along the motion (0 = off; "
                                      "more = steadier texture)", *double_spec(wire.COHERENCE), rw)
    procedure.add_string_argument("library", "_Library styles",
                                  "Library styles or presets by name or id, comma-separated (after the files and "
                                  "the layer)", "", rw)
    if frames:  # last, so positional calls written for the older argument list keep working
        procedure.add_double_argument("coherence-features", "Coherence of _features",
                                      "How strongly each frame's style features follow the previous frame's along "
                                      "the motion, before decoding (0 = off; works with Coherence)",
                                      *double_spec(wire.COHERENCE_FEATURES), rw)


# Dialog order: the style sources together. style-path stays first: the dialog's initial focus is on it, so
# Return accepts the dialog (on the drawable chooser's button it would open the chooser instead).
DIALOG_FIELDS = ("style-path", "style-layer", "library", "weights", "alpha", "preserve-color", "use-selection", "scale",
                 "server-url")
LAYERS_DIALOG_FIELDS = ("style-path", "style-layer", "library", "weights", "alpha", "preserve-color", "scale", "stability",
                        "coherence", "coherence-features", "server-url")


# ---- pixels -------------------------------------------------------------------------------------------
def resolve_layer(drawable: Gimp.Drawable) -> Gimp.Layer:
    """The layer to read: a layer mask stands for its layer; channels are refused."""
    if isinstance(drawable, Gimp.LayerMask):
        return Gimp.Layer.from_mask(drawable)
    if isinstance(drawable, Gimp.Layer):
        return drawable
    raise calling_error("Select a layer to stylise (channels are not supported)")


def layer_offsets(layer: Gimp.Layer) -> tuple[int, int]:
    _, ox, oy = layer.get_offsets()
    return ox, oy


def selection_box(image: Gimp.Image, layer: Gimp.Layer) -> Box | None:
    """The selection's bounds in layer coordinates, clipped to the layer; None when nothing is selected."""
    _, non_empty, x1, y1, x2, y2 = Gimp.Selection.bounds(image)
    if not non_empty:
        return None
    ox, oy = layer_offsets(layer)
    box = (max(0, x1 - ox), max(0, y1 - oy), min(layer.get_width(), x2 - ox), min(layer.get_height(), y2 - oy))
    if box[0] >= box[2] or box[1] >= box[3]:
        raise calling_error(f"The selection does not overlap the layer {layer.get_name()!r}")
    return box


def read_rect(buffer: Gegl.Buffer, x: int, y: int, w: int, h: int, fmt: str, abyss: Gegl.AbyssPolicy) -> bytes:
    return bytes(buffer.get(Gegl.Rectangle.new(x, y, w, h), 1.0, fmt, abyss))


def plan_region(image: Gimp.Image, layer: Gimp.Layer, use_selection: bool) -> Region:
    """The layer box to stylise: the selection's bounds plus context (whole layer without a selection)."""
    w, h = layer.get_width(), layer.get_height()
    sel = selection_box(image, layer) if use_selection else None
    if sel is None:
        return Region((0, 0, w, h), None)
    box = selection.plan_region(w, h, sel)
    ox, oy = layer_offsets(layer)
    # The selection lives in image coordinates: shift the layer box by the layer's offsets.
    mask = read_rect(image.get_selection().get_buffer(), ox + box[0], oy + box[1], box[2] - box[0],
                     box[3] - box[1], MASK_FORMAT, Gegl.AbyssPolicy.NONE)
    if not mask.strip(b"\x00"):
        raise calling_error(f"The selection does not overlap the layer {layer.get_name()!r}")
    return Region(box, mask)


def style_layer_png(drawable: Gimp.Drawable) -> bytes:
    """The whole drawable as a PNG, to upload like a style file (the server resizes styles itself)."""
    w, h = drawable.get_width(), drawable.get_height()
    rgba = read_rect(drawable.get_buffer(), 0, 0, w, h, PIXEL_FORMAT, Gegl.AbyssPolicy.CLAMP)
    return pixels.encode_png(rgba, w, h)


def result_image_type(image: Gimp.Image) -> Gimp.ImageType:
    """A layer type the image allows: GRAYA in a grey image (GEGL converts the RGBA result on write)."""
    if image.get_base_type() == Gimp.ImageBaseType.GRAY:
        return Gimp.ImageType.GRAYA_IMAGE
    return Gimp.ImageType.RGBA_IMAGE


def add_result_layer(image: Gimp.Image, source: Gimp.Layer, region: Region, rgba: bytes, name: str) -> Gimp.Layer:
    """The new layer above `source`, in one undo group; masked by the selection when one was used."""
    image.undo_group_start()
    layer = None
    try:
        layer = Gimp.Layer.new(image, name, region.width, region.height, result_image_type(image), 100.0,
                               Gimp.LayerMode.NORMAL)
        # Inserting at the source's position in the source's parent puts the new layer directly above it.
        image.insert_layer(layer, source.get_parent(), image.get_item_position(source))
        ox, oy = layer_offsets(source)
        layer.set_offsets(ox + region.box[0], oy + region.box[1])
        buffer = layer.get_buffer()
        buffer.set(Gegl.Rectangle.new(0, 0, region.width, region.height), PIXEL_FORMAT, rgba)
        buffer.flush()
        layer.update(0, 0, region.width, region.height)
        if region.mask is not None:
            layer.add_mask(layer.create_mask(Gimp.AddMaskType.SELECTION))  # keeps the feathered edge
    except Exception:
        if layer is not None and layer.get_image() is not None:
            image.remove_layer(layer)  # leave no half-made layer behind
        raise
    finally:
        image.undo_group_end()
    return layer


def read_frame(image: Gimp.Image, layer: Gimp.Layer) -> bytes:
    """The layer over the whole canvas (image coordinates; transparent where the layer does not reach), so
    that every frame has the image's size whatever the layer's size and offsets."""
    ox, oy = layer_offsets(layer)
    return read_rect(layer.get_buffer(), -ox, -oy, image.get_width(), image.get_height(), PIXEL_FORMAT,
                     Gegl.AbyssPolicy.NONE)


def add_frame_layers(image: Gimp.Image, names: list[str], frames: list[bytes]) -> list[Gimp.Layer]:
    """Image-sized layers above all others, in frame order (the last frame on top), in ONE undo group;
    on any failure the layers made so far are removed again."""
    width, height = image.get_width(), image.get_height()
    made: list[Gimp.Layer] = []
    image.undo_group_start()
    try:
        for name, rgba in zip(names, frames):
            layer = Gimp.Layer.new(image, name, width, height, result_image_type(image), 100.0,
                                   Gimp.LayerMode.NORMAL)
            image.insert_layer(layer, None, 0)  # on top: each later frame above the earlier ones
            made.append(layer)
            buffer = layer.get_buffer()
            buffer.set(Gegl.Rectangle.new(0, 0, width, height), PIXEL_FORMAT, rgba)
            buffer.flush()
            layer.update(0, 0, width, height)
    except Exception:
        for layer in made:
            if layer.get_image() is not None:
                image.remove_layer(layer)
        raise
    finally:
        image.undo_group_end()
    return made


# ---- server -------------------------------------------------------------------------------------------
def connect(server_url: str) -> http.Client:
    """A client with a healthy server, started with the configured command if it is down."""
    conn = http.Client(url=server_url or None, settings_path=SETTINGS_PATH)

    def on_wait(message: str) -> None:
        Gimp.progress_set_text(message)

    Gimp.progress_init(f"AdaStyle: connecting to {conn.url}…")
    try:
        conn.ensure_running(on_wait=on_wait)
    except PluginError as exc:
        raise unavailable(exc) from None
    return conn


class CancelWindow:
    """Interactive runs only: a small window with a progress bar and a Cancel button.

    GIMP's own progress Cancel kills the plug-in process, which would leave the job running on the server;
    this window lets the plug-in cancel the job itself. GTK events are pumped from the poll callbacks.
    """

    def __init__(self, title: str) -> None:
        gi.require_version("Gtk", "3.0")
        from gi.repository import Gtk

        self._gtk = Gtk
        self.cancelled = False
        self.window = Gtk.Dialog(title=title)
        self.window.add_button("_Cancel", Gtk.ResponseType.CANCEL)
        self.window.connect("response", self._on_cancel)
        self.window.connect("delete-event", self._on_cancel)
        self.bar = Gtk.ProgressBar(show_text=True)
        self.bar.set_size_request(320, -1)
        box = self.window.get_content_area()
        box.set_border_width(12)
        box.pack_start(self.bar, True, True, 6)
        self.window.show_all()
        self.pump()

    def _on_cancel(self, *_args: object) -> bool:
        self.cancelled = True
        self.bar.set_text("Cancelling…")
        return True

    def pump(self) -> None:
        while self._gtk.events_pending():
            self._gtk.main_iteration_do(False)

    def progress(self, fraction: float) -> None:
        self.bar.set_fraction(max(0.0, min(1.0, fraction)))
        self.pump()

    def should_cancel(self) -> bool:
        self.pump()
        return self.cancelled

    def close(self) -> None:
        self.window.destroy()
        self.pump()


def make_callbacks(window: CancelWindow | None) -> tuple[Callable[[float], None], Callable[[], bool]]:
    """progress and should_cancel for client.wait: GIMP's progress bar, plus the Cancel window if any."""

    def progress(fraction: float) -> None:
        Gimp.progress_update(max(0.0, min(1.0, fraction)))
        if window is not None:
            window.progress(fraction)

    def should_cancel() -> bool:
        return window.should_cancel() if window is not None else False

    return progress, should_cancel


def style_fields(conn: http.Client, params: Params) -> dict[str, object]:
    """The request's library styles, weights and settings: a preset chosen alone brings its own settings.
    An unknown name is the caller's mistake (CALLING_ERROR); a server that fails to list is the server's."""
    if not params.library:
        return {"style_ids": [], "weights": params.weights, "alpha": params.alpha,
                "preserve_color": params.preserve_color, "scale": params.scale}
    try:
        entries = conn.library()
    except PluginError as exc:
        raise from_server(exc) from None
    ids, weights, settings = library_request(entries, params)
    return {"style_ids": ids, "weights": weights, "alpha": settings.get("alpha", params.alpha),
            "preserve_color": settings.get("preserve_color", params.preserve_color),
            "scale": settings.get("scale", params.scale)}


def stylize(conn: http.Client, params: Params, styles: list[str | bytes], rgba: bytes, region: Region,
            window: CancelWindow | None) -> bytes:
    """Raw RGBA of the stylised box from the server; PluginError with the server's message on failure.

    `styles` are paths or PNG bytes (a style layer), in the order the weights follow.
    """
    fields = style_fields(conn, params)
    progress, should_cancel = make_callbacks(window)
    Gimp.progress_init("AdaIN style transfer…")
    try:
        # The one selection strategy (adastyle_plugin.selection): the box is sent without the selection,
        # which shapes the result once, as the new layer's mask.
        data, headers = conn.stylize(styles=styles, rgba=(rgba, region.width, region.height),
                                     result_format="rgba", progress=progress, should_cancel=should_cancel,
                                     **fields)
        pixels.check_answer(data, headers, region.width, region.height)
    except PluginError as exc:
        raise from_server(exc) from None
    Gimp.progress_update(1.0)
    return data


def stylize_frames(conn: http.Client, params: Params, styles: list[str | bytes], frames: list[bytes],
                   size: tuple[int, int], window: CancelWindow | None) -> list[bytes]:
    """Raw RGBA of every stylised frame: ONE sequence job on the server (statistics smoothed across frames)."""
    fields = style_fields(conn, params)
    progress, should_cancel = make_callbacks(window)
    Gimp.progress_init(f"AdaIN style transfer of {len(frames)} frames…")
    try:
        answers = conn.stylize_sequence(frames, styles, size=size, stability=params.stability,
                                        coherence=params.coherence, coherence_features=params.coherence_features,
                                        result_format="rgba", progress=progress,
                                        should_cancel=should_cancel, **fields)
        for data, headers in answers:
            pixels.check_answer(data, headers, size[0], size[1])
    except PluginError as exc:
        raise from_server(exc) from None
    Gimp.progress_update(1.0)
    return [data for data, _ in answers]


# ---- the procedures -----------------------------------------------------------------------------------
def show_dialog(procedure: Gimp.Procedure, config: Gimp.ProcedureConfig, drawable: Gimp.Drawable | None = None) -> bool:
    """The procedure dialog over the arguments, with the library panel below; GIMP remembers the values.
    False = cancelled."""
    gi.require_version("GimpUi", "3.0")
    from gi.repository import GimpUi

    layers = procedure.get_name() == PROC_LAYERS
    GimpUi.init(procedure.get_name())
    for name in ("style-path", "weights", "preserve-color", "server-url", "library"):
        if config.get_property(name) is None:  # an empty default comes back as NULL, which GtkEntry rejects
            config.set_property(name, "")
    dialog = GimpUi.ProcedureDialog.new(procedure, config,
                                        "AdaIN: Stylise All Layers" if layers else "AdaIN Style Transfer")
    dialog.fill(list(LAYERS_DIALOG_FIELDS if layers else DIALOG_FIELDS))
    try:
        add_library_panel(dialog, config, drawable)
    except Exception as exc:  # noqa: BLE001 - the panel is a help: without it the names still go in 'Library styles'
        print(f"AdaStyle: the library panel could not be shown: {type(exc).__name__}: {exc}", file=sys.stderr)
    try:
        return bool(dialog.run())
    finally:
        dialog.destroy()


def add_library_panel(dialog: Gimp.Dialog, config: Gimp.ProcedureConfig, drawable: Gimp.Drawable | None) -> None:
    """The library's thumbnails under the arguments: picking writes the `library` argument."""
    from library_chooser import LibraryChooser

    def client() -> http.Client:
        return http.Client(url=(config.get_property("server-url") or "").strip() or None, settings_path=SETTINGS_PATH,
                           timeout=10)

    def layer_png() -> tuple[bytes, str]:
        if drawable is None:
            raise PluginError("no layer chosen")
        layer = resolve_layer(drawable)
        return style_layer_png(layer), layer.get_name()

    panel = LibraryChooser(client, parse_library(config.get_property("library")),
                           lambda ids: config.set_property("library", ",".join(ids)), layer_png)
    dialog.get_content_area().pack_start(panel, True, True, 6)
    panel.show_all()


def style_sources(params: Params) -> list[str | bytes]:
    """The style files of the dialog, then the style layer (as PNG bytes) when one is chosen."""
    styles: list[str | bytes] = list(params.styles)
    if params.style_layer is not None:
        styles.append(style_layer_png(params.style_layer))
    return styles


@contextmanager
def cancel_window(interactive: bool, title: str) -> Iterator[CancelWindow | None]:
    """A Cancel window while a job runs (interactive only), always closed afterwards. None where it cannot open
    (no display, GTK trouble): GIMP's progress bar still works."""
    window = None
    if interactive:
        try:
            window = CancelWindow(title)
        except Exception:  # noqa: BLE001 - see above
            window = None
    try:
        yield window
    finally:
        if window is not None:
            window.close()


def stylize_layer(image: Gimp.Image, drawable: Gimp.Drawable, params: Params, interactive: bool) -> Gimp.Layer:
    """Everything after the dialog: check the server, read pixels, stylise, add the layer."""
    layer = resolve_layer(drawable)
    region = plan_region(image, layer, params.use_selection)
    conn = connect(params.server_url)
    rgba = read_rect(layer.get_buffer(), region.box[0], region.box[1], region.width, region.height,
                     PIXEL_FORMAT, Gegl.AbyssPolicy.CLAMP)
    with cancel_window(interactive, "AdaStyle: stylising…") as window:
        result = stylize(conn, params, style_sources(params), rgba, region, window)
    new_layer = add_result_layer(image, layer, region, result, layer_name(params.style_names, params.preserve_color))
    Gimp.displays_flush()
    return new_layer


def stylize_all_layers(image: Gimp.Image, params: Params, interactive: bool) -> list[Gimp.Layer]:
    """Every top-level layer as a frame of one stabilised sequence; the new layers above the originals."""
    sources = frame_layers(list(image.get_layers()), params.style_layer)
    conn = connect(params.server_url)
    frames = [read_frame(image, layer) for layer in sources]
    with cancel_window(interactive, f"AdaStyle: stylising {len(frames)} frames…") as window:
        results = stylize_frames(conn, params, style_sources(params), frames, (image.get_width(), image.get_height()),
                                 window)
    names = [frame_layer_name(layer.get_name(), params.style_names, params.preserve_color) for layer in sources]
    made = add_frame_layers(image, names, results)
    Gimp.displays_flush()
    return made


def run_layers(procedure: Gimp.Procedure, run_mode: Gimp.RunMode, image: Gimp.Image,
               _drawables: list[Gimp.Drawable], config: Gimp.ProcedureConfig, _data: object) -> Gimp.ValueArray:
    """The PDB entry point of "Stylise all layers" (the selected layers do not matter: all are frames)."""
    interactive = run_mode == Gimp.RunMode.INTERACTIVE
    if interactive and not show_dialog(procedure, config):
        return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
    return run_reporting(procedure, "AdaIN Stylise All Layers",
                         lambda: stylize_all_layers(image, read_layers_params(config.get_property), interactive))


def run(procedure: Gimp.Procedure, run_mode: Gimp.RunMode, image: Gimp.Image, drawables: list[Gimp.Drawable],
        config: Gimp.ProcedureConfig, _data: object) -> Gimp.ValueArray:
    """The PDB entry point: every failure becomes an error status with a message; the image stays as it was."""
    interactive = run_mode == Gimp.RunMode.INTERACTIVE
    if len(drawables) != 1:
        return procedure.new_return_values(Gimp.PDBStatusType.CALLING_ERROR,
                                           GLib.Error("AdaIN Style Transfer works on exactly one layer."))
    if interactive and not show_dialog(procedure, config, drawables[0]):
        return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
    return run_reporting(procedure, "AdaIN Style Transfer",
                         lambda: stylize_layer(image, drawables[0], read_params(config.get_property), interactive))


def run_reporting(procedure: Gimp.Procedure, title: str, work: Callable[[], None]) -> Gimp.ValueArray:
    """Run a procedure's work so that every failure becomes an error status with a message, never a crash, and
    the progress bar is always ended."""
    Gegl.init(None)
    try:
        work()
    except PluginError as exc:
        status = getattr(Gimp.PDBStatusType, status_of(exc))
        return procedure.new_return_values(status, GLib.Error(exc.message))
    except Exception as exc:  # noqa: BLE001 - a bug or an API surprise: an error status with a message, not a crash
        return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR,
                                           GLib.Error(f"{title} failed: {type(exc).__name__}: {exc}"))
    finally:
        Gimp.progress_end()
    return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


class AdaStyle(Gimp.PlugIn):
    """Registers the two procedures: one layer, and all layers as the frames of an animation."""

    def do_query_procedures(self) -> list[str]:
        return [PROC_NAME, PROC_LAYERS]

    def do_set_i18n(self, _name: str) -> bool:
        return False

    def do_create_procedure(self, name: str) -> Gimp.Procedure:
        if name == PROC_LAYERS:
            return self._create_layers_procedure(name)
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run, None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        procedure.set_menu_label("AdaIN Style Transfer…")
        procedure.add_menu_path("<Image>/Filters/Artistic")
        procedure.set_documentation(
            "Arbitrary style transfer (AdaIN) through the local AdaStyle server",
            "Repaints the layer, or the selection, in the style of one or more images. The result is a new "
            "layer above the source, masked by the selection; the source layer is not changed. Needs the "
            "AdaStyle server (`adastyle serve --background`); it is started with the configured command "
            "when it is not running.",
            name)
        procedure.set_attribution("AdaStyle", "AdaStyle contributors (MIT)", "2025")
        add_arguments(procedure)
        return procedure

    def _create_layers_procedure(self, name: str) -> Gimp.Procedure:
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, run_layers, None)
        procedure.set_image_types("RGB*, GRAY*")
        mask = Gimp.ProcedureSensitivityMask
        procedure.set_sensitivity_mask(mask.DRAWABLE | mask.DRAWABLES | mask.NO_DRAWABLES)
        procedure.set_menu_label("AdaIN: Stylise All Layers…")
        procedure.add_menu_path("<Image>/Filters/Artistic")
        procedure.set_documentation(
            "AdaIN style transfer of every layer, as the frames of an animation",
            "Stylises every top-level layer (layers as frames, the bottom one first) as one sequence whose "
            "statistics are smoothed across the frames, so the animation does not flicker. The new layers, "
            "one per frame, go above the original layers in the same order; the originals are not changed; "
            "one undo step removes them. Needs the AdaStyle server.",
            name)
        procedure.set_attribution("AdaStyle", "AdaStyle contributors (MIT)", "2025")
        add_arguments(procedure, frames=True)
        return procedure


if __name__ == "__main__":
    Gimp.main(AdaStyle.__gtype__, sys.argv)

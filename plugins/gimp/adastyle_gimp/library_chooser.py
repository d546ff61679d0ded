"""The dialog's library panel: the server's styles and presets as thumbnails, a search box, and buttons that
add the chosen layer or a file to the library. Picking entries writes their ids into the `library` argument.

GTK 3 (GIMP 3's toolkit) only; what is listed and how a search filters it is the toolkit's
(adastyle_plugin.library), the same as in the Krita docker and on the page. A server that does not answer
leaves a one-line note in the panel: the rest of the dialog still works with style files.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("GdkPixbuf", "2.0")
from gi.repository import GdkPixbuf, Gtk  # noqa: E402

from adastyle_plugin import library  # noqa: E402
from adastyle_plugin.errors import PluginError  # noqa: E402
from adastyle_plugin.http import Client  # noqa: E402

THUMB = 72  # px
COL_ID, COL_LABEL, COL_PIXBUF = 0, 1, 2


def pixbuf_of(data: bytes) -> Any:
    """A thumbnail-sized pixbuf of encoded image bytes (None when GTK cannot read them)."""
    loader = GdkPixbuf.PixbufLoader()
    try:
        loader.write(data)
        loader.close()
    except Exception:  # noqa: BLE001 - a thumbnail that cannot be read shows as a name only
        return None
    pix = loader.get_pixbuf()
    scale = THUMB / max(pix.get_width(), pix.get_height(), 1)
    return pix.scale_simple(max(1, int(pix.get_width() * scale)), max(1, int(pix.get_height() * scale)),
                            GdkPixbuf.InterpType.BILINEAR)


class LibraryChooser(Gtk.Box):
    """Search box, thumbnail grid (several may be picked), and "Add layer" / "Add file…" buttons.

    `on_pick(ids)` gets the picked entry ids whenever the selection changes; `layer_png()` gives the chosen
    layer as PNG bytes with its name, for "Add layer to library".
    """

    def __init__(self, client: Callable[[], Client], picked: List[str], on_pick: Callable[[List[str]], None],
                 layer_png: Callable[[], Any]) -> None:
        super().__init__(orientation=Gtk.Orientation.VERTICAL, spacing=4)
        self._client = client
        self._on_pick = on_pick
        self._layer_png = layer_png
        self.entries: List[Dict[str, Any]] = []
        self._thumbs: Dict[str, Any] = {}
        self._picked = list(picked)
        self.search = Gtk.SearchEntry()
        self.search.set_placeholder_text("Search library styles (name or tag)")
        self.search.connect("search-changed", lambda *_: self.refilter())
        self.store = Gtk.ListStore(str, str, GdkPixbuf.Pixbuf)
        self.view = Gtk.IconView.new_with_model(self.store)
        self.view.set_text_column(COL_LABEL)
        self.view.set_pixbuf_column(COL_PIXBUF)
        self.view.set_item_width(THUMB + 8)
        self.view.set_selection_mode(Gtk.SelectionMode.MULTIPLE)
        self.view.connect("selection-changed", self._selection_changed)
        scroller = Gtk.ScrolledWindow()
        # Two whole rows with their two-line names and the top of a third (more to scroll), four columns.
        scroller.set_min_content_height(2 * (THUMB + 52) + 40)
        scroller.set_min_content_width(4 * (THUMB + 24))
        scroller.add(self.view)
        self.note = Gtk.Label(label="", xalign=0.0)
        self.note.set_line_wrap(True)
        buttons = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=4)
        # Mnemonics (Alt+D, Alt+I) that no argument of the dialog takes: the keyboard reaches them too.
        for text, slot in (("A_dd layer to library", self.add_layer), ("Add f_ile to library…", self.add_file)):
            button = Gtk.Button.new_with_mnemonic(text)
            button.connect("clicked", lambda *_, s=slot: s())
            buttons.pack_start(button, False, False, 0)
        self.pack_start(Gtk.Label(label="Library styles and presets (click to pick, Ctrl+click for several):",
                                  xalign=0.0), False, False, 0)
        self.pack_start(self.search, False, False, 0)
        self.pack_start(scroller, True, True, 0)
        self.pack_start(buttons, False, False, 0)
        self.pack_start(self.note, False, False, 0)
        self.reload()

    def reload(self) -> None:
        """The listing and the thumbnails not fetched yet (short requests to the local server)."""
        try:
            api = self._client()
            self.entries = api.library()
            for e in self.entries:
                if e["id"] not in self._thumbs:
                    self._thumbs[e["id"]] = pixbuf_of(api.library_thumbnail(e["id"]))
            self.note.set_text("")
        except PluginError as exc:
            self.note.set_text(f"Library unavailable: {exc.message}")
        self.refilter()

    def refilter(self) -> None:
        self._updating = True
        self.store.clear()
        for e in library.search(self.entries, self.search.get_text()):
            label = str(e.get("name", e["id"])) + (" (preset)" if e.get("kind") == "preset" else "")
            it = self.store.append([e["id"], label, self._thumbs.get(e["id"])])
            if e["id"] in self._picked:
                self.view.select_path(self.store.get_path(it))
        self._updating = False

    def _selection_changed(self, *_: Any) -> None:
        # Not a user's pick: the grid being refilled, or the dialog closing (GTK empties the selection of an icon
        # view while it is torn down, after OK, and that must not clear the `library` argument).
        if getattr(self, "_updating", False) or not self.view.get_mapped():
            return
        shown = {row[COL_ID] for row in self.store}
        chosen = [self.store[path][COL_ID] for path in self.view.get_selected_items()]
        # Picks hidden by the search stay picked; those shown follow the grid, in listing order.
        self._picked = [i for i in self._picked if i not in shown] + sorted(
            chosen, key=lambda i: [e["id"] for e in self.entries].index(i))
        self._on_pick(list(self._picked))

    def add_layer(self) -> None:
        try:
            png, name = self._layer_png()
            entry = self._client().library_add_style(png, name)
        except PluginError as exc:
            self.note.set_text(f"Not added: {exc.message}")
            return
        self._added(entry)

    def add_file(self) -> None:
        dialog = Gtk.FileChooserDialog(title="Add a style image to the library", action=Gtk.FileChooserAction.OPEN)
        dialog.add_buttons("_Cancel", Gtk.ResponseType.CANCEL, "_Add", Gtk.ResponseType.OK)
        images = Gtk.FileFilter()
        images.set_name("Images")
        for pattern in ("*.png", "*.jpg", "*.jpeg", "*.webp", "*.bmp", "*.tif", "*.tiff"):
            images.add_pattern(pattern)
        dialog.add_filter(images)
        try:
            path = dialog.get_filename() if dialog.run() == Gtk.ResponseType.OK else None
        finally:
            dialog.destroy()
        if not path:
            return
        try:
            entry = self._client().library_add_style(path, os.path.splitext(os.path.basename(path))[0])
        except PluginError as exc:
            self.note.set_text(f"Not added: {exc.message}")
            return
        self._added(entry)

    def _added(self, entry: Dict[str, Any]) -> None:
        self._picked.append(entry["id"])
        self.reload()
        self._on_pick(list(self._picked))
        self.note.set_text(f"Added '{entry.get('name')}' to the library.")

"""The page's part of the style library: a gallery of library thumbnails (a click adds that style, or a preset's
styles with their weights and settings), a search box, and saving uploaded styles and the current settings
into the library.

Why chosen styles become files of the style upload: everything the page does with styles (the previews, one
weight slider per style, Stylize) already works on that list, so a library style joins it as a copy of its
image in the page's private temporary folder (named `lib-<id>.jpg`, which is how a preset knows it), and
nothing else changes. The library's own folder is never served to the browser.
"""
from __future__ import annotations

import inspect
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from adastyle.imageio import ImageError, open_image
from adastyle.library import PRESET, Entry, Library, LibraryError
from adastyle_plugin.library import search

PICK_PREFIX = "lib-"


def file_paths(files: Any) -> list[str]:
    """The paths of a gr.File value (a list of paths or file objects)."""
    return [f if isinstance(f, str) else getattr(f, "name", None) or str(f) for f in (files or [])]


def picked_id(path: str) -> str | None:
    """The library id of a style the gallery added (None for an upload)."""
    name = Path(path).name
    return name[len(PICK_PREFIX):-4] if name.startswith(PICK_PREFIX) and name.endswith(".jpg") else None


class LibraryPanel:
    """The handlers of the page's library controls, around one Library and a private folder for copies."""

    def __init__(self, library: Library, folder: Path, max_styles: int) -> None:
        self.library = library
        self.folder = folder
        self.max_styles = max_styles
        (folder / "thumbs").mkdir(parents=True, exist_ok=True)

    def _thumb(self, entry: Entry) -> str:
        path = self.folder / "thumbs" / f"{entry.id}.jpg"
        if not path.exists():
            path.write_bytes(self.library.thumbnail(entry.id))
        return str(path)

    def _copy(self, entry: Entry) -> str:
        path = self.folder / f"{PICK_PREFIX}{entry.id}.jpg"
        if not path.exists():
            src = self.library.style_path(entry)
            if entry.bundled:
                shutil.copyfile(src, path)
            else:  # a private file of the user's library: re-encode what the library decoded, never link it
                self.library.style_image(entry).save(path, quality=95)
        return str(path)

    def shown(self, query: str = "", favourites: bool = False) -> tuple[list[tuple[str, str]], list[str]]:
        """(gallery value, the ids in its order) for a search text and the favourites toggle."""
        listing = [e.to_json() for e in self.library.entries()]
        entries = [self.library.get(e["id"]) for e in search(listing, query or "", bool(favourites))]
        gallery = [(self._thumb(e), ("★ " if e.favourite else "") + e.name + (" (preset)" if e.kind == PRESET else ""))
                   for e in entries]
        return gallery, [e.id for e in entries]

    def refresh(self, query: str = "", favourites: bool = False) -> tuple[list[tuple[str, str]], list[str]]:
        return self.shown(query, favourites)

    def pick(self, ids: Sequence[str], files: Any, weights: Sequence[float], evt: gr.SelectData) -> tuple:
        """A click on a thumbnail: (style files, *weight sliders, alpha, colour, scale, status).

        A style joins the chosen styles (once; at most max_styles); a preset replaces them with its styles,
        weights and settings."""
        no_change = (gr.update(),) * (len(weights) + 3)
        try:
            entry = self.library.get(ids[evt.index])
        except (IndexError, TypeError, LibraryError):
            return (gr.update(), *no_change, "⚠️ That library entry is gone: search again.")
        if entry.kind == PRESET:
            parts = self.library.expand(entry)
            paths = [self._copy(style) for style, _ in parts]
            sliders = [gr.update(value=round(w, 3)) if i < len(parts) else gr.update() for i, (_, w) in
                       enumerate(parts + [(None, 0.0)] * (len(weights) - len(parts)))]
            return (paths, *sliders, entry.alpha, entry.preserve_color, entry.scale,
                    f"Preset **{entry.name}**: {len(parts)} style(s) with its weights and settings.")
        paths = file_paths(files)
        copy = self._copy(entry)
        if copy in paths:
            return (gr.update(), *no_change, f"**{entry.name}** is already chosen.")
        if len(paths) >= self.max_styles:
            return (gr.update(), *no_change, f"⚠️ At most {self.max_styles} styles: remove one first.")
        n = len(paths)
        sliders = [gr.update(value=1.0) if i == n else gr.update() for i in range(len(weights))]
        return ([*paths, copy], *sliders, gr.update(), gr.update(), gr.update(), f"Added **{entry.name}**.")

    def pick_handler(self, n_weights: int):
        """`pick` as Gradio calls it: ids, files, one value per weight slider, then the click's SelectData (Gradio
        passes event data only to a parameter annotated with its type, and the sliders are a setting's count)."""
        def handler(*args: Any) -> tuple:
            ids, files, *weights, evt = args
            return self.pick(ids, files, weights, evt)

        param = inspect.Parameter
        names = ["ids", "files", *(f"weight_{i + 1}" for i in range(n_weights))]
        handler.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [param(n, param.POSITIONAL_OR_KEYWORD) for n in names] +
            [param("evt", param.POSITIONAL_OR_KEYWORD, annotation=gr.SelectData)])
        handler.__annotations__ = {"evt": gr.SelectData}
        return handler

    def save_styles(self, files: Any, name: str, tags: str, query: str, favourites: bool) -> tuple:
        """Save the uploaded styles (not those from the library) under `name` (numbered when several)."""
        uploads = [p for p in file_paths(files) if picked_id(p) is None]
        if not uploads:
            return gr.update(), gr.update(), "⚠️ Upload a style image first (styles from the library are in it already)."
        saved = []
        try:
            for i, path in enumerate(uploads):
                label = name if len(uploads) == 1 else f"{name} {i + 1}"
                image = open_image(path, name=Path(path).name)
                saved.append(self.library.add_style(image, label, tags).name)
        except (LibraryError, ImageError) as exc:
            return (*self.shown(query, favourites), f"⚠️ {exc}" + (f" (saved: {', '.join(saved)})" if saved else ""))
        return (*self.shown(query, favourites), f"✅ Saved to the library: {', '.join(saved)}.")

    def save_preset(self, files: Any, name: str, tags: str, query: str, favourites: bool, alpha: float,
                    preserve: str, scale: float, *weights: float) -> tuple:
        """Save the chosen library styles with their weights, alpha, colour mode and stroke scale as a preset."""
        ids = [picked_id(p) for p in file_paths(files)]
        if not ids:
            return gr.update(), gr.update(), "⚠️ Choose styles from the library first."
        if None in ids:
            return (gr.update(), gr.update(),
                    "⚠️ Save the uploaded styles to the library first: a preset is made of library styles.")
        styles = [{"id": i, "weight": w} for i, w in zip(ids, list(weights)[:len(ids)] if len(ids) > 1 else [1.0])]
        try:
            entry = self.library.add_preset(name, styles, tags, alpha=alpha, preserve_color=preserve, scale=scale)
        except LibraryError as exc:
            return gr.update(), gr.update(), f"⚠️ {exc}"
        return (*self.shown(query, favourites), f"✅ Saved the preset **{entry.name}**.")


def library_controls(panel: LibraryPanel, files: gr.File, weights: Sequence[gr.Slider], alpha: gr.Slider,
                     preserve: gr.Radio, scale: gr.Slider) -> None:
    """The library's gallery, search, favourites toggle and save buttons, wired to the page's style controls;
    call inside the page's Blocks where they should appear."""
    first, first_ids = panel.shown()
    with gr.Accordion("Style library: click a thumbnail to add it (a preset brings its weights and settings)",
                      open=True, elem_id="library"):
        with gr.Row():
            query = gr.Textbox(label="Search names and tags", elem_id="library-search", scale=3)
            favourites = gr.Checkbox(label="Favourites only", elem_id="library-favourites", scale=1)
        ids = gr.State(first_ids)
        gallery = gr.Gallery(value=first, columns=8, height=260, object_fit="contain", allow_preview=False,
                             fit_columns=False, interactive=False, show_label=False, elem_id="library-gallery")
        with gr.Row():
            name = gr.Textbox(label="Name", elem_id="library-name", scale=2)
            tags = gr.Textbox(label="Tags (comma-separated)", elem_id="library-tags", scale=2)
            save_styles = gr.Button("Save uploaded styles", elem_id="library-save-styles", scale=1)
            save_preset = gr.Button("Save as preset", elem_id="library-save-preset", scale=1)
        status = gr.Markdown("", elem_id="library-status")
    for trigger in (query.submit, favourites.change):
        trigger(panel.refresh, [query, favourites], [gallery, ids])
    gallery.select(panel.pick_handler(len(weights)), [ids, files, *weights],
                   [files, *weights, alpha, preserve, scale, status])
    save_styles.click(panel.save_styles, [files, name, tags, query, favourites], [gallery, ids, status])
    save_preset.click(panel.save_preset, [files, name, tags, query, favourites, alpha, preserve, scale, *weights],
                      [gallery, ids, status])

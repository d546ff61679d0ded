"""The docker's side of the style library: list it and fetch thumbnails on a worker thread, add a layer or a
file, save the current settings as a preset. The server keeps the library; this only talks to it.

Kept out of docker.py so the docker holds widgets only. What is sent (names, ids, weights) is decided by the
toolkit (adastyle_plugin.library) and logic.py.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

from adastyle_plugin import pixels
from adastyle_plugin.http import Client

from .logic import DockerSettings, bgra_to_rgba, preset_styles
from .qt import QObject, Signal
from .slots import guarded
from .tasks import Task


class LibraryLink(QObject):
    """entries(list): a fresh listing; thumbnail(id, bytes): one thumbnail; message(text, error); added(entry)."""

    entries = Signal(object)
    thumbnail = Signal(str, bytes)
    message = Signal(str, bool)
    added = Signal(object)

    def __init__(self, settings: DockerSettings, client: Callable[[], Client], parent: Any = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.client = client
        self.thumbs: Dict[str, bytes] = {}
        self.listing: List[Dict[str, Any]] = []
        self._tasks: List[Task] = []

    def report(self, text: str, error: bool = False) -> None:
        self.message.emit(text, error)

    def _run(self, work: Callable[[], Any], on_done: Callable[[Any], None]) -> None:
        task = Task(lambda progress, cancelled: work(), self)
        task.done.connect(on_done)
        task.failed.connect(self._on_failed)
        task.finished.connect(self._forget)
        self._tasks.append(task)
        task.start()

    def _forget(self) -> None:
        task = self.sender()
        if task in self._tasks:
            self._tasks.remove(task)
        task.deleteLater()

    @guarded
    def _on_failed(self, exc: Any) -> None:
        raise exc

    # ---- listing --------------------------------------------------------------------------------------
    @guarded
    def refresh(self) -> None:
        """Ask for the listing; thumbnails not yet known follow one by one."""
        api = self.client()
        self._run(lambda: api.library(), self._on_listing)

    @guarded
    def _on_listing(self, entries: Any) -> None:
        self.listing = list(entries)
        self.entries.emit(self.listing)
        missing = [e["id"] for e in self.listing if e["id"] not in self.thumbs]
        if missing:
            api = self.client()
            self._run(lambda: [(i, api.library_thumbnail(i)) for i in missing], self._on_thumbnails)

    @guarded
    def _on_thumbnails(self, pairs: Any) -> None:
        for entry_id, data in pairs:
            self.thumbs[entry_id] = bytes(data)
            self.thumbnail.emit(entry_id, bytes(data))

    def entry(self, entry_id: str) -> Optional[Dict[str, Any]]:
        return next((e for e in self.listing if e.get("id") == entry_id), None)

    # ---- adding ---------------------------------------------------------------------------------------
    @guarded
    def add_pixels(self, bgra: bytes, width: int, height: int, name: str) -> None:
        """A layer's pixels (Krita order) as a new library style named `name`."""
        png = pixels.encode_png(bgra_to_rgba(bgra), width, height)
        api = self.client()
        self._run(lambda: api.library_add_style(png, name), self._on_added)

    @guarded
    def add_file(self, path: str, name: str) -> None:
        api = self.client()
        self._run(lambda: api.library_add_style(path, name), self._on_added)

    @guarded
    def save_preset(self, name: str) -> None:
        """The docker's library styles, weights, strength, colour mode and stroke scale as a preset."""
        s = self.settings
        styles = preset_styles(s.styles, s.weights)
        api = self.client()
        self._run(lambda: api.library_add_preset(name, styles, alpha=s.alpha, preserve_color=s.preserve_color,
                                                 scale=s.scale), self._on_added)

    @guarded
    def _on_added(self, entry: Any) -> None:
        self.report(f"Added '{entry.get('name')}' to the library.")
        self.added.emit(entry)
        self.refresh()

    def shutdown(self) -> None:
        for task in list(self._tasks):
            task.wait(5000)

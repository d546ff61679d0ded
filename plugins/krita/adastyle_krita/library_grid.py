"""The library's thumbnail grid: a search box, a favourites toggle, the grid, and the buttons that add to it.

A widget only: it shows what LibraryLink fetched, filtered with the toolkit's search (the same as the GIMP
dialog's and the page's), and says what the user clicked through its signals.
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence

from adastyle_plugin import library

from .qt import ADJUST, ICON_MODE, STATIC, USER_ROLE, QIcon, QSize, QtWidgets, Signal, pixmap_from_bytes

W = QtWidgets
GRID_THUMB = 72  # px, library thumbnails
STAR = "\u2605"


class LibraryGrid(W.QWidget):
    """chosen(entry): an entry was clicked; favourite(id): its star toggled; add_layer, add_file, save_preset:
    the buttons; search and favourites-only filter the grid."""

    chosen = Signal(object)
    favourite = Signal(str)
    add_layer = Signal()
    add_file = Signal()
    save_preset = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.entries: List[Dict[str, Any]] = []
        self.favourites: Sequence[str] = ()
        self._icons: Dict[str, Any] = {}
        v = W.QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        row = W.QHBoxLayout()
        self.search = W.QLineEdit()
        self.search.setObjectName("adastyle_library_search")
        self.search.setPlaceholderText("Search styles (name or tag)")
        self.search.textChanged.connect(self.refilter)
        self.favourites_only = W.QCheckBox(STAR)
        self.favourites_only.setObjectName("adastyle_library_favourites")
        self.favourites_only.setToolTip("Show favourites only")
        self.favourites_only.toggled.connect(self.refilter)
        row.addWidget(self.search, 1)
        row.addWidget(self.favourites_only)
        v.addLayout(row)
        self.grid = W.QListWidget()
        self.grid.setObjectName("adastyle_library")
        self.grid.setViewMode(ICON_MODE)
        self.grid.setResizeMode(ADJUST)
        self.grid.setIconSize(QSize(GRID_THUMB, GRID_THUMB))
        self.grid.setGridSize(QSize(GRID_THUMB + 16, GRID_THUMB + 30))
        self.grid.setWordWrap(True)
        self.grid.setMovement(STATIC)
        self.grid.setMinimumHeight(GRID_THUMB * 2 + 70)
        self.grid.setToolTip("Click a style to add it (a preset sets its styles and settings); "
                             f"{STAR} marks the selected one as a favourite")
        self.grid.itemClicked.connect(self._clicked)
        v.addWidget(self.grid, 1)
        row = W.QHBoxLayout()
        for text, name, signal, tip in (
                (STAR, "adastyle_library_star", self.favourite, "Mark or unmark the selected entry as a favourite"),
                ("+ Layer", "adastyle_library_add_layer", self.add_layer, "Add the active layer to the library"),
                ("+ File…", "adastyle_library_add_file", self.add_file, "Add an image file to the library"),
                ("Save preset…", "adastyle_library_save_preset", self.save_preset,
                 "Save the chosen library styles, weights and settings as a preset")):
            b = W.QPushButton(text)
            b.setObjectName(name)
            b.setToolTip(tip)
            if signal is self.favourite:
                b.clicked.connect(self._star)
            else:
                b.clicked.connect(lambda *_, s=signal: s.emit())
            row.addWidget(b)
        v.addLayout(row)

    def set_entries(self, entries: Sequence[Dict[str, Any]], favourites: Sequence[str]) -> None:
        self.entries, self.favourites = list(entries), favourites
        self.refilter()

    def set_favourites(self, favourites: Sequence[str]) -> None:
        self.favourites = favourites
        self.refilter()

    def set_thumbnail(self, entry_id: str, data: bytes) -> None:
        pix = pixmap_from_bytes(data)
        if pix.isNull():
            return
        self._icons[entry_id] = QIcon(pix)
        for i in range(self.grid.count()):
            item = self.grid.item(i)
            if item.data(USER_ROLE) == entry_id:
                item.setIcon(self._icons[entry_id])

    def shown(self) -> List[Dict[str, Any]]:
        """The entries the search and the favourites toggle let through, favourites first."""
        marked = [{**e, "favourite": e.get("id") in self.favourites} for e in self.entries]
        found = library.search(marked, self.search.text(), self.favourites_only.isChecked())
        return sorted(found, key=lambda e: not e["favourite"])

    def shown_ids(self) -> List[str]:
        return [self.grid.item(i).data(USER_ROLE) for i in range(self.grid.count())]

    def refilter(self, *_: Any) -> None:
        current = self.current_id()
        self.grid.clear()
        for e in self.shown():
            label = (STAR + " " if e["favourite"] else "") + str(e.get("name", e["id"]))
            if e.get("kind") == "preset":
                label += " (preset)"
            item = W.QListWidgetItem(label)
            item.setData(USER_ROLE, e["id"])
            item.setToolTip(f"{e.get('name')}\n{', '.join(e.get('tags', []))}\n{e.get('licence') or ''}".strip())
            if e["id"] in self._icons:
                item.setIcon(self._icons[e["id"]])
            self.grid.addItem(item)
            if e["id"] == current:
                item.setSelected(True)
                self.grid.setCurrentItem(item)

    def current_id(self) -> Any:
        item = self.grid.currentItem()
        return item.data(USER_ROLE) if item is not None else None

    def select(self, entry_id: str) -> bool:
        """Click the entry `entry_id` as a user would (scripts and tests); False when it is not shown."""
        for i in range(self.grid.count()):
            item = self.grid.item(i)
            if item.data(USER_ROLE) == entry_id:
                self.grid.setCurrentItem(item)
                self._clicked(item)
                return True
        return False

    def _clicked(self, item: Any) -> None:
        entry_id = item.data(USER_ROLE)
        entry = next((e for e in self.entries if e.get("id") == entry_id), None)
        if entry is not None:
            self.chosen.emit(entry)

    def _star(self, *_: Any) -> None:
        entry_id = self.current_id()
        if entry_id is not None:
            self.favourite.emit(entry_id)

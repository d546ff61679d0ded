"""The "AdaIN Style" docker: its widgets and their wiring, nothing else.

What the widgets start lives in small modules: the server's health and start (server_link.py), the jobs
(job_runner.py), the style library (library_link.py, its grid in library_grid.py), live mode (live_mode.py);
the decisions they take are in the Qt-free logic.py and controller.py. Every slot is guarded: whatever fails
ends up as one line in the status label, never as Krita's Python exception dialog.
"""
from __future__ import annotations

import hashlib
import os
import re
import weakref
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from krita import DockWidget, Krita

from adastyle_plugin import library
from adastyle_plugin.http import Client

from .controller import Controller
from .job_runner import JobRunner
from .layers import make_client, read_layer
from .library_grid import LibraryGrid
from .library_link import LibraryLink
from .live_mode import LiveMode
from .logic import (
    COHERENCE_FEATURES_RANGE,
    COHERENCE_RANGE,
    LIVE_SIDE_MAX,
    LIVE_SIDE_MIN,
    MAX_SCALE,
    MIN_SCALE,
    PRESERVE_CHOICES,
    PREVIEW_NAME,
    SETTINGS_GROUP,
    STABILITY_RANGE,
    DockerSettings,
    PluginError,
    is_library_style,
)
from .qt import HORIZONTAL, TEXT_SELECTABLE, QtWidgets, pixmap_from_bytes, qimage_from_bgra
from .server_link import ServerLink
from .slots import guarded
from .widgets import THUMB, StyleRow

W = QtWidgets
DOCKERS: "weakref.WeakSet[AdaStyleDocker]" = weakref.WeakSet()  # for scripts and tests
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)"


def style_folder() -> Path:
    """Where styles taken from layers are saved (Krita's user data folder, so they survive restarts)."""
    base = Krita.getAppDataLocation() if hasattr(Krita, "getAppDataLocation") else ""
    folder = Path(base or Path.home() / ".local" / "share" / "krita") / "adastyle" / "styles"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class AdaStyleDocker(DockWidget):
    """The docker Krita creates once per main window."""

    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("AdaIN Style")
        self.settings = DockerSettings.load(
            lambda key, default: Krita.instance().readSetting(SETTINGS_GROUP, key, default))
        self._rows: List[StyleRow] = []
        self.state = Controller()  # connection and job state (Qt-free)
        self.server = ServerLink(self.state, lambda: self.settings.server_url, self.isVisible, self)
        self.jobs = JobRunner(self.state, self.settings, self.client, lambda: library.names(self.library.listing), self)
        self.library = LibraryLink(self.settings, self.client, self)
        self.live = LiveMode(self.settings, self.client, self.jobs.target, self)
        self._build()
        self._connect()
        self._load_settings_into_ui()
        Krita.instance().notifier().applicationClosing.connect(self.shutdown)
        DOCKERS.add(self)

    # ---- building ------------------------------------------------------------------------------------
    def _build(self) -> None:
        root = W.QWidget()
        v = W.QVBoxLayout(root)
        v.setContentsMargins(4, 4, 4, 4)

        v.addWidget(W.QLabel("Library"))
        self.grid = LibraryGrid()
        v.addWidget(self.grid, 2)

        v.addWidget(W.QLabel("Chosen styles"))
        self.styles = W.QListWidget()
        self.styles.setObjectName("adastyle_styles")
        self.styles.setMinimumHeight(THUMB + 12)
        v.addWidget(self.styles, 1)
        row = W.QHBoxLayout()
        self.add_file_button = self._button("Add file…", "adastyle_add_file", self.add_from_file,
                                            "Add style images from files")
        self.add_layer_button = self._button("From layer", "adastyle_add_layer", self.add_from_layer,
                                             "Use the active layer as a style image")
        row.addWidget(self.add_file_button)
        row.addWidget(self.add_layer_button)
        v.addLayout(row)

        form = W.QFormLayout()
        alpha_row = W.QHBoxLayout()
        self.alpha = W.QSlider(HORIZONTAL)
        self.alpha.setObjectName("adastyle_alpha")
        self.alpha.setRange(0, 100)
        self.alpha.setToolTip("Strength: 0 = content only, 100 = full style")
        self.alpha_label = W.QLabel("1.00")
        alpha_row.addWidget(self.alpha, 1)
        alpha_row.addWidget(self.alpha_label)
        form.addRow("Strength", alpha_row)
        self.preserve = W.QComboBox()
        self.preserve.setObjectName("adastyle_preserve")
        for value, text in zip(PRESERVE_CHOICES, ("None", "Histogram", "Luminance")):
            self.preserve.addItem(text, value)
        self.preserve.setToolTip("Keep the layer's colours: match the style's colours to them (histogram) "
                                 "or stylise brightness only (luminance)")
        form.addRow("Keep colours", self.preserve)
        self.scale = self._spin("adastyle_scale", MIN_SCALE, MAX_SCALE, 0.25,
                                "Working resolution: below 1 gives larger strokes, above 1 finer ones")
        form.addRow("Stroke scale", self.scale)
        self.stability = self._spin("adastyle_stability", *STABILITY_RANGE, 0.5,
                                    "Apply to all frames: smoothing across keyframes, in frames (0 = each keyframe "
                                    "on its own; more = less flicker)")
        form.addRow("Stability", self.stability)
        self.coherence = self._spin("adastyle_coherence", *COHERENCE_RANGE, 0.1,
                                    "Apply to all frames: how strongly each keyframe follows the previous one along "
                                    "the motion (0 = off; more = steadier texture)")
        form.addRow("Coherence", self.coherence)
        self.coherence_features = self._spin("adastyle_coherence_features", *COHERENCE_FEATURES_RANGE, 0.1,
                                             "Apply to all frames: how strongly each keyframe's style features "
                                             "follow the previous keyframe's along the motion, before they are "
                                             "painted (0 = off; works with Coherence)")
        form.addRow("Feature coherence", self.coherence_features)
        self.use_selection = W.QCheckBox("Only the selection")
        self.use_selection.setObjectName("adastyle_selection")
        form.addRow("", self.use_selection)
        v.addLayout(form)

        row = W.QHBoxLayout()
        self.live_toggle = W.QCheckBox("Live")
        self.live_toggle.setObjectName("adastyle_live")
        self.live_toggle.setToolTip(f"Re-stylise a preview into the locked '{PREVIEW_NAME}' layer after every "
                                    "stroke (300 ms after the canvas stops changing)")
        self.live_side = W.QSpinBox()
        self.live_side.setObjectName("adastyle_live_side")
        self.live_side.setRange(LIVE_SIDE_MIN, LIVE_SIDE_MAX)
        self.live_side.setSingleStep(64)
        self.live_side.setSuffix(" px")
        self.live_side.setToolTip("Live preview size: the long side, in pixels (smaller = faster)")
        row.addWidget(self.live_toggle)
        row.addWidget(self.live_side)
        v.addLayout(row)
        self.live_state = W.QLabel("Live: off")
        self.live_state.setObjectName("adastyle_live_state")
        self.live_state.setWordWrap(True)
        v.addWidget(self.live_state)

        row = W.QHBoxLayout()
        self.preview_button = self._button("Preview", "adastyle_preview", self.preview,
                                           f"Quick low-resolution result in a locked '{PREVIEW_NAME}' layer")
        self.apply_button = self._button("Apply", "adastyle_apply", self.apply,
                                         "Full resolution, as a new layer above the active one")
        self.cancel_button = self._button("Cancel", "adastyle_cancel", self.cancel, "Stop the running job")
        self.cancel_button.setEnabled(False)
        for b in (self.preview_button, self.apply_button, self.cancel_button):
            row.addWidget(b)
        v.addLayout(row)
        self.frames_button = self._button("Apply to all frames", "adastyle_apply_frames", self.apply_frames,
                                          "Every keyframe of the active animated layer, stylised into a new "
                                          "animated layer (statistics smoothed across keyframes: no flicker)")
        v.addWidget(self.frames_button)
        self.progress = W.QProgressBar()
        self.progress.setObjectName("adastyle_progress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        v.addWidget(self.progress)
        self.status = W.QLabel("")
        self.status.setObjectName("adastyle_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(TEXT_SELECTABLE)
        v.addWidget(self.status)

        row = W.QHBoxLayout()
        self.connection = W.QLabel("Server: checking…")
        self.connection.setObjectName("adastyle_connection")
        self.connection.setWordWrap(True)
        self.start_button = self._button("Start", "adastyle_start", self.server.start,
                                         "Start the local AdaStyle server")
        self.start_button.setVisible(False)
        row.addWidget(self.connection, 1)
        row.addWidget(self.start_button)
        v.addLayout(row)
        self.url = W.QLineEdit()
        self.url.setObjectName("adastyle_url")
        self.url.setPlaceholderText(make_client().url)
        self.url.setToolTip("Server address; empty = the one install-plugin configured")
        form2 = W.QFormLayout()
        form2.addRow("Server", self.url)
        v.addLayout(form2)
        self.setWidget(root)

    def _button(self, text: str, name: str, slot: Callable[[], Any], tip: str) -> "W.QPushButton":
        b = W.QPushButton(text)
        b.setObjectName(name)
        b.setToolTip(tip)
        b.clicked.connect(lambda *_: slot())
        return b

    def _spin(self, name: str, lo: float, hi: float, step: float, tip: str) -> "W.QDoubleSpinBox":
        spin = W.QDoubleSpinBox()
        spin.setObjectName(name)
        spin.setRange(lo, hi)
        spin.setSingleStep(step)
        spin.setToolTip(tip)
        return spin

    def _connect(self) -> None:
        for signal in (self.alpha.valueChanged, self.preserve.currentIndexChanged, self.scale.valueChanged,
                       self.stability.valueChanged, self.coherence.valueChanged,
                       self.coherence_features.valueChanged, self.use_selection.toggled,
                       self.live_side.valueChanged):
            signal.connect(self.on_controls_changed)
        self.url.editingFinished.connect(self.on_url_changed)
        self.live_toggle.toggled.connect(self.on_live_toggled)
        self.server.changed.connect(self.render_connection)
        self.server.message.connect(self.show_message)
        self.jobs.message.connect(self.show_message)
        self.jobs.progress.connect(self.progress.setValue)
        self.jobs.running.connect(self._set_running)
        self.jobs.connection.connect(self.render_connection)
        self.library.message.connect(self.show_message)
        self.library.entries.connect(lambda entries: self.grid.set_entries(entries, self.settings.favourites))
        self.library.thumbnail.connect(self.on_thumbnail)
        self.live.state.connect(self.live_state.setText)
        self.grid.chosen.connect(self.choose_entry)
        self.grid.favourite.connect(self.toggle_favourite)
        self.grid.add_layer.connect(self.add_layer_to_library)
        self.grid.add_file.connect(self.add_file_to_library)
        self.grid.save_preset.connect(self.save_preset)

    def _load_settings_into_ui(self) -> None:
        s = self.settings
        widgets = (self.alpha, self.preserve, self.scale, self.use_selection, self.stability, self.coherence,
                   self.coherence_features, self.live_side)
        for w in widgets:
            w.blockSignals(True)
        self.alpha.setValue(round(s.alpha * 100))
        self.alpha_label.setText(f"{s.alpha:.2f}")
        self.preserve.setCurrentIndex(max(0, PRESERVE_CHOICES.index(s.preserve_color)))
        self.scale.setValue(s.scale)
        self.use_selection.setChecked(s.use_selection)
        self.stability.setValue(s.stability)
        self.coherence.setValue(s.coherence)
        self.coherence_features.setValue(s.coherence_features)
        self.live_side.setValue(s.live_side)
        self.url.setText(s.server_url)
        for w in widgets:
            w.blockSignals(False)
        self._rebuild_styles()

    def _rebuild_styles(self) -> None:
        self.styles.clear()
        self._rows = []
        for path, weight in zip(self.settings.styles, self.settings.weights):
            label, pixmap = None, None
            if is_library_style(path):
                entry_id = path[len(library.LIB_PREFIX):]
                entry = self.library.entry(entry_id)
                label = str(entry.get("name")) if entry else entry_id
                data = self.library.thumbs.get(entry_id)
                pixmap = pixmap_from_bytes(data) if data else None
            row = StyleRow(path, weight, self.on_weights_changed, self.remove_style, label, pixmap)
            item = W.QListWidgetItem()
            item.setSizeHint(row.sizeHint())
            self.styles.addItem(item)
            self.styles.setItemWidget(item, row)
            self._rows.append(row)
        several = len(self._rows) > 1
        for row in self._rows:
            row.weight.setVisible(several)

    # ---- settings ------------------------------------------------------------------------------------
    def report(self, text: str, error: bool = False) -> None:
        self.show_message(text, error)

    def save_settings(self) -> None:
        self.settings.save(lambda key, value: Krita.instance().writeSetting(SETTINGS_GROUP, key, value))

    @guarded
    def on_controls_changed(self, *_: Any) -> None:
        s = self.settings
        s.alpha = self.alpha.value() / 100.0
        self.alpha_label.setText(f"{s.alpha:.2f}")
        s.preserve_color = str(self.preserve.currentData() or "none")
        s.scale = float(self.scale.value())
        s.use_selection = self.use_selection.isChecked()
        s.stability = float(self.stability.value())
        s.coherence = float(self.coherence.value())
        s.coherence_features = float(self.coherence_features.value())
        s.live_side = int(self.live_side.value())
        self.save_settings()
        self.live.changed()

    @guarded
    def on_weights_changed(self, *_: Any) -> None:
        self.settings.weights = [row.weight.value() for row in self._rows]
        self.save_settings()
        self.live.changed()

    @guarded
    def on_url_changed(self) -> None:
        url = self.url.text().strip()
        if url != self.settings.server_url:
            self.settings.server_url = url
            self.save_settings()
            self.check_server()

    # ---- chosen styles -------------------------------------------------------------------------------
    def set_styles(self, paths: List[str], weights: Optional[List[float]] = None) -> None:
        """Replace the chosen styles: image paths and library styles (`lib:<id>`) (scripts and tests)."""
        self.settings.styles = [str(p) for p in paths]
        self.settings.weights = list(weights) if weights else [1.0] * len(paths)
        self.save_settings()
        self._rebuild_styles()
        self.live.changed()

    def weight_spins(self) -> List["W.QDoubleSpinBox"]:
        """The weight boxes of the current styles, in order (scripts and tests)."""
        return [row.weight for row in self._rows]

    def add_style(self, path: str) -> None:
        if path in self.settings.styles:
            return
        self.set_styles(self.settings.styles + [path], self.settings.weights + [1.0])

    @guarded
    def remove_style(self, path: str) -> None:
        if path in self.settings.styles:
            i = self.settings.styles.index(path)
            self.set_styles(self.settings.styles[:i] + self.settings.styles[i + 1:],
                            self.settings.weights[:i] + self.settings.weights[i + 1:])

    @guarded
    def add_from_file(self) -> None:
        start = os.path.dirname(self.settings.styles[-1]) if self.settings.styles else str(Path.home())
        paths, _ = W.QFileDialog.getOpenFileNames(self, "Add style images", start, IMAGE_FILTER)
        for p in paths:
            self.add_style(p)

    @guarded
    def add_from_layer(self) -> None:
        """Save the active layer (inside the image) as a PNG style and add it."""
        doc = Krita.instance().activeDocument()
        node = doc.activeNode() if doc else None
        data, w, h = read_layer(doc, node)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", node.name()).strip("_") or "layer"
        path = style_folder() / f"{safe}-{hashlib.sha1(data).hexdigest()[:8]}.png"
        if not qimage_from_bgra(data, w, h).save(str(path), "PNG"):
            raise PluginError(f"cannot write {path}")
        self.add_style(str(path))
        self.show_message(f"Added layer '{node.name()}' as a style.")

    # ---- the library ---------------------------------------------------------------------------------
    @guarded
    def choose_entry(self, entry: Dict[str, Any]) -> None:
        """A click in the grid: a style joins the chosen ones; a preset replaces them and sets its settings."""
        if entry.get("kind") != "preset":
            self.add_style(library.LIB_PREFIX + str(entry["id"]))
            return
        ids, weights, settings = library.job_styles([(entry, 1.0)])
        s = self.settings
        s.alpha = settings.get("alpha", s.alpha)
        s.preserve_color = settings.get("preserve_color", s.preserve_color)
        s.scale = settings.get("scale", s.scale)
        self.set_styles(ids, weights)
        self._load_settings_into_ui()
        self.show_message(f"Preset '{entry.get('name')}' chosen.")

    @guarded
    def toggle_favourite(self, entry_id: str) -> None:
        favs = self.settings.favourites
        self.settings.favourites = [f for f in favs if f != entry_id] if entry_id in favs else favs + [entry_id]
        self.save_settings()
        self.grid.set_favourites(self.settings.favourites)

    def on_thumbnail(self, entry_id: str, data: bytes) -> None:
        self.grid.set_thumbnail(entry_id, data)
        if library.LIB_PREFIX + entry_id in self.settings.styles:
            self._rebuild_styles()

    def _ask_name(self, title: str, default: str) -> Optional[str]:
        name, ok = W.QInputDialog.getText(self, title, "Name in the library:", text=default)
        return name.strip() if ok and name.strip() else None

    @guarded
    def add_layer_to_library(self, name: Optional[str] = None) -> None:
        """The active layer as a new library style (asks for its name unless given)."""
        doc = Krita.instance().activeDocument()
        node = doc.activeNode() if doc else None
        data, w, h = read_layer(doc, node)
        name = name or self._ask_name("Add layer to library", node.name())
        if name:
            self.library.add_pixels(data, w, h, name)

    @guarded
    def add_file_to_library(self, path: Optional[str] = None, name: Optional[str] = None) -> None:
        """An image file as a new library style (asks for the file and its name unless given)."""
        if not path:
            path, _ = W.QFileDialog.getOpenFileName(self, "Add a style to the library", str(Path.home()),
                                                    IMAGE_FILTER)
        if not path:
            return
        name = name or self._ask_name("Add file to library", Path(path).stem)
        if name:
            self.library.add_file(path, name)

    @guarded
    def save_preset(self, name: Optional[str] = None) -> None:
        """The chosen library styles with their weights and the current settings, as a preset."""
        name = name or self._ask_name("Save preset", "My preset")
        if name:
            self.library.save_preset(name)

    # ---- live mode -----------------------------------------------------------------------------------
    @guarded
    def on_live_toggled(self, on: bool) -> None:
        if on:
            self.live.start()
            if not self.live.active:  # refused (said in the live line): the box follows
                self.live_toggle.blockSignals(True)
                self.live_toggle.setChecked(False)
                self.live_toggle.blockSignals(False)
        else:
            self.live.stop()

    # ---- server and jobs -----------------------------------------------------------------------------
    def client(self) -> Client:
        return make_client(self.settings.server_url or None)

    def check_server(self) -> None:
        self.server.check()

    @property
    def connected(self) -> Optional[bool]:
        """None before the first check, then whether the server answers."""
        return self.state.connected

    def render_connection(self) -> None:
        self.connection.setText(self.state.connection_line())
        self.connection.setStyleSheet("color: #d0352b;" if self.state.connection_is_error() else "")
        self.start_button.setVisible(self.state.start_button_visible())
        if self.state.connected and not self.library.listing:
            self.library.refresh()

    def is_busy(self) -> bool:
        return self.state.busy

    def preview(self) -> None:
        self.jobs.preview()

    def apply(self) -> None:
        self.jobs.apply()

    def apply_frames(self) -> None:
        self.jobs.apply_frames()

    def cancel(self) -> None:
        self.jobs.cancel()

    def _set_running(self, running: bool) -> None:
        self.frames_button.setEnabled(not running)
        self.preview_button.setEnabled(not running)
        self.apply_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if running:
            self.progress.setValue(0)

    # ---- misc ----------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Krita is closing: stop the timers, cancel and wait briefly for the threads."""
        self.live.shutdown()
        self.server.shutdown()
        self.jobs.shutdown()
        self.library.shutdown()

    def show_message(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #d0352b;" if error else "")

    def status_text(self) -> str:
        return self.status.text()

    def connection_text(self) -> str:
        return self.connection.text()

    def canvasChanged(self, canvas: Any) -> None:  # required by Krita
        pass

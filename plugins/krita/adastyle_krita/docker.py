"""The "AdaIN Style" docker: styles with thumbnails and weights, controls, Preview / Apply / Cancel.

Reading and writing layers happens on the UI thread (layers.py); the request runs in a Task thread.
Every slot is guarded: whatever fails ends up as one line in the status label, never as Krita's
Python exception dialog.
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
import sys
import traceback
import weakref
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

from krita import DockWidget, Krita

from adastyle_plugin.http import Client

from .controller import Controller
from .layers import check_layer, make_client, read_frames_spec, read_spec, write_frames, write_result
from .logic import (
    COHERENCE_RANGE,
    MAX_SCALE,
    MIN_SCALE,
    PRESERVE_CHOICES,
    PREVIEW_NAME,
    SETTINGS_GROUP,
    STABILITY_RANGE,
    PluginError,
    Settings,
    clip_box,
    friendly_error,
    run_frames_job,
    run_job,
)
from .qt import (
    HORIZONTAL,
    TEXT_SELECTABLE,
    QTimer,
    QtWidgets,
    qimage_from_bgra,
    to_bytes,
)
from .tasks import Task
from .widgets import THUMB, StyleRow

W = QtWidgets
DOCKERS: "weakref.WeakSet[AdaStyleDocker]" = weakref.WeakSet()  # for scripts and tests
HEALTH_INTERVAL_MS = 15000


def guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a slot; any exception becomes a status message (and a traceback on stderr for debugging)."""

    @functools.wraps(method)
    def wrapper(self: "AdaStyleDocker", *args: Any) -> Any:
        try:
            return method(self, *args)
        except Exception as exc:  # noqa: BLE001 - the whole point
            if not isinstance(exc, PluginError):
                traceback.print_exc(file=sys.stderr)
            self.show_message(friendly_error(exc), error=True)
            return None

    return wrapper


def probe(api: Client) -> Tuple[str, Optional[Dict[str, Any]], Optional[Exception]]:
    """(url, health, None) or (url, None, error): worker-thread side of the connection check."""
    try:
        return api.url, api.health(), None
    except PluginError as exc:
        return api.url, None, exc


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
        self.settings = Settings.load(lambda key, default: Krita.instance().readSetting(SETTINGS_GROUP, key, default))
        self._rows: List[StyleRow] = []
        self.state = Controller()  # connection and job state (Qt-free); the Tasks below are only threads
        self._job: Optional[Task] = None
        self._health: Optional[Task] = None
        self._recheck = False
        self._starting: Optional[Task] = None
        self._last_source: Any = None
        self._build()
        self._load_settings_into_ui()
        self._timer = QTimer(self)
        self._timer.setInterval(HEALTH_INTERVAL_MS)
        self._timer.timeout.connect(self.check_server)
        self._timer.start()
        QTimer.singleShot(0, self.check_server)
        Krita.instance().notifier().applicationClosing.connect(self.shutdown)
        DOCKERS.add(self)

    # ---- building ------------------------------------------------------------------------------------
    def _build(self) -> None:
        root = W.QWidget()
        v = W.QVBoxLayout(root)
        v.setContentsMargins(4, 4, 4, 4)

        v.addWidget(W.QLabel("Styles"))
        self.styles = W.QListWidget()
        self.styles.setObjectName("adastyle_styles")
        self.styles.setMinimumHeight(THUMB * 2 + 12)
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
        self.alpha.valueChanged.connect(self.on_controls_changed)
        alpha_row.addWidget(self.alpha, 1)
        alpha_row.addWidget(self.alpha_label)
        form.addRow("Strength", alpha_row)
        self.preserve = W.QComboBox()
        self.preserve.setObjectName("adastyle_preserve")
        for value, text in zip(PRESERVE_CHOICES, ("None", "Histogram", "Luminance")):
            self.preserve.addItem(text, value)
        self.preserve.setToolTip("Keep the layer's colours: match the style's colours to them (histogram) "
                                 "or stylise brightness only (luminance)")
        self.preserve.currentIndexChanged.connect(self.on_controls_changed)
        form.addRow("Keep colours", self.preserve)
        self.scale = W.QDoubleSpinBox()
        self.scale.setObjectName("adastyle_scale")
        self.scale.setRange(MIN_SCALE, MAX_SCALE)  # the server's limits
        self.scale.setSingleStep(0.25)
        self.scale.setToolTip("Working resolution: below 1 gives larger strokes, above 1 finer ones")
        self.scale.valueChanged.connect(self.on_controls_changed)
        form.addRow("Stroke scale", self.scale)
        self.stability = W.QDoubleSpinBox()
        self.stability.setObjectName("adastyle_stability")
        self.stability.setRange(*STABILITY_RANGE)
        self.stability.setSingleStep(0.5)
        self.stability.setToolTip("Apply to all frames: smoothing across keyframes, in frames (0 = each keyframe on "
                                  "its own; more = less flicker)")
        self.stability.valueChanged.connect(self.on_controls_changed)
        form.addRow("Stability", self.stability)
        self.coherence = W.QDoubleSpinBox()
        self.coherence.setObjectName("adastyle_coherence")
        self.coherence.setRange(*COHERENCE_RANGE)
        self.coherence.setSingleStep(0.1)
        self.coherence.setToolTip("Apply to all frames: how strongly each keyframe follows the previous one along the "
                                  "motion (0 = off; more = steadier texture)")
        self.coherence.valueChanged.connect(self.on_controls_changed)
        form.addRow("Coherence", self.coherence)
        self.use_selection = W.QCheckBox("Only the selection")
        self.use_selection.setObjectName("adastyle_selection")
        self.use_selection.toggled.connect(self.on_controls_changed)
        form.addRow("", self.use_selection)
        v.addLayout(form)

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
        self.start_button = self._button("Start", "adastyle_start", self.start_server,
                                         "Start the local AdaStyle server")
        self.start_button.setVisible(False)
        row.addWidget(self.connection, 1)
        row.addWidget(self.start_button)
        v.addLayout(row)
        self.url = W.QLineEdit()
        self.url.setObjectName("adastyle_url")
        self.url.setPlaceholderText(make_client().url)
        self.url.setToolTip("Server address; empty = the one install-plugin configured")
        self.url.editingFinished.connect(self.on_url_changed)
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

    def _load_settings_into_ui(self) -> None:
        s = self.settings
        widgets = (self.alpha, self.preserve, self.scale, self.use_selection, self.stability, self.coherence)
        for w in widgets:
            w.blockSignals(True)
        self.alpha.setValue(round(s.alpha * 100))
        self.alpha_label.setText(f"{s.alpha:.2f}")
        self.preserve.setCurrentIndex(max(0, PRESERVE_CHOICES.index(s.preserve_color)))
        self.scale.setValue(s.scale)
        self.use_selection.setChecked(s.use_selection)
        self.stability.setValue(s.stability)
        self.coherence.setValue(s.coherence)
        self.url.setText(s.server_url)
        for w in widgets:
            w.blockSignals(False)
        self._rebuild_styles()

    def _rebuild_styles(self) -> None:
        self.styles.clear()
        self._rows = []
        for path, weight in zip(self.settings.styles, self.settings.weights):
            row = StyleRow(path, weight, self.on_weights_changed, self.remove_style)
            item = W.QListWidgetItem()
            item.setSizeHint(row.sizeHint())
            self.styles.addItem(item)
            self.styles.setItemWidget(item, row)
            self._rows.append(row)
        several = len(self._rows) > 1
        for row in self._rows:
            row.weight.setVisible(several)

    # ---- settings ------------------------------------------------------------------------------------
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
        self.save_settings()

    @guarded
    def on_weights_changed(self, *_: Any) -> None:
        self.settings.weights = [row.weight.value() for row in self._rows]
        self.save_settings()

    @guarded
    def on_url_changed(self) -> None:
        url = self.url.text().strip()
        if url != self.settings.server_url:
            self.settings.server_url = url
            self.save_settings()
            self.check_server()

    # ---- styles --------------------------------------------------------------------------------------
    def set_styles(self, paths: List[str], weights: Optional[List[float]] = None) -> None:
        """Replace the style list (scripts and tests)."""
        self.settings.styles = [str(p) for p in paths]
        self.settings.weights = list(weights) if weights else [1.0] * len(paths)
        self.save_settings()
        self._rebuild_styles()

    def weight_spins(self) -> List["W.QDoubleSpinBox"]:
        """The weight boxes of the current styles, in order (scripts and tests)."""
        return [row.weight for row in self._rows]

    def add_style(self, path: str) -> None:
        if path in self.settings.styles:
            return
        self.settings.styles.append(path)
        self.settings.weights.append(1.0)
        self.save_settings()
        self._rebuild_styles()

    @guarded
    def remove_style(self, path: str) -> None:
        if path in self.settings.styles:
            i = self.settings.styles.index(path)
            del self.settings.styles[i]
            del self.settings.weights[i]
            self.save_settings()
            self._rebuild_styles()

    @guarded
    def add_from_file(self) -> None:
        start = os.path.dirname(self.settings.styles[-1]) if self.settings.styles else str(Path.home())
        paths, _ = W.QFileDialog.getOpenFileNames(self, "Add style images", start,
                                                  "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)")
        for p in paths:
            self.add_style(p)

    @guarded
    def add_from_layer(self) -> None:
        """Save the active layer (inside the image) as a PNG style and add it."""
        doc = Krita.instance().activeDocument()
        node = doc.activeNode() if doc else None
        check_layer(node)
        b = node.bounds()
        box = clip_box((b.x(), b.y(), b.x() + b.width(), b.y() + b.height()), doc.width(), doc.height())
        if box is None:
            raise PluginError(f"layer '{node.name()}' is empty")
        w, h = box[2] - box[0], box[3] - box[1]
        data = to_bytes(node.pixelData(box[0], box[1], w, h))
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", node.name()).strip("_") or "layer"
        path = style_folder() / f"{safe}-{hashlib.sha1(data).hexdigest()[:8]}.png"
        if not qimage_from_bgra(data, w, h).save(str(path), "PNG"):
            raise PluginError(f"cannot write {path}")
        self.add_style(str(path))
        self.show_message(f"Added layer '{node.name()}' as a style.")

    # ---- server --------------------------------------------------------------------------------------
    def client(self) -> Client:
        return make_client(self.settings.server_url or None)

    @guarded
    def check_server(self) -> None:
        """Ask /v1/health in the background; the connection line follows the answer.

        One check at a time; a request made meanwhile (say, the URL changed) runs when it ends.
        """
        if self._health is not None:
            self._recheck = True
            return
        if not self.state.should_poll(self.isVisible()):
            return
        api = self.client()
        task = Task(lambda progress, cancelled: probe(api), self)
        task.done.connect(self._on_health)
        task.finished.connect(self._on_health_finished)
        self._health = task
        task.start()

    def _on_health(self, result: Any) -> None:
        url, info, error = result
        if self.state.health_answered(url, self.client().url, info, error):
            self.render_connection()

    def _on_health_finished(self) -> None:
        if self._health is not None:
            self._health.deleteLater()
        self._health = None
        if self._recheck:
            self._recheck = False
            self.check_server()

    @property
    def connected(self) -> Optional[bool]:
        """None before the first check, then whether the server answers."""
        return self.state.connected

    def render_connection(self) -> None:
        self.connection.setText(self.state.connection_line())
        self.connection.setStyleSheet("color: #d0352b;" if self.state.connection_is_error() else "")
        self.start_button.setVisible(self.state.start_button_visible())

    @guarded
    def start_server(self) -> None:
        if self._starting is not None or not self.state.start_requested():
            return
        api = self.client()
        task = Task(lambda progress, cancelled: api.ensure_running(), self)
        task.done.connect(self._on_started)
        task.failed.connect(self._on_start_failed)
        task.finished.connect(self._on_start_finished)
        self._starting = task
        self.render_connection()
        task.start()

    def _on_started(self, info: Any) -> None:
        message = self.state.start_succeeded(self.client().url, info)
        self.render_connection()
        self.show_message(message)

    def _on_start_failed(self, exc: Any) -> None:
        message = self.state.start_failed(self.client().url, exc)
        self.render_connection()
        self.show_message(message, error=True)

    def _on_start_finished(self) -> None:
        if self._starting is not None:
            self._starting.deleteLater()
        self._starting = None
        self.render_connection()

    # ---- jobs ----------------------------------------------------------------------------------------
    def is_busy(self) -> bool:
        return self.state.busy

    def _source(self, doc: Any) -> Any:
        """The layer to stylise: the active one, unless it is the preview or a mask (then its owner)."""
        node = doc.activeNode()
        if node is not None and node.type().endswith("mask"):
            parent = node.parentNode()
            node = parent if parent is not None and parent.type() == "paintlayer" else None
        if node is None or node.name() == PREVIEW_NAME or node.type() != "paintlayer":
            last = self._last_source
            if last is not None and doc.nodeByUniqueID(last.uniqueId()) is not None:
                return last
        return node

    @guarded
    def preview(self) -> None:
        self._start_job(preview=True)

    @guarded
    def apply(self) -> None:
        self._start_job(preview=False)

    def _start_job(self, preview: bool) -> None:
        target = self._free_target()
        if target is None:
            return
        doc, source = target
        s = self.settings
        spec = read_spec(doc, source, s.styles, weights=s.weights if len(s.styles) > 1 else None, alpha=s.alpha,
                         preserve_color=s.preserve_color, use_selection=s.use_selection, scale=s.scale,
                         preview=preview)
        self._last_source = source
        api = self.client()
        self._run_task(lambda progress, cancelled: run_job(api, spec, progress, cancelled), self._on_job_done,
                       self.state.job_started(spec, (doc, source)))

    @guarded
    def apply_frames(self) -> None:
        """Every keyframe of the active animated layer as one stabilised sequence, into a new animated layer."""
        target = self._free_target()
        if target is None:
            return
        doc, source = target
        s = self.settings
        spec = read_frames_spec(doc, source, s.styles, weights=s.weights if len(s.styles) > 1 else None,
                                alpha=s.alpha, preserve_color=s.preserve_color, scale=s.scale,
                                stability=s.stability, coherence=s.coherence)
        self._last_source = source
        api = self.client()
        self._run_task(lambda progress, cancelled: run_frames_job(api, spec, progress, cancelled),
                       self._on_frames_done, self.state.job_started(spec, (doc, source)))

    def _free_target(self) -> tuple[Any, Any] | None:
        """(document, source layer) for a new job, or None (said in the status line) while one is running."""
        if self.state.busy:
            self.show_message("A job is already running; cancel it first.")
            return None
        doc = Krita.instance().activeDocument()
        if doc is None:
            raise PluginError("open an image first")
        return doc, self._source(doc)

    def _run_task(self, work: Callable[..., Any], on_done: Callable[[Any], None], message: str) -> None:
        task = Task(work, self)
        task.progressed.connect(self._on_progress)
        task.done.connect(on_done)
        task.failed.connect(self._on_job_failed)
        task.finished.connect(self._on_job_finished)
        self._job = task
        self._set_running(True)
        self.show_message(message)
        task.start()

    @guarded
    def _on_frames_done(self, frames: Any) -> None:
        spec, (doc, source) = self.state.spec, self.state.target
        layer = write_frames(doc, source, spec, frames)
        self._show_done(layer, spec)

    def _show_done(self, layer: Any, spec: Any) -> None:
        """A finished job (one picture or all frames): full progress, what was made, the server's state."""
        self.progress.setValue(100)
        self.show_message(self.state.job_done(self.client().url, layer.name(), spec))
        self.render_connection()

    def _set_running(self, running: bool) -> None:
        self.frames_button.setEnabled(not running)
        self.preview_button.setEnabled(not running)
        self.apply_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        if running:
            self.progress.setValue(0)

    @guarded
    def cancel(self) -> None:
        message = self.state.cancel_requested()
        if message and self._job is not None:
            self._job.cancel()
            self.show_message(message)

    def _on_progress(self, fraction: float) -> None:
        self.progress.setValue(round(100 * max(0.0, min(1.0, fraction))))

    @guarded
    def _on_job_done(self, bgra: Any) -> None:
        spec, (doc, source) = self.state.spec, self.state.target
        layer = write_result(doc, source, spec, bgra)
        self._show_done(layer, spec)

    def _on_job_failed(self, exc: Any) -> None:
        message, is_error = self.state.job_failed(self.client().url, exc)
        self.show_message(message, error=is_error)
        self.render_connection()

    def _on_job_finished(self) -> None:
        if self._job is not None:
            self._job.deleteLater()
        self._job = None
        self.state.job_finished()
        self._set_running(False)

    # ---- misc ----------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Krita is closing: cancel and wait briefly for the threads (a QThread must not outlive its parent)."""
        self._timer.stop()
        for task in (self._job, self._health, self._starting):
            if task is not None:
                task.cancel()
                task.wait(5000)

    def show_message(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #d0352b;" if error else "")

    def status_text(self) -> str:
        return self.status.text()

    def connection_text(self) -> str:
        return self.connection.text()

    def canvasChanged(self, canvas: Any) -> None:  # required by Krita
        pass

"""Preview, Apply and Apply to all frames: read the layer on the UI thread, run the request on a worker thread,
write the result back on the UI thread. One job at a time (the Controller says whether one runs).

Kept out of docker.py so the docker holds widgets only; what the job is (the spec) and the lines shown come
from logic.py and controller.py, the Krita reads and writes from layers.py.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

from krita import Krita

from adastyle_plugin.http import Client

from .controller import Controller
from .layers import read_frames_spec, read_spec, write_frames, write_result
from .logic import PREVIEW_NAME, DockerSettings, PluginError, run_frames_job, run_job
from .qt import QObject, Signal
from .slots import guarded
from .tasks import Task


def source_layer(doc: Any, last: Any) -> Any:
    """The layer to stylise: the active one, unless it is the preview or a mask (then its owner, or `last`)."""
    node = doc.activeNode()
    if node is not None and node.type().endswith("mask"):
        parent = node.parentNode()
        node = parent if parent is not None and parent.type() == "paintlayer" else None
    if node is None or node.name() == PREVIEW_NAME or node.type() != "paintlayer":
        if last is not None and doc.nodeByUniqueID(last.uniqueId()) is not None:
            return last
    return node


class JobRunner(QObject):
    """Runs the docker's jobs. message(text, error), progress(percent), running(bool), connection() (changed)."""

    message = Signal(str, bool)
    progress = Signal(int)
    running = Signal(bool)
    connection = Signal()

    def __init__(self, state: Controller, settings: DockerSettings, client: Callable[[], Client],
                 library_names: Callable[[], Dict[str, str]] = dict, parent: Any = None) -> None:
        super().__init__(parent)
        self.state = state
        self.settings = settings
        self.client = client
        self.library_names = library_names  # id -> name of the library's entries: new layers are named after them
        self.last_source: Any = None  # the layer of the last job: still the source while the preview is active
        self._job: Optional[Task] = None

    def report(self, text: str, error: bool = False) -> None:
        self.message.emit(text, error)

    def target(self) -> Tuple[Any, Any]:
        """(document, source layer) for a job; PluginError without an open image."""
        doc = Krita.instance().activeDocument()
        if doc is None:
            raise PluginError("open an image first")
        return doc, source_layer(doc, self.last_source)

    def _free(self) -> bool:
        if self.state.busy:
            self.report("A job is already running; cancel it first.")
            return False
        return True

    @guarded
    def preview(self) -> None:
        self._start(preview=True)

    @guarded
    def apply(self) -> None:
        self._start(preview=False)

    def _start(self, preview: bool) -> None:
        if not self._free():
            return
        doc, source = self.target()
        s = self.settings
        spec = read_spec(doc, source, s.styles, weights=s.weights if len(s.styles) > 1 else None, alpha=s.alpha,
                         preserve_color=s.preserve_color, use_selection=s.use_selection, scale=s.scale,
                         preview=preview, library_names=self.library_names())
        self.last_source = source
        api = self.client()
        self._run(lambda progress, cancelled: run_job(api, spec, progress, cancelled), self._on_job_done,
                  self.state.job_started(spec, (doc, source)))

    @guarded
    def apply_frames(self) -> None:
        """Every keyframe of the active animated layer as one stabilised sequence, into a new animated layer."""
        if not self._free():
            return
        doc, source = self.target()
        s = self.settings
        spec = read_frames_spec(doc, source, s.styles, weights=s.weights if len(s.styles) > 1 else None,
                                alpha=s.alpha, preserve_color=s.preserve_color, scale=s.scale,
                                stability=s.stability, coherence=s.coherence,
                                coherence_features=s.coherence_features, library_names=self.library_names())
        self.last_source = source
        api = self.client()
        self._run(lambda progress, cancelled: run_frames_job(api, spec, progress, cancelled),
                  self._on_frames_done, self.state.job_started(spec, (doc, source)))

    def _run(self, work: Callable[..., Any], on_done: Callable[[Any], None], text: str) -> None:
        task = Task(work, self)
        task.progressed.connect(self._on_progress)
        task.done.connect(on_done)
        task.failed.connect(self._on_failed)
        task.finished.connect(self._on_finished)
        self._job = task
        self.running.emit(True)
        self.report(text)
        task.start()

    def _on_progress(self, fraction: float) -> None:
        self.progress.emit(round(100 * max(0.0, min(1.0, fraction))))

    @guarded
    def _on_job_done(self, bgra: Any) -> None:
        spec, (doc, source) = self.state.spec, self.state.target
        self._done(write_result(doc, source, spec, bgra), spec)

    @guarded
    def _on_frames_done(self, frames: Any) -> None:
        spec, (doc, source) = self.state.spec, self.state.target
        self._done(write_frames(doc, source, spec, frames), spec)

    def _done(self, layer: Any, spec: Any) -> None:
        self.progress.emit(100)
        self.report(self.state.job_done(self.client().url, layer.name(), spec))
        self.connection.emit()

    def _on_failed(self, exc: Any) -> None:
        text, is_error = self.state.job_failed(self.client().url, exc)
        self.report(text, is_error)
        self.connection.emit()

    def _on_finished(self) -> None:
        if self._job is not None:
            self._job.deleteLater()
        self._job = None
        self.state.job_finished()
        self.running.emit(False)

    @guarded
    def cancel(self) -> None:
        text = self.state.cancel_requested()
        if text and self._job is not None:
            self._job.cancel()
            self.report(text)

    def shutdown(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._job.wait(5000)

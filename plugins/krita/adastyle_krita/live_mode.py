"""Live mode: the preview layer follows the painting. After the canvas has been still for 300 ms a small
preview of it is stylised and written into the locked preview layer, in place; a stroke while a job runs
cancels that job on the server.

Krita has no "stroke ended" signal for Python, so a QTimer looks at the source layer: a checksum of its pixels
every POLL_MS, and any difference is a change. The toolkit's LiveScheduler does the rest (debounce, one job at
a time, stale jobs cancelled, latency measured); its calls to the server are short requests to the local
server and it never waits on a job, so the UI never blocks. The user's layer is only read. Each job carries the
session's key, so the server re-renders only the part of the preview a stroke changed (live_canvas).
"""
from __future__ import annotations

import uuid
import zlib
from typing import Any, Callable, Dict, Optional, Tuple

from adastyle_plugin.http import Client
from adastyle_plugin.live import LiveScheduler

from .layers import read_spec, remove_previews, update_preview
from .logic import DockerSettings, JobSpec, finish_pixels, friendly_error, live_status
from .qt import QObject, QTimer, Signal, to_bytes
from .slots import guarded

TICK_MS = 50    # how often the scheduler looks at its job
POLL_MS = 100   # how often the canvas is compared (a checksum of the source layer)


def layer_checksum(document: Any, node: Any) -> Tuple[str, int]:
    """(layer id, CRC-32 of its pixels over the canvas): changes with every stroke on that layer."""
    data = to_bytes(node.pixelData(0, 0, document.width(), document.height()))
    return node.uniqueId().toString(), zlib.crc32(data)


class LiveMode(QObject):
    """state(text): the line to show (idle, waiting, working…, the last latency or the last problem)."""

    state = Signal(str)

    def __init__(self, settings: DockerSettings, client: Callable[[], Client],
                 target: Callable[[], Tuple[Any, Any]], parent: Any = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._client = client
        self._target = target   # (document, source layer) as a job would take them
        self.scheduler: Optional[LiveScheduler] = None
        self._api: Optional[Client] = None
        self._specs: Dict[str, Tuple[JobSpec, Any, Any]] = {}
        self._shown: Optional[Tuple[JobSpec, Any, Any]] = None
        self._seen: Optional[Tuple[str, int]] = None
        self._doc: Any = None
        self._since_poll = 0
        self.key = ""  # the live session's key on the server: a new one each time live mode is switched on
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    @property
    def active(self) -> bool:
        return self.scheduler is not None

    def report(self, text: str, error: bool = False) -> None:
        self.state.emit(text)

    @guarded
    def start(self) -> None:
        """Live mode on: a first preview at once (after the usual quiet), then one after every stroke."""
        if self.scheduler is not None:
            return
        doc, node = self._target()
        read_spec(doc, node, self.settings.styles, preview=True)  # refuse now what every preview would refuse
        api = self._api = self._client()
        # The server keeps this session's last render under the key and re-renders only what a stroke changed.
        self.key = uuid.uuid4().hex
        self.scheduler = LiveScheduler(submit=self._submit, job=api.job, cancel=api.cancel, result=self._result,
                                       show=self._show)
        self._doc, self._seen = doc, layer_checksum(doc, node)
        self.scheduler.changed()
        self._timer.start()
        self._emit()

    def stop(self) -> None:
        """Live mode off: cancel what runs and take the preview layer away (the document is as it was)."""
        self._timer.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        self.scheduler, self._specs, self._shown = None, {}, None
        if self._doc is not None:
            try:
                remove_previews(self._doc)
                self._doc.refreshProjection()
            except RuntimeError:  # the document was closed
                pass
        self._doc = None
        self.state.emit("Live: off")

    def changed(self) -> None:
        """A setting changed: the preview is stale (the running job is cancelled)."""
        if self.scheduler is not None:
            self.scheduler.changed()
            self._emit()

    def _tick(self) -> None:
        if self.scheduler is None:
            return
        try:
            self._since_poll += TICK_MS
            if self._since_poll >= POLL_MS:
                self._since_poll = 0
                doc, node = self._target()
                seen = layer_checksum(doc, node)
                if seen != self._seen:
                    self._doc, self._seen = doc, seen
                    self.scheduler.changed()
            self.scheduler.tick()
        except Exception as exc:  # noqa: BLE001 - said in the live line; live mode goes on with the next stroke
            self.scheduler.error = friendly_error(exc)
        self._emit()

    def _emit(self) -> None:
        s = self.scheduler
        if s is not None:
            self.state.emit(live_status(s.state, s.last_latency, s.error))

    # ---- the scheduler's calls (UI thread, short requests) -------------------------------------------
    def _submit(self) -> str:
        doc, node = self._target()
        s = self.settings
        spec = read_spec(doc, node, s.styles, weights=s.weights if len(s.styles) > 1 else None, alpha=s.alpha,
                         preserve_color=s.preserve_color, use_selection=s.use_selection, scale=s.scale,
                         preview=True, preview_side=s.live_side)
        job_id = self._api.submit(None, spec.style_paths, live=self.key,  # type: ignore[union-attr]
                                  **spec.request_kwargs())
        self._specs = {job_id: (spec, doc, node)}  # only the newest job can still be shown
        return job_id

    def _result(self, job_id: str) -> bytes:
        spec, doc, node = self._specs[job_id]
        data, headers = self._api.result(job_id)  # type: ignore[union-attr]
        self._shown = (spec, doc, node)
        return finish_pixels(spec, data, headers)

    def _show(self, bgra: bytes) -> None:
        if self._shown is not None:
            spec, doc, node = self._shown
            update_preview(doc, node, spec, bgra)

    def shutdown(self) -> None:
        self._timer.stop()
        if self.scheduler is not None:
            self.scheduler.stop()

"""The docker's link to its server: health checks on a timer, and starting the server, on worker threads.

Kept out of docker.py so the docker holds widgets only; the state and every line shown about the server come
from the Qt-free Controller (controller.py), this class only runs the requests off Krita's UI thread.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

from adastyle_plugin.http import Client

from .controller import Controller
from .layers import make_client
from .logic import PluginError
from .qt import QObject, QTimer, Signal
from .slots import guarded
from .tasks import Task

HEALTH_INTERVAL_MS = 15000


def probe(api: Client) -> Tuple[str, Optional[Dict[str, Any]], Optional[Exception]]:
    """(url, health, None) or (url, None, error): worker-thread side of the connection check."""
    try:
        return api.url, api.health(), None
    except PluginError as exc:
        return api.url, None, exc


class ServerLink(QObject):
    """Polls /v1/health while the docker is visible and starts the server on request.

    changed: the connection state changed (re-render it); message(text, error): a line for the status label.
    """

    changed = Signal()
    message = Signal(str, bool)

    def __init__(self, state: Controller, server_url: Callable[[], str], visible: Callable[[], bool],
                 parent: Any = None) -> None:
        super().__init__(parent)
        self.state = state
        self._server_url = server_url
        self._visible = visible
        self._health: Optional[Task] = None
        self._starting: Optional[Task] = None
        self._recheck = False
        self._timer = QTimer(self)
        self._timer.setInterval(HEALTH_INTERVAL_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()
        QTimer.singleShot(0, self.check)

    def report(self, text: str, error: bool = False) -> None:
        self.message.emit(text, error)

    def client(self) -> Client:
        return make_client(self._server_url() or None)

    @guarded
    def check(self) -> None:
        """Ask /v1/health in the background; one check at a time, one asked for meanwhile runs when it ends."""
        if self._health is not None:
            self._recheck = True
            return
        if not self.state.should_poll(self._visible()):
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
            self.changed.emit()

    def _on_health_finished(self) -> None:
        if self._health is not None:
            self._health.deleteLater()
        self._health = None
        if self._recheck:
            self._recheck = False
            self.check()

    @guarded
    def start(self) -> None:
        """Start the configured server in the background (once at a time)."""
        if self._starting is not None or not self.state.start_requested():
            return
        api = self.client()
        task = Task(lambda progress, cancelled: api.ensure_running(), self)
        task.done.connect(self._on_started)
        task.failed.connect(self._on_start_failed)
        task.finished.connect(self._on_start_finished)
        self._starting = task
        self.changed.emit()
        task.start()

    def _on_started(self, info: Any) -> None:
        text = self.state.start_succeeded(self.client().url, info)
        self.changed.emit()
        self.report(text)

    def _on_start_failed(self, exc: Any) -> None:
        text = self.state.start_failed(self.client().url, exc)
        self.changed.emit()
        self.report(text, True)

    def _on_start_finished(self) -> None:
        if self._starting is not None:
            self._starting.deleteLater()
        self._starting = None
        self.changed.emit()

    def shutdown(self) -> None:
        """Stop polling and wait briefly for the threads (a QThread must not outlive its parent)."""
        self._timer.stop()
        for task in (self._health, self._starting):
            if task is not None:
                task.cancel()
                task.wait(5000)

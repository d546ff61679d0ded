"""Background work for the docker: every network call runs on a QThread, never on Krita's UI thread.

A Task runs one plain function (no Krita calls: the Krita API is not thread-safe) and reports back
through signals, which Qt delivers on the UI thread because the receivers are the docker's methods.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from .qt import QThread, Signal

Work = Callable[[Callable[[float], None], Callable[[], bool]], Any]


class Task(QThread):
    """Runs `work(progress, should_cancel)`; emits progressed(float), done(result) or failed(exception)."""

    progressed = Signal(float)
    done = Signal(object)
    failed = Signal(object)

    def __init__(self, work: Work, parent: Optional[Any] = None) -> None:
        super().__init__(parent)
        self._work = work
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Ask the work to stop; the client cancels the server job at its next poll."""
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:  # worker thread
        try:
            result = self._work(self.progressed.emit, self._cancel.is_set)
        except BaseException as exc:  # noqa: BLE001 - reported in the status line, never a dialog
            self.failed.emit(exc)
            return
        self.done.emit(result)

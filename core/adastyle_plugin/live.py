"""Live mode: re-stylise a preview after the canvas stops changing, one job at a time, stale jobs cancelled.

Standard library only (it runs in Krita's and GIMP's Python). The host calls `changed()` whenever the canvas
(or a setting) changes and `tick()` from a timer of its UI (every 50 ms or so); `tick` never waits on a job,
it only looks at it, so the UI never blocks. Why these rules: a preview of an old canvas is worthless once the
user painted again, so a change while a job runs cancels that job on the server (it stops between tiles) and
its result, should it still arrive, is dropped; and at most one job is ever on the server, so strokes can
never pile up jobs behind each other.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional

from adastyle_plugin.errors import PluginError

IDLE, WAITING, WORKING = "idle", "waiting", "working…"
DEFAULT_DELAY = 0.3          # seconds of quiet on the canvas before a preview starts
DEFAULT_PREVIEW_SIDE = 512   # long side of live previews
DEFAULT_POLL = 0.1           # seconds between two looks at a running job


class LiveScheduler:
    """Debounced preview jobs for one canvas.

    submit() -> job id          queue a job for the canvas as it is now (the host reads the canvas then)
    job(id) -> info dict        its state ("queued", "running", "done", "failed", "cancelled")
    cancel(id)                  cancel it on the server
    result(id) -> bytes         its result
    show(bytes)                 put a result into the preview layer
    """

    def __init__(self, submit: Callable[[], str], job: Callable[[str], Dict[str, Any]],
                 cancel: Callable[[str], Any], result: Callable[[str], bytes], show: Callable[[bytes], None],
                 delay: float = DEFAULT_DELAY, clock: Callable[[], float] = time.monotonic,
                 poll: float = DEFAULT_POLL) -> None:
        self._submit, self._job, self._cancel, self._result, self._show = submit, job, cancel, result, show
        self.delay = delay
        # A host may tick every 20 ms; asking the server that often would take CPU from the very job it waits
        # for (the server shares the machine), so a running job is looked at every `poll` seconds only.
        self.poll = poll
        self._looked_at = 0.0
        self.clock = clock
        self.changed_at: Optional[float] = None   # last change not yet in a preview (None: up to date)
        self.job_id: Optional[str] = None
        self.job_change: Optional[float] = None   # the change the running job was started for
        self.last_latency: Optional[float] = None  # seconds from the last change to its preview on screen
        self.latencies: List[float] = []
        self.started = 0
        self.cancelled = 0
        self.error: Optional[str] = None

    @property
    def state(self) -> str:
        """What the UI shows: idle, waiting (for the canvas to settle) or working… (a job runs)."""
        if self.job_id is not None:
            return WORKING
        return WAITING if self.changed_at is not None else IDLE

    def changed(self) -> None:
        """The canvas or a setting changed: wait for quiet again; a running job is now stale and is cancelled."""
        self.changed_at = self.clock()
        if self.job_id is not None:
            self._drop_job()

    def _drop_job(self) -> None:
        job_id, self.job_id, self.job_change = self.job_id, None, None
        self.cancelled += 1
        try:
            self._cancel(job_id)  # type: ignore[arg-type]
        except PluginError:
            pass  # finished or gone meanwhile: nothing to stop

    def tick(self) -> None:
        """Start a preview when the canvas has been quiet for `delay`; show a finished one. Never waits."""
        now = self.clock()
        if self.job_id is None:
            if self.changed_at is not None and now - self.changed_at >= self.delay:
                change = self.changed_at
                try:
                    self.job_id = self._submit()
                except PluginError as exc:
                    self.error = exc.message
                    self.changed_at = None  # wait for the next change rather than retry in a loop
                    return
                self.job_change, self.changed_at, self.error = change, None, None
                self._looked_at = now
                self.started += 1
            return
        if now - self._looked_at < self.poll:
            return
        self._looked_at = now
        info = self._job(self.job_id)
        state = info.get("state")
        if state == "done":
            job_id, change, self.job_id, self.job_change = self.job_id, self.job_change, None, None
            try:
                data = self._result(job_id)
            except PluginError as exc:  # gone meanwhile, or a result the host refuses: wait for the next change
                self.error = exc.message
                return
            self._show(data)
            if change is not None:
                self.last_latency = self.clock() - change
                self.latencies.append(self.last_latency)
        elif state in ("failed", "cancelled"):
            self.error = info.get("error") or state
            self.job_id, self.job_change = None, None

    def stop(self) -> None:
        """Live mode off: cancel what runs, forget pending changes."""
        if self.job_id is not None:
            self._drop_job()
        self.changed_at = None

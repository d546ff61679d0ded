"""The docker's connection and job state, without Qt or Krita, so it is unit-tested outside Krita.

The docker (docker.py) calls these methods from its slots and shows what they return; every status line
about the server is built here, once (`connection_line`), from the state in one enum.
"""
from __future__ import annotations

import enum
import time
from typing import Any, Dict, Optional, Tuple, Union

from adastyle_plugin.errors import JobCancelled, ServerUnavailable
from adastyle_plugin.rules import plural

from .logic import FramesSpec, JobSpec, friendly_error


class Connection(enum.Enum):
    UNKNOWN = "unknown"          # not checked yet
    CONNECTED = "connected"      # /v1/health answered
    NOT_RUNNING = "not running"  # nothing answers at the URL
    FAILING = "failing"          # something answered, but not as a healthy AdaStyle server
    STARTING = "starting"        # the start command runs; waiting for the server to answer


class JobState(enum.Enum):
    IDLE = "idle"
    RUNNING = "running"
    CANCELLING = "cancelling"


class Controller:
    """What the docker knows about its server and its one job."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self.connection = Connection.UNKNOWN
        self.url = ""
        self.device: Optional[str] = None
        self.problem = ""  # why the server is FAILING, for the status line
        self.job = JobState.IDLE
        self.spec: Optional[Union[JobSpec, FramesSpec]] = None
        self.target: Any = None  # (document, source node) the job writes back to
        self._started = 0.0
        self._clock = clock

    # ---- connection -----------------------------------------------------------------------------------
    @property
    def connected(self) -> Optional[bool]:
        """None before the first check, then whether the server answers (STARTING counts as not yet)."""
        return None if self.connection is Connection.UNKNOWN else self.connection is Connection.CONNECTED

    def connection_line(self) -> str:
        if self.connection is Connection.CONNECTED:
            return f"Server connected: {self.url}" + (f" ({self.device})" if self.device else "")
        if self.connection is Connection.STARTING:
            return "Starting the AdaStyle server…"
        if self.connection is Connection.FAILING:
            return self.problem
        if self.connection is Connection.NOT_RUNNING:
            return f"Server not running at {self.url}"
        return "Checking the server…"

    def connection_is_error(self) -> bool:
        return self.connection in (Connection.NOT_RUNNING, Connection.FAILING)

    def start_button_visible(self) -> bool:
        return self.connection in (Connection.NOT_RUNNING, Connection.FAILING)

    def should_poll(self, visible: bool) -> bool:
        """A hidden docker does not poll (after its first check); nor while the server is being started."""
        if self.connection is Connection.STARTING:
            return False
        return visible or self.connection is Connection.UNKNOWN

    def health_answered(self, url: str, current_url: str, info: Optional[Dict[str, Any]],
                        error: Optional[BaseException]) -> bool:
        """A health check's answer; False (ignored) when it was for an address no longer in use."""
        if url != current_url or self.connection is Connection.STARTING:
            return False
        if error is None:
            self._connected(url, info or {})
        elif isinstance(error, ServerUnavailable):
            self.connection, self.url = Connection.NOT_RUNNING, url
        else:
            self.connection, self.url, self.problem = Connection.FAILING, url, friendly_error(error)
        return True

    def start_requested(self) -> bool:
        """True when a start should begin now (not while one runs)."""
        if self.connection is Connection.STARTING:
            return False
        self.connection = Connection.STARTING
        return True

    def start_succeeded(self, url: str, info: Optional[Dict[str, Any]]) -> str:
        self._connected(url, info or {})
        return "Server started."

    def start_failed(self, url: str, exc: BaseException) -> str:
        self.connection, self.url = Connection.NOT_RUNNING, url
        return friendly_error(exc)

    def _connected(self, url: str, info: Dict[str, Any]) -> None:
        self.connection, self.url = Connection.CONNECTED, url
        self.device = info.get("device") or self.device

    # ---- the job --------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.job is not JobState.IDLE

    def job_started(self, spec: Union[JobSpec, FramesSpec], target: Any) -> str:
        self.job, self.spec, self.target, self._started = JobState.RUNNING, spec, target, self._clock()
        if isinstance(spec, FramesSpec):
            return f"Stylising {plural(len(spec.times), 'keyframe')} of {spec.width}x{spec.height} px…"
        what = "preview" if spec.preview else "full resolution"
        return f"Stylising {spec.width}x{spec.height} px ({what})…"

    def cancel_requested(self) -> Optional[str]:
        """The message to show, or None when there is nothing to cancel."""
        if self.job is JobState.IDLE:
            return None
        self.job = JobState.CANCELLING
        return "Cancelling…"

    def job_done(self, url: str, layer_name: str, spec: Union[JobSpec, FramesSpec]) -> str:
        """The message for a finished job; a job that got through proves the server is up.

        `spec` is the job's, taken when its result arrived: writing the layer lets Krita process events,
        so the job's end (job_finished) may already have cleared the state.
        """
        if self.connection is not Connection.CONNECTED:
            self._connected(url, {})
        took = self._clock() - self._started
        if isinstance(spec, FramesSpec):
            return f"Applied to {plural(len(spec.times), 'keyframe')} in {took:.1f} s: new animated layer '{layer_name}'."
        if spec.preview:
            return f"Preview ready in {took:.1f} s (reduced resolution)."
        return f"Applied in {took:.1f} s: new layer '{layer_name}'."

    def job_failed(self, url: str, exc: BaseException) -> Tuple[str, bool]:
        """(message, is_error): a cancel is not an error; an unreachable server marks the connection."""
        if isinstance(exc, ServerUnavailable):
            self.connection, self.url = Connection.NOT_RUNNING, url
        return friendly_error(exc), not isinstance(exc, JobCancelled)

    def job_finished(self) -> None:
        self.job, self.spec, self.target = JobState.IDLE, None, None

"""The job queue: one worker thread per device runs jobs in order; the queue is bounded.

A job carries a `StylizeRequest` as its front end built it (validated once, defaults filled once) and
gives back its result encoded as bytes (PNG, or raw RGBA for plug-ins that write pixels directly): the
queue knows no front end; each converts the bytes it gets as it needs.

Why one worker: a GPU (or a 2-core CPU) runs one stylisation at a time best, and a single owner of
the model avoids races in its caches. Finished results are kept for `result_ttl` seconds within
`result_bytes`: only when newer results need the room are results dropped early (those already
delivered first, then the oldest), and their jobs then say so. Jobs may hold pixels of a PixelBudget, given
back when they end. Job ids start with an id of
this run of the server, so a job of an earlier run (a restart or a crash since) is told apart from an
unknown one.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import logging
import secrets
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, cast

from PIL import Image

from adastyle.errors import AdaStyleError, Cancelled, user_message
from adastyle.request import StylizeRequest
from adastyle.sequence import SequenceRequest, run_sequence
from adastyle.server.budget import PixelBudget

if TYPE_CHECKING:
    from adastyle.engine import Stylizer
    from adastyle.live_canvas import LiveCanvases

log = logging.getLogger(__name__)
STATES = ("queued", "running", "done", "failed", "cancelled")
RESULT_FORMATS = {"png": "image/png", "rgba": "application/octet-stream"}  # result format -> media type


class JobKind(Enum):
    """What a job makes: one image from a StylizeRequest, or one image per frame from a SequenceRequest."""
    IMAGE = "image"
    SEQUENCE = "sequence"

    @classmethod
    def of(cls, request: StylizeRequest | SequenceRequest) -> JobKind:
        """The kind of job a request makes (decided once, when it is queued)."""
        kind = _KINDS.get(type(request))
        if kind is None:
            raise TypeError(f"the queue runs StylizeRequest and SequenceRequest, not {type(request).__name__}")
        return kind


_KINDS = {StylizeRequest: JobKind.IMAGE, SequenceRequest: JobKind.SEQUENCE}


class QueueFull(AdaStyleError):
    """The queue holds max_queue jobs already (the server answers 503, the page asks to retry)."""


@dataclass
class Job:
    request: StylizeRequest | SequenceRequest | None  # dropped when the job ends (frees the uploaded images)
    kind: JobKind = JobKind.IMAGE
    result_format: str = "png"      # a key of RESULT_FORMATS
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    state: str = "queued"
    progress: float = 0.0
    error: str | None = None
    result: bytes | None = None
    result_type: str = "image/png"
    width: int = 0
    height: int = 0
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    done_event: threading.Event = field(default_factory=threading.Event)
    pixels: int = 0  # of the queue's PixelBudget, held until the job ends
    result_size: int = 0  # bytes its result holds
    evicted: float | None = None  # when its result was dropped to stay within the byte budget
    frames: list[bytes] | None = None  # a sequence's results, one per frame (`result` stays None)
    frame_count: int = 0  # frames of a sequence job (0: a single image)
    delivered: bool = False  # its result was sent to its submitter (it goes first when room is needed)
    live_key: str | None = None  # a live session's key: the job updates that session's canvas (live_canvas)
    live: str | None = None  # what the update did: full, refreshed, partial or unchanged (None: no live session)
    live_share: float | None = None  # share of the working image that went through the networks

    def info(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "progress": round(self.progress, 4), "error": self.error,
                "created": self.created, "started": self.started, "finished": self.finished,
                "width": self.width, "height": self.height, "frames": self.frame_count,
                "live": self.live, "live_share": self.live_share}


def stylizer_runner(stylizer: "Stylizer", canvases: "LiveCanvases | None" = None
                    ) -> Callable[[Job], Image.Image | list[bytes]]:
    """The worker's job function: the job's request through `Stylizer.run` as it is, reporting progress;
    a sequence through `sequence.run_sequence`, each frame encoded as it is finished; a job with a live
    session's key through that session's canvas in `canvases` (only what changed since its last job is
    re-rendered)."""

    def run(job: Job) -> Image.Image | list[bytes]:
        def progress(f: float) -> None:
            job.progress = min(0.99, f)

        request = job.request
        assert request is not None, "a job runs once, with its request"
        if job.kind is JobKind.SEQUENCE:
            sequence = cast(SequenceRequest, request)  # JobKind.of made it so
            frames: list[bytes] = [b""] * len(sequence.frames)

            def keep(i: int, image: Image.Image) -> None:
                frames[i] = encode_result(image, job.result_format)[0]
                job.width, job.height = image.size

            run_sequence(stylizer, sequence, progress, job.cancel_event.is_set, keep)
            return frames
        if job.live_key is not None and canvases is not None:
            image, canvas = canvases.update(job.live_key, stylizer, cast(StylizeRequest, request), progress,
                                            job.cancel_event.is_set)
            job.live, job.live_share = canvas.last, round(canvas.share, 4)
            return image
        return stylizer.run(cast(StylizeRequest, request), progress, job.cancel_event.is_set)

    return run


def encode_result(image: Image.Image, fmt: str) -> tuple[bytes, str]:
    """(bytes, media type): PNG, or raw RGBA rows (for plug-ins that write pixels directly)."""
    if fmt == "rgba":
        return image.convert("RGBA").tobytes(), RESULT_FORMATS["rgba"]
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue(), RESULT_FORMATS["png"]


class JobQueue:
    """Bounded FIFO of jobs with one worker thread calling `run(job)` (which returns a PIL image)."""

    def __init__(self, run: Callable[[Job], Image.Image | list[bytes]], max_queue: int, result_ttl: float, result_bytes: int,
                 budget: PixelBudget | None = None, id_key: bytes | None = None) -> None:
        self._run = run
        self.max_queue = max_queue
        self.result_ttl = result_ttl
        self.result_bytes = result_bytes
        self.results_held = 0
        self.budget = budget
        self.run_id = secrets.token_hex(4)  # the first 8 characters of every job id of this run
        # The last 8 characters sign the rest, with a key that outlives a restart (the server derives it from
        # its token): an id of an earlier run is told apart from one never issued.
        self._id_key = id_key or secrets.token_bytes(32)
        self._pending: deque[Job] = deque()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._cond = threading.Condition()
        self._stop = False
        self.current: Job | None = None
        self._thread = threading.Thread(target=self._worker, name="adastyle-worker", daemon=True)
        self._thread.start()

    def submit(self, request: StylizeRequest | SequenceRequest, pixels: int = 0, result_format: str = "png",
               live_key: str | None = None) -> Job:
        """Queue a job; `pixels` of the budget, taken by the submitter, pass to the job (given back when
        it ends); `live_key`: the live session whose canvas it updates (an image job only)."""
        if result_format not in RESULT_FORMATS:
            raise ValueError(f"result_format must be one of {', '.join(RESULT_FORMATS)}, got {result_format!r}")
        with self._cond:
            self._expire()
            if len(self._pending) >= self.max_queue:
                raise QueueFull()
            body = self.run_id + uuid.uuid4().hex[:16]
            kind = JobKind.of(request)
            job = Job(request=request, kind=kind, result_format=result_format, id=body + self._id_tag(body),
                      pixels=pixels, live_key=live_key if kind is JobKind.IMAGE else None)
            if kind is JobKind.SEQUENCE:
                job.frame_count = len(cast(SequenceRequest, request).frames)
            self._jobs[job.id] = job
            self._pending.append(job)
            self._cond.notify()
            return job

    def _id_tag(self, body: str) -> str:
        return hmac.new(self._id_key, body.encode(), hashlib.sha256).hexdigest()[:8]

    def of_earlier_run(self, job_id: str) -> bool:
        """An id this server issued (its tag checks out) in another run."""
        return len(job_id) == 32 and all(c in "0123456789abcdef" for c in job_id) and \
            not job_id.startswith(self.run_id) and hmac.compare_digest(job_id[24:], self._id_tag(job_id[:24]))

    def mark_delivered(self, job: Job) -> None:
        """Its submitter has the result: it no longer holds room that results not yet fetched need."""
        with self._cond:
            job.delivered = True

    def get(self, job_id: str) -> Job | None:
        with self._cond:
            self._expire()
            return self._jobs.get(job_id)

    def position(self, job: Job) -> int:
        with self._cond:
            try:
                return list(self._pending).index(job)
            except ValueError:
                return -1

    def queued(self) -> int:
        with self._cond:
            return len(self._pending)

    def cancel(self, job: Job) -> None:
        with self._cond:
            log.debug("job %s: cancel asked while %s", job.id, job.state)
            job.cancel_event.set()
            if job.state == "queued":
                self._pending.remove(job)
                self._finish(job, "cancelled")

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            for job in list(self._pending):
                job.cancel_event.set()
                self._finish(job, "cancelled")
            self._pending.clear()
            if self.current is not None:
                self.current.cancel_event.set()
            self._cond.notify_all()

    @property
    def working(self) -> bool:
        """Whether the worker thread still runs (it ends soon after `stop`, once a running job sees its cancel)."""
        return self._thread.is_alive()

    def wait_stopped(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the worker thread to end after `stop`; True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _finish(self, job: Job, state: str, error: str | None = None) -> None:
        job.state = state
        job.error = error
        job.finished = time.time()
        if state == "done":
            job.progress = 1.0
        job.request = None  # free the uploaded images
        if self.budget is not None and job.pixels:
            self.budget.give(job.pixels)
            job.pixels = 0
        if state == "done":
            job.result_size = len(job.result or b"") + sum(len(f) for f in job.frames or ())
            self.results_held += job.result_size
            self._expire(keep=job)
        job.done_event.set()
        ran = f"after {job.finished - job.started:.1f} s running" if job.started else "before it ran"
        log.debug("job %s %s %s%s", job.id, state, ran, f": {error}" if error else "")

    def _expire(self, keep: Job | None = None) -> None:
        """Forget jobs older than result_ttl; past result_bytes, drop the oldest results early (never
        `keep`'s, the one that just finished: its submitter has yet to take it)."""
        now = time.time()
        for j in [j for j in self._jobs.values() if j.finished is not None and now - j.finished > self.result_ttl]:
            self._jobs.pop(j.id, None)
            self._drop_result(j)
        held = [j for j in self._jobs.values() if j.result_size and j is not keep]
        for j in sorted(held, key=lambda j: not j.delivered):  # delivered ones first, then the oldest (stable)
            if self.results_held <= self.result_bytes:
                break
            self._drop_result(j)
            j.evicted = now

    def _drop_result(self, job: Job) -> None:
        self.results_held -= job.result_size
        job.result, job.frames, job.result_size = None, None, 0

    def _worker(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                job = self._pending.popleft()
                job.state = "running"
                job.started = time.time()
                self.current = job
                log.debug("job %s running (%s, %.1f s queued)", job.id, job.kind.value, job.started - job.created)
            try:
                image = self._run(job)
                if job.kind is JobKind.SEQUENCE:  # the frames, encoded as they were finished
                    with self._cond:
                        job.frames, job.result_type = cast("list[bytes]", image), RESULT_FORMATS[job.result_format]
                        self._finish(job, "done")
                    continue
                image = cast(Image.Image, image)
                data, ctype = encode_result(image, job.result_format)
                with self._cond:
                    job.result, job.result_type = data, ctype
                    job.width, job.height = image.size
                    self._finish(job, "done")
            except Cancelled:
                with self._cond:
                    self._finish(job, "cancelled")
            except Exception as exc:  # never let one job kill the worker
                message = user_message(exc, log, f"job {job.id}")  # internal errors: logged, not shown
                with self._cond:
                    self._finish(job, "failed", message)
            finally:
                with self._cond:
                    self.current = None


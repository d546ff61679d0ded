"""The job queue carries a StylizeRequest as it is and gives back bytes: no defaults filled again, no front end."""
from __future__ import annotations

import io
import threading

import pytest
from PIL import Image

from adastyle.errors import INTERNAL_ERROR, UserError
from adastyle.request import StylizeRequest
from adastyle.sequence import SequenceRequest
from adastyle.server.budget import PixelBudget
from adastyle.server.jobs import RESULT_FORMATS, Job, JobKind, JobQueue, encode_result, stylizer_runner

CONTENT = Image.new("RGB", (40, 30), (200, 120, 40))
STYLE = Image.new("RGB", (32, 32), (10, 60, 220))


class RecordingStylizer:
    """Stands in for the Stylizer: records what `run` receives, answers an image of the content's size."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.calls: list[tuple] = []
        self.fail = fail

    def run(self, request, progress=None, cancel=None, content_stats=None, target_chain=None):
        self.calls.append((request, progress, cancel, content_stats))
        if self.fail is not None:
            raise self.fail
        progress(0.5)
        return Image.new(request.content.mode, request.content.size, (1, 2, 3))

    def stylize(self, *args, **kwargs):  # the queue must not rebuild the request from loose parameters
        raise AssertionError("the queue called stylize(), not run(request)")


def make_queue(stylizer, **kw) -> JobQueue:
    return JobQueue(stylizer_runner(stylizer), max_queue=kw.pop("max_queue", 4), result_ttl=60, result_bytes=1 << 20,
                    **kw)


def test_the_worker_passes_the_very_request_to_stylizer_run() -> None:
    request = StylizeRequest(CONTENT, [STYLE], alpha=0.7, style_size=0, tile=0)
    stylizer = RecordingStylizer()
    queue = make_queue(stylizer)
    try:
        job = queue.submit(request)
        assert job.request is request
        assert job.done_event.wait(30) and job.state == "done", job.error
        (passed, progress, cancel, stats), = stylizer.calls
        assert passed is request  # the same object: nothing re-filled or re-checked on the way
        o = passed.options
        assert o.style_size is None and o.tile is None and o.alpha == 0.7
        assert callable(progress) and cancel() is False and stats is None
        assert job.request is None, "the finished job lets go of its images"
        assert Image.open(io.BytesIO(job.result)).size == (40, 30)
        assert job.result_type == "image/png" and (job.width, job.height) == (40, 30)
        assert job.result_size == len(job.result)
    finally:
        queue.stop()


def test_the_job_kind_is_decided_once_from_the_request() -> None:
    """An image job runs `Stylizer.run`; a sequence job runs every frame and keeps one result per frame."""
    stylizer = RecordingStylizer()
    queue = make_queue(stylizer)
    try:
        image = queue.submit(StylizeRequest(CONTENT, [STYLE]))
        seq = queue.submit(SequenceRequest.of([CONTENT, CONTENT], STYLE, 0.0, coherence=0.0), result_format="rgba")
        assert (image.kind, seq.kind) == (JobKind.IMAGE, JobKind.SEQUENCE)
        assert image.done_event.wait(30) and seq.done_event.wait(30) and seq.state == "done", seq.error
        assert image.frame_count == 0 and image.result is not None and image.frames is None
        assert seq.frame_count == 2 and seq.result is None
        assert seq.frames == [bytes([1, 2, 3, 255]) * (40 * 30)] * 2
    finally:
        queue.stop()
    with pytest.raises(TypeError, match="not str"):
        JobKind.of("a picture")  # type: ignore[arg-type]


def test_rgba_result_is_raw_rows_and_there_is_no_in_process_format() -> None:
    assert set(RESULT_FORMATS) == {"png", "rgba"}
    data, ctype = encode_result(Image.new("RGB", (3, 2), (9, 8, 7)), "rgba")
    assert ctype == "application/octet-stream" and data == bytes([9, 8, 7, 255]) * 6
    assert not hasattr(Job(request=None), "image")
    queue = make_queue(RecordingStylizer())
    try:
        with pytest.raises(ValueError, match="result_format"):
            queue.submit(StylizeRequest(CONTENT, [STYLE]), result_format="pil")
        job = queue.submit(StylizeRequest(CONTENT, [STYLE]), result_format="rgba")
        assert job.done_event.wait(30) and job.state == "done"
        assert job.result == bytes([1, 2, 3, 255]) * (40 * 30) and job.result_type == "application/octet-stream"
    finally:
        queue.stop()


def test_user_errors_are_shown_and_internal_ones_are_not() -> None:
    budget = PixelBudget(1000)
    assert budget.take(300)
    for exc, shown in ((UserError("that style is unusable"), "that style is unusable"),
                       (ValueError("torch internals"), INTERNAL_ERROR)):
        queue = make_queue(RecordingStylizer(fail=exc), budget=budget)
        try:
            job = queue.submit(StylizeRequest(CONTENT, [STYLE]), pixels=300 if shown.startswith("that") else 0)
            assert job.done_event.wait(30)
            assert job.state == "failed" and job.error == shown and job.request is None
        finally:
            queue.stop()
    assert budget.used == 0  # the failed job gave its pixels back


def test_the_queue_is_bounded() -> None:
    gate = threading.Event()

    class Slow(RecordingStylizer):
        def run(self, request, progress=None, cancel=None, content_stats=None, target_chain=None):
            gate.wait(30)
            return super().run(request, progress, cancel, content_stats)

    from adastyle.server.jobs import QueueFull

    queue = make_queue(Slow(), max_queue=1)
    try:
        first = queue.submit(StylizeRequest(CONTENT, [STYLE]))
        while first.state != "running":
            threading.Event().wait(0.01)
        queue.submit(StylizeRequest(CONTENT, [STYLE]))
        with pytest.raises(QueueFull):
            queue.submit(StylizeRequest(CONTENT, [STYLE]))
    finally:
        gate.set()
        queue.stop()


def test_the_queue_logs_each_jobs_states_at_debug_level(caplog) -> None:
    """`adastyle -v serve` shows when a job ran, when a cancel was asked and how it ended: what tells a page that
    waits on a cancelled job apart from a worker that did not see the cancel."""
    from adastyle.errors import Cancelled

    started = threading.Event()

    class Cancellable(RecordingStylizer):
        def run(self, request, progress=None, cancel=None, content_stats=None, target_chain=None):
            started.set()
            while not cancel():
                threading.Event().wait(0.01)
            raise Cancelled()

    caplog.set_level("DEBUG", logger="adastyle.server.jobs")
    queue = make_queue(Cancellable())
    try:
        job = queue.submit(StylizeRequest(CONTENT, [STYLE]))
        assert started.wait(30)
        queue.cancel(job)
        assert job.done_event.wait(30) and job.state == "cancelled"
    finally:
        queue.stop()
    lines = [r.getMessage() for r in caplog.records if job.id in r.getMessage()]
    assert lines[0].startswith(f"job {job.id} running (image, ") and lines[0].endswith(" s queued)"), lines
    assert lines[1] == f"job {job.id}: cancel asked while running", lines
    assert lines[2].startswith(f"job {job.id} cancelled after ") and lines[2].endswith(" s running"), lines

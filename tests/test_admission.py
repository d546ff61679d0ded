"""Admission without a server: working sizes, thin images, the budget a request holds, result eviction order."""
from __future__ import annotations

import pytest
from PIL import Image

from adastyle.request import MaskError, StylizeRequest, fit_mask


def test_working_size_has_the_engine_minimum() -> None:
    from adastyle.request import content_work_size, style_work_size

    assert content_work_size((1, 300_000)) == (32, 9_600_000)
    assert content_work_size((640, 480), 0.5) == (320, 240)
    assert content_work_size((100, 40), 0.5) == (80, 32)
    assert style_work_size((1000, 500), 512) == (1024, 512)


def test_thin_content_and_styles_are_refused_by_the_request() -> None:
    from adastyle.request import ShapeError

    ok = Image.new("RGB", (64, 64))
    with pytest.raises(ShapeError, match="too thin"):
        StylizeRequest(Image.new("RGB", (1, 1000)), ok)
    with pytest.raises(ShapeError, match="style 1"):
        StylizeRequest(ok, Image.new("RGB", (5000, 2)))
    assert StylizeRequest(Image.new("RGB", (10, 640)), ok).work_pixels == 32 * 2048


def test_a_mask_pillow_cannot_make_grey_is_a_mask_error() -> None:
    with pytest.raises(MaskError, match="LAB"):
        fit_mask(Image.new("LAB", (8, 8)), (8, 8))


def test_delivered_results_go_first_when_room_is_needed() -> None:
    from adastyle.server.jobs import JobQueue

    queue = JobQueue(lambda job: Image.new("RGB", (100, 100)), 8, 600, 100 * 100 * 4 * 2 + 10)
    try:
        jobs = []
        for _ in range(3):
            job = queue.submit(StylizeRequest(Image.new("RGB", (64, 64)), Image.new("RGB", (64, 64))),
                               result_format="rgba")
            assert job.done_event.wait(10)
            jobs.append(job)
            if len(jobs) == 2:
                queue.mark_delivered(jobs[1])  # fetched; the first one is not yet
        assert jobs[0].evicted is None and jobs[0].result is not None, "an unfetched result was dropped"
        assert jobs[1].evicted is not None
    finally:
        queue.stop()


def test_job_ids_of_an_earlier_run_are_told_from_invented_ones() -> None:
    from adastyle.server.jobs import JobQueue

    key = b"k" * 32
    first = JobQueue(lambda job: Image.new("RGB", (8, 8)), 8, 600, 1 << 20, id_key=key)
    job = first.submit(StylizeRequest(Image.new("RGB", (64, 64)), Image.new("RGB", (64, 64))))
    first.stop()
    second = JobQueue(lambda job: Image.new("RGB", (8, 8)), 8, 600, 1 << 20, id_key=key)
    try:
        assert second.of_earlier_run(job.id)
        assert not second.of_earlier_run("0123456789abcdef" * 2)
    finally:
        second.stop()

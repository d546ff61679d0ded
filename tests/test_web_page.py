"""The page's handler without a browser: it builds a StylizeRequest, holds the server's pixel budget while its
job is queued, reads its result back exactly, and has one weight per style slider of the settings."""
from __future__ import annotations

import pytest
from conftest import EXAMPLES
from PIL import Image

pytest.importorskip("gradio")

from adastyle.server.budget import PixelBudget  # noqa: E402
from adastyle.server.jobs import JobQueue  # noqa: E402
from adastyle.settings import Settings  # noqa: E402
from adastyle.web.page import Studio, held_pixels  # noqa: E402

STYLES = [str(EXAMPLES / "style-castle.jpg"), str(EXAMPLES / "style-swamp.jpg")]


def no_progress(*args, **kwargs) -> None:
    pass


def make_studio(tmp_path, budget: int, sliders: int = 6):
    seen = []

    def run(job):
        seen.append((job.request, budget_box[0].used))
        return Image.new(job.request.content.mode, job.request.content.size, (5, 6, 7))

    settings = Settings(max_styles_per_request=sliders, queue_pixels=budget)
    budget_box = [PixelBudget(settings.queue_pixels)]
    queue = JobQueue(run, settings.max_queue, settings.result_ttl, settings.result_bytes, budget_box[0])
    return Studio(queue, tmp_path / "results", settings), queue, seen


def test_a_run_holds_the_budget_while_queued_and_gives_it_back(tmp_path) -> None:
    studio, queue, seen = make_studio(tmp_path, 128_000_000)
    content = Image.new("RGB", (64, 48), (200, 100, 50))
    try:
        weights = [0.2, 0.8, 0, 0, 0, 0]  # one per slider (six here), the first two for the two styles
        out = studio.run(content, STYLES, *weights, 0.7, "histogram", 0.5, request=None, progress=no_progress)
        assert out[3].startswith("✅ Done") and "64x48" in out[3], out[3]
        (request, used_while_running), = seen
        assert request.weights == pytest.approx((0.2, 0.8)) and request.alpha == 0.7 and request.scale == 0.5
        assert request.preserve_color == "histogram" and request.style_size == 512 and request.tile is None
        assert used_while_running == held_pixels(request) > 64 * 48
        assert queue.budget.used == 0, "the finished job gave its pixels back"
        result = out[0]
        assert result.mode == "RGB" and result.size == (64, 48) and result.getpixel((3, 3)) == (5, 6, 7)
    finally:
        queue.stop()


def test_a_busy_budget_and_an_oversized_request_are_said_and_nothing_is_queued(tmp_path) -> None:
    studio, queue, seen = make_studio(tmp_path, 500_000)
    content = Image.new("RGB", (64, 48), (200, 100, 50))
    try:
        out = studio.run(content, STYLES, *[1] * 6, 1.0, "none", 1.0, request=None, progress=no_progress)
        assert "over the server's budget of 500,000" in out[3], out[3]
        assert queue.budget.take(300_000)  # plug-ins' jobs hold part of it
        out = studio.run(content, STYLES[:1], *[1] * 6, 1.0, "none", 1.0, request=None, progress=no_progress)
        assert "The server is busy" in out[3] and "300,000 of its 500,000" in out[3], out[3]
        assert seen == [] and queue.queued() == 0 and queue.budget.used == 300_000
    finally:
        queue.stop()


def test_a_broken_rule_is_said_in_the_status_line(tmp_path) -> None:
    studio, queue, seen = make_studio(tmp_path, 128_000_000, sliders=4)
    try:
        out = studio.run(Image.new("RGB", (64, 48)), STYLES, 0, 0, 0, 0, 1.0, "none", 1.0, request=None,
                         progress=no_progress)
        assert out[3].startswith("⚠️ Weights must be non-negative numbers with a positive sum"), out[3]
        assert seen == [] and queue.budget.used == 0
    finally:
        queue.stop()


def test_gradio_passes_the_request_and_progress_to_the_handlers() -> None:
    """Gradio injects the browser's request (Cancel finds the job by its session) and progress only through
    positional parameters; the handlers have them whatever the number of weight sliders."""
    import gradio as gr
    from gradio.helpers import special_args

    from adastyle.web.page import gradio_handler

    calls = []

    def fn(*values, request=None, progress=None):
        calls.append((values, request, progress))
        return ()

    names = ["editor", "files", *(f"weight_{i}" for i in range(6)), "alpha", "preserve", "scale"]
    handler = gradio_handler(fn, names)
    request = gr.Request()
    inputs, progress_index, _, _ = special_args(handler, list(range(len(names))), request)
    assert inputs[len(names)] is request and progress_index == len(names) + 1
    handler(*inputs)
    (values, got_request, got_progress), = calls
    assert values == tuple(range(len(names))) and got_request is request and isinstance(got_progress, gr.Progress)


def test_the_page_sends_no_usage_reports(tmp_path) -> None:
    """Gradio reports usage to its makers unless told not to; a page for private pictures must not."""
    from adastyle.web.page import build_page

    _, queue, _ = make_studio(tmp_path, 1 << 20)
    try:
        assert build_page(queue, Settings()).analytics_enabled is False
    finally:
        queue.stop()

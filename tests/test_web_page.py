"""The page's handler without a browser: it builds a StylizeRequest, holds the server's pixel budget while its
job is queued, reads its result back exactly, and has one weight per style slider of the settings."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from conftest import EXAMPLES
from PIL import Image

gr = pytest.importorskip("gradio")

from adastyle.server.budget import PixelBudget  # noqa: E402
from adastyle.server.jobs import JobQueue  # noqa: E402
from adastyle.settings import Settings  # noqa: E402
from adastyle.web.page import Studio  # noqa: E402

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
        o = request.options
        assert o.weights == pytest.approx((0.2, 0.8)) and o.alpha == 0.7 and o.scale == 0.5
        assert o.preserve_color == "histogram" and o.style_size == 512 and o.tile is None
        from adastyle.server.admission import request_pixels

        assert used_while_running == request_pixels(request) > 64 * 48
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
        assert "server's 500,000 decoded pixels" in out[3] and "busy" in out[3], out[3]  # charged image by image
        assert queue.budget.take(300_000)  # plug-ins' jobs hold part of it
        out = studio.run(content, STYLES[:1], *[1] * 6, 1.0, "none", 1.0, request=None, progress=no_progress)
        assert "The server is busy" in out[3] and "of the server's 500,000" in out[3], out[3]
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


class FakeRequest:
    def __init__(self, session: str) -> None:
        self.session_hash = session


def studio_over(tmp_path, run, folder: str = "results"):
    """A Studio with the default settings over a queue that runs `run`: (studio, queue)."""
    settings = Settings()
    queue = JobQueue(run, 8, 600, 1 << 26, PixelBudget(settings.queue_pixels))
    return Studio(queue, tmp_path / folder, settings), queue


def test_results_are_per_job_and_per_session(tmp_path) -> None:
    """Every job of a run shares the first 8 characters of its id: a name made of them was shared, and one
    session could download another's picture."""
    colours = {}

    def run(job):
        return Image.new("RGB", job.request.content.size, colours[job.request.content.getpixel((0, 0))])

    studio, queue = studio_over(tmp_path, run)
    try:
        paths = {}
        for session, colour in (("alice", (255, 0, 0)), ("bob", (0, 0, 255))):
            content = Image.new("RGB", (64, 48), colour)
            colours[colour] = colour
            out = studio.run(content, STYLES[:1], *[1] * 6, 1.0, "none", 1.0, request=FakeRequest(session),
                             progress=no_progress)
            assert out[3].startswith("✅"), out[3]
            paths[session] = out[2]
        assert paths["alice"] != paths["bob"]
        assert Path(paths["alice"]).parent != Path(paths["bob"]).parent, "sessions share a folder"
        assert Image.open(paths["alice"]).getpixel((1, 1)) == (255, 0, 0)
        assert Image.open(paths["bob"]).getpixel((1, 1)) == (0, 0, 255)
    finally:
        queue.stop()


def studio_running(tmp_path, run, session: str):
    """A Studio over a queue that runs `run`, with one Stylize of `session` under way in a thread: (studio,
    queue, that thread, the list that gets the Stylize's answer when it returns)."""
    studio, queue = studio_over(tmp_path, run, f"results-{session}")
    out: list = []
    content = Image.new("RGB", (64, 48), (9, 9, 9))
    stylize = threading.Thread(target=lambda: out.append(studio.run(
        content, STYLES[:1], *[1] * 6, 1.0, "none", 1.0, request=FakeRequest(session), progress=no_progress)))
    stylize.start()
    return studio, queue, stylize, out


def test_cancel_answers_with_the_jobs_end_not_a_cancelling_that_could_come_last(tmp_path) -> None:
    """Stylize and Cancel write one status line and their answers reach the page in either order: a
    "Cancelling…" that arrived after Stylize's "Cancelled." stayed on the page. Cancel now waits for the job
    to stop and says how it ended; a job that finished first keeps its own status."""
    from adastyle.errors import Cancelled

    started = threading.Event()

    def run(job):
        started.set()
        while not job.cancel_event.wait(0.05):  # a tile loop: it looks for the cancel between tiles
            pass
        raise Cancelled()

    studio, queue, stylize, out = studio_running(tmp_path, run, "carol")
    try:
        assert started.wait(30)
        assert studio.cancel(FakeRequest("dave")) == "Nothing is running."  # another session's Cancel
        assert studio.cancel(FakeRequest("carol")) == "Cancelled."
        stylize.join(30)
        assert out and out[0][3] == "Cancelled."
    finally:
        queue.stop()

    started.clear()
    release = threading.Event()

    def finishes_anyway(job):  # its last tile was running when Cancel came: it ends done
        started.set()
        release.wait(30)
        return Image.new("RGB", job.request.content.size, (1, 2, 3))

    studio, queue, stylize, out = studio_running(tmp_path, finishes_anyway, "erin")
    answers: list = []
    try:
        assert started.wait(30)
        canceller = threading.Thread(target=lambda: answers.append(studio.cancel(FakeRequest("erin"))))
        canceller.start()
        time.sleep(0.3)
        release.set()
        canceller.join(30)
        stylize.join(30)
        assert out and out[0][3].startswith("✅ Done"), out
        assert answers == [gr.update()], answers  # the status stays the result's
    finally:
        queue.stop()


def test_thin_and_working_size_refusals_on_the_page(tmp_path) -> None:
    studio, queue, seen = make_studio(tmp_path, 128_000_000)
    try:
        out = studio.run(Image.new("RGB", (2, 1000)), STYLES[:1], *[1] * 6, 1.0, "none", 1.0, request=None,
                         progress=no_progress)
        assert "too thin" in out[3], out[3]
        thin = tmp_path / "thin.png"
        Image.new("L", (1, 300_000)).save(thin)
        out = studio.run(Image.new("RGB", (64, 48)), [str(thin)], *[1] * 6, 1.0, "none", 1.0, request=None,
                         progress=no_progress)
        assert "too thin" in out[3], out[3]
        assert seen == [] and queue.budget.used == 0
    finally:
        queue.stop()


def test_the_editor_admits_its_images_before_gradio_decodes_them(tmp_path) -> None:
    """Gradio decodes the editor's images before any handler: the editor sizes them by their headers and
    takes their pixels first, so a busy server refuses without decoding."""
    import gradio as gr
    from gradio.components.image_editor import EditorData
    from gradio.data_classes import FileData

    from adastyle.server.admission import Reservation
    from adastyle.web.page import admit_editor_images

    big = tmp_path / "big.png"
    Image.new("RGB", (3000, 3000)).save(big)
    budget = PixelBudget(20_000_000)
    editor = gr.ImageEditor(type="pil", image_mode="RGBA")
    admit_editor_images(editor, lambda: Reservation(budget, 5), 36_000_000)
    payload = EditorData(background=FileData(path=str(big)), layers=[], composite=FileData(path=str(big)))
    value = editor.preprocess(payload)
    assert budget.used == 2 * 3000 * 3000 and value["reservation"].pixels == budget.used
    assert budget.take(budget.limit - budget.used)  # now the server is full
    with pytest.raises(gr.Error, match="busy"):
        editor.preprocess(payload)
    assert budget.used == budget.limit, "a refused request keeps nothing"
    budget.give(budget.limit)
    budget.used = 2 * 3000 * 3000
    del value
    import gc
    gc.collect()
    assert budget.used == 0, "an editor value dropped unused gives its pixels back"

"""The AdaIN studio page (Gradio Blocks).

The page submits to the same job queue as the plug-ins when it is mounted at /ui on `adastyle serve`
(one model in memory, a busy GPU shared fairly), or to its own queue under `adastyle web`. Either way it
mounts itself onto an app it is given (`mount_page`), with the upload checks (upload_guard) and the limits
of the one Settings. Sliders re-render on release; the engine's caches make that an AdaIN + decode only.
"""
from __future__ import annotations

import atexit
import hashlib
import inspect
import logging
import os
import shutil
import tempfile
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
from PIL import Image, ImageFilter, ImageOps

from adastyle.imageio import ImageError, open_image
from adastyle.library import Library, open_library
from adastyle.request import MaskError, RequestError, StylizeRequest, content_work_size, style_work_size
from adastyle.server.admission import Reservation, admit, checked_header_size, request_pixels
from adastyle.server.budget import PixelBudget
from adastyle.server.errors import ApiError
from adastyle.server.forms import admit_encoded, decode_admitted
from adastyle.server.jobs import Job, JobQueue, QueueFull
from adastyle.settings import Settings
from adastyle.web.library_gallery import LibraryPanel, library_controls
from adastyle.web.upload_guard import UploadGuard
from adastyle_plugin import rules, wire
from adastyle_plugin.errors import RuleError

log = logging.getLogger(__name__)
MASK_FEATHER = 3  # pixels
CACHE_SWEEP = (300, 1800)  # every 5 minutes, uploads and results older than 30 minutes are deleted
STYLIZE_GROUP = "stylize"  # the page's handlers that decode images and queue jobs share one concurrency limit
COLOUR_LABELS = {"none": "Keep the style's colours", "histogram": "Content colours (histogram match)",
                 "luminance": "Content colours (luminance only)"}
COLOUR_CHOICES = [(COLOUR_LABELS[mode], mode) for mode in rules.COLOR_MODES]  # the modes are the rules'; a new
                                                                             # one without a label fails here
INTRO = """# AdaStyle — arbitrary style transfer
Upload a **content** photo and one or more **style** images, then press **Stylize**. Paint on the content with the
brush to make a **mask**: painted = styled (or the first style), unpainted = original (or the second style).
Alpha and weights re-render from cached features when you release the slider."""


# Example pairs shown as thumbnails at the top of the page (content, styles); credits in examples/CREDITS.md.
EXAMPLES = [("content-grace_hopper.jpg", ["style-castle.jpg"]), ("content-coffee.jpg", ["style-autumn.jpg"]),
            ("content-rocket.jpg", ["style-swamp.jpg", "style-grim_altar.jpg"])]
THUMB_SIDE = 200
PAD = (32, 32, 32)  # around a thumbnail of another shape than the square it is shown in


def examples_dir() -> Path:
    return Path(str(resources.files("adastyle") / "examples"))


def example_thumbnail(content: Path, styles: Sequence[Path], side: int = THUMB_SIDE) -> Image.Image:
    """The content with its style(s) inset in the lower right corner: what an example is, before loading it."""
    with Image.open(content) as im:
        sheet = ImageOps.pad(im.convert("RGB"), (side, side), Image.LANCZOS, color=PAD)  # whole, never cropped
    inset, border = side * 2 // 5, 3
    y = side - border
    for path in reversed(list(styles)):
        with Image.open(path) as im:
            small = ImageOps.pad(im.convert("RGB"), (inset, inset), Image.LANCZOS, color=(255, 255, 255))
        y -= inset + border
        sheet.paste((255, 255, 255), (side - inset - 2 * border, y - border, side, y + inset + border))
        sheet.paste(small, (side - inset - border, y))
    return sheet


def example_caption(content: str, styles: Sequence[str]) -> str:
    def name(file: str) -> str:
        return Path(file).stem.split("-", 1)[1].replace("_", " ")

    return f"{name(content)} in the style of {' + '.join(name(s) for s in styles)}"


def load_example(evt: gr.SelectData) -> tuple[str, list[str]]:
    """Clicking an example thumbnail puts its content into the editor and its styles into the style files."""
    content, styles = EXAMPLES[evt.index]
    ex = examples_dir()
    return str(ex / content), [str(ex / s) for s in styles]


def editor_content_and_mask(value: Any) -> tuple[Image.Image | None, Image.Image | None]:
    """Content image and painted mask (alpha of the brush layers > 0 -> white) from an ImageEditor value."""
    if value is None:
        return None, None
    if isinstance(value, Image.Image):
        return value, None
    background = value.get("background")
    if background is None:
        return None, None
    if not isinstance(background, Image.Image):
        background = open_image(background)
    if background.mode == "RGBA" and background.getextrema()[3] == (0, 0):
        return None, None  # the editor's blank canvas: nothing was uploaded (yet)
    if background.mode == "RGBA" and background.getextrema()[3] == (255, 255):
        background = background.convert("RGB")  # opaque: the editor works in RGBA so layers keep alpha
    mask_arr = np.zeros((background.height, background.width), np.uint8)
    for layer in value.get("layers") or []:
        if layer is None:
            continue
        if not isinstance(layer, Image.Image):
            layer = open_image(layer)
        if layer.size != background.size:
            layer = layer.resize(background.size)
        a = np.asarray(layer.convert("RGBA"))[..., 3]
        mask_arr = np.maximum(mask_arr, a)
    if not mask_arr.any():
        return background, None
    # A brush stroke has a hard edge; feather it a little so the style fades in, as with a soft selection.
    mask = Image.fromarray(mask_arr, "L").filter(ImageFilter.GaussianBlur(MASK_FEATHER))
    return background, mask


def load_styles(files: Sequence[Any] | None, settings: Settings, reservation: Reservation) -> list[Image.Image]:
    """The style files, each admitted by its header (admission.admit) before it is decoded, reduced while
    decoding to the size it is used at (the request's default style size)."""
    paths = [f if isinstance(f, str) else getattr(f, "name", None) or str(f) for f in (files or [])]
    if len(paths) > settings.max_styles_per_request:
        raise ImageError(f"use at most {settings.max_styles_per_request} style images (got {len(paths)})")
    images = []
    for i, path in enumerate(paths):
        data, name = Path(path).read_bytes(), f"style {i + 1}"
        size = checked_header_size(data, name)
        held = admit_encoded(size, name, settings.page_max_pixels, reservation, rules.DEFAULT_STYLE_SIZE,
                             lambda size: style_work_size(size, rules.DEFAULT_STYLE_SIZE))
        images.append(decode_admitted(data, name, settings.page_max_pixels, reservation, held,
                                      rules.DEFAULT_STYLE_SIZE))
    return images


def page_text(exc: ApiError) -> str:
    """An admission refusal as the page says it."""
    if exc.status == 503:
        return f"The server is busy — {exc.message}."
    if exc.status == 413:
        return f"{exc.message}. Use the GIMP/Krita plug-in or the CLI for huge canvases."
    return exc.message


def admit_editor_images(editor: gr.ImageEditor, new_reservation: Callable[[], Reservation], max_pixels: int) -> None:
    """Make the content editor admit its images by their headers before Gradio decodes them.

    Why: Gradio decodes the editor's images (background, layers, composite) in the editor's preprocess,
    before any handler runs; here each is first sized from its file, checked (shape, the page's pixel limit)
    and its pixels taken from the server's budget. The reservation travels to the handler in the value (key
    "reservation"); if the value is dropped unused, its pixels are given back. (The instance's preprocess is
    wrapped: a subclass of a Gradio component makes Gradio write a stub file beside this module.)
    """
    decode = editor.preprocess

    def preprocess(payload: Any) -> Any:
        if payload is None:
            return None
        cached = editor.blob_storage.get(payload.id) if getattr(payload, "id", None) is not None else None
        source = cached or payload
        reservation = new_reservation()
        try:
            for item in [source.background, *(source.layers or []), source.composite]:
                if item is None:
                    continue
                data = Path(item.path).read_bytes() if getattr(item, "path", None) else bytes(item)
                admit(reservation, checked_header_size(data, "content"), "content", max_pixels)
            value = decode(payload)
        except ApiError as exc:
            reservation.release()
            raise gr.Error(page_text(exc), print_exception=False) from None
        except BaseException:
            reservation.release()
            raise
        if value is None:
            reservation.release()
            return None
        admitted = _AdmittedValue(value, reservation=reservation)
        weakref.finalize(admitted, reservation.release)
        return admitted

    editor.preprocess = preprocess  # type: ignore[method-assign]


class _AdmittedValue(dict):
    """An editor value with its reservation (a dict subclass: it can be watched by weakref.finalize)."""


def result_image(job: Job, mode: str) -> Image.Image | None:
    """A finished job's result (asked for as raw RGBA) as an image of `mode`, the content's; None when the
    result is gone. RGBA -> RGB drops an alpha of 255 everywhere: the pixels are the engine's exactly."""
    if job.result is None:
        return None
    image = Image.frombytes("RGBA", (job.width, job.height), job.result)
    return image if mode == "RGBA" else image.convert(mode)


class Studio:
    """The page's handlers around a job queue."""

    CANCEL_WAIT = 120.0  # seconds Cancel waits for a running job to stop (it stops between tiles)
    CANCELLED = "Cancelled."  # the status of a cancelled job, said by Stylize and by Cancel, whichever answers last

    def __init__(self, queue: JobQueue, outdir: Path, settings: Settings) -> None:
        self.queue = queue
        self.settings = settings
        self.outdir = outdir
        outdir.mkdir(parents=True, exist_ok=True)
        self._recent: OrderedDict[str, Path] = OrderedDict()
        self._active: dict[str, Job] = {}  # browser session -> its job in the queue, for Cancel
        self._cancel_asked: set[str] = set()  # Cancel pressed before this session's job was registered

    @staticmethod
    def _session(request: gr.Request | None) -> str:
        return getattr(request, "session_hash", None) or "local"

    def cancel(self, request: gr.Request) -> Any:
        """Cancel button: stop this browser's job (a queued one at once, a running one at its next tile).

        Why it waits for the job to end before it answers: Stylize's handler writes the same status line, and
        the two answers reach the page in either order; a "Cancelling…" that came after Stylize's "Cancelled."
        would stay on the page for good. So Cancel answers with the job's end, or leaves a result's status as
        it is when the job finished before the cancel took effect."""
        key = self._session(request)
        job = self._active.get(key)
        if job is None or job.done_event.is_set():
            self._cancel_asked.add(key)  # a Stylize may be between submitting and registering its job
            return "Nothing is running."
        self.queue.cancel(job)
        if not job.done_event.wait(self.CANCEL_WAIT):
            return "Cancelling… (the job stops at its next tile)"
        return self.CANCELLED if job.state == "cancelled" else gr.update()

    def run(self, editor: Any, files: Any, *controls: Any, request: gr.Request = None,
            progress: gr.Progress = gr.Progress()) -> tuple:
        """Stylize button: (result, before/after, download file, status). `controls`: one weight per weight
        slider (max_styles_per_request of them), then alpha, colour mode and stroke scale. Every image is
        admitted (its pixels and working size taken from the server's budget) before it is decoded: by the
        editor (admit_editor_images) or here."""
        reservation = editor.pop("reservation", None) if isinstance(editor, dict) else None
        admitted = reservation is not None
        reservation = reservation or self._reservation()
        try:
            return self._run(editor, files, controls, reservation, admitted, request, progress)
        except ApiError as exc:
            return self._message(page_text(exc))
        except ImageError as exc:
            return self._message(f"Cannot use that image — {exc}")
        finally:
            reservation.release()  # what no job took over

    def _reservation(self) -> Reservation:
        budget = self.queue.budget or PixelBudget(self.settings.queue_pixels)
        return Reservation(budget, self.settings.retry_after)

    def _run(self, editor: Any, files: Any, controls: tuple, reservation: Reservation, admitted: bool,
             request: gr.Request | None, progress: gr.Progress) -> tuple:
        *slider_weights, alpha, preserve, scale = controls
        t0 = time.time()
        content, mask = editor_content_and_mask(editor)
        if content is None:
            return self._message("Upload a content image first.")
        try:
            rules.check_scale(scale)
        except RuleError as exc:
            return self._message(exc.message[:1].upper() + exc.message[1:] + ".")
        # The working image (stroke scale, at least 32 pixels across); the decoded content when the editor
        # has not admitted it already.
        admit(reservation, content.size, "content", self.settings.page_max_pixels,
              held=0 if admitted else content.width * content.height, work=content_work_size(content.size, scale))
        styles = load_styles(files, self.settings, reservation)
        if not styles:
            return self._message("Add at least one style image.")
        weights = None if mask is not None else list(slider_weights)[:len(styles)]
        try:  # the request's rules, as every front end applies them
            stylize = StylizeRequest(content, styles, weights=weights, alpha=alpha, preserve_color=preserve,
                                     mask=mask, scale=scale)
        except (RequestError, MaskError) as exc:
            return self._message(exc.message[:1].upper() + exc.message[1:] + ".")
        reservation.settle(request_pixels(stylize), "these images")  # what the job holds, no more
        key = self._session(request)
        self._cancel_asked.discard(key)
        try:
            job = self.queue.submit(stylize, reservation.pixels, result_format="rgba")  # the job gives them back
        except QueueFull:
            return self._message("The server is busy (queue full). Try again in a few seconds.")
        reservation.hand_over()
        self._active[key] = job
        if key in self._cancel_asked:
            self.queue.cancel(job)
        try:
            progress(0.0, desc="queued")
            while not job.done_event.wait(0.1):
                progress(job.progress, desc=job.state)
        finally:
            self._cancel_asked.discard(key)
            if self._active.get(key) is job:
                del self._active[key]
        if job.state == "cancelled":
            return (gr.update(), gr.update(), gr.update(), self.CANCELLED)
        result = result_image(job, content.mode) if job.state == "done" else None
        if result is None:
            return self._message(f"Stylization {job.state}: {job.error or 'no result'}")
        self.queue.mark_delivered(job)
        path = self.result_path(key, job)
        result.save(path)
        self._remember(path)
        before = content.convert(result.mode) if content.size == result.size else content
        return (result, (before, result), str(path),
                f"✅ Done in {time.time() - t0:.1f} s — {result.width}x{result.height}"
                f"{' with mask' if mask is not None else ''}")

    def result_path(self, session: str, job: Job) -> Path:
        """Where a session's result is written: a folder of its own (named by a hash of the session, never by
        what the browser sent) and the whole job id, so no two jobs, or sessions, share a file."""
        folder = self.outdir / hashlib.sha256(session.encode("utf-8", "replace")).hexdigest()[:24]
        folder.mkdir(exist_ok=True)
        return folder / f"adastyle-{job.id}.png"

    def rerun(self, has_result: Any, *args: Any, request: gr.Request = None,
              progress: gr.Progress = gr.Progress()) -> tuple:
        """Slider release: re-render only when there is already a result (features are cached)."""
        if has_result is None:
            return (gr.update(), gr.update(), gr.update(), gr.update())
        return self.run(*args, request=request, progress=progress)

    def _message(self, text: str) -> tuple:
        return (gr.update(), gr.update(), gr.update(), f"⚠️ {text}")

    def _remember(self, path: Path) -> None:
        self._recent[str(path)] = path
        while len(self._recent) > 20:
            _, old = self._recent.popitem(last=False)
            old.unlink(missing_ok=True)
            if old.parent != self.outdir and not any(old.parent.iterdir()):
                old.parent.rmdir()


def gradio_handler(fn: Callable[..., tuple], names: Sequence[str]) -> Callable[..., tuple]:
    """`fn(*values, request=..., progress=...)` as a function of the positional parameters `names`, then
    `request` and `progress`. Why: Gradio hands a handler the browser's request (whose session Cancel looks
    up) and a progress tracker only through positional parameters it sees in the signature, and the number
    of weight sliders is a setting (max_styles_per_request)."""
    def handler(*args: Any) -> tuple:
        *values, request, progress = args
        return fn(*values, request=request, progress=progress)

    param = inspect.Parameter
    handler.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [param(n, param.POSITIONAL_OR_KEYWORD) for n in names] +
        [param("request", param.POSITIONAL_OR_KEYWORD, default=None),
         param("progress", param.POSITIONAL_OR_KEYWORD, default=gr.Progress())])
    handler.__annotations__ = {"request": gr.Request}
    return handler


def style_previews(files: Any, sliders: int) -> tuple:
    """Gallery of the chosen styles and one visible weight slider per style (of `sliders`)."""
    paths = [f if isinstance(f, str) else getattr(f, "name", str(f)) for f in (files or [])][:sliders]
    n = len(paths)
    return (paths, *[gr.update(visible=n > 1 and i < n) for i in range(sliders)])


def page_temp_dir() -> Path:
    """One private temporary folder per process for Gradio's uploads and the page's results.

    Why: Gradio otherwise keeps every upload in a shared /tmp/gradio for good. This one is removed when the
    process exits (atexit: SIGTERM and SIGINT end the server normally), and Gradio sweeps old files out of
    it while it runs (CACHE_SWEEP); the folders of page processes that were killed outright (kill -9, no
    exit code ran) are removed when the next one starts, recognised by the process id in their name.
    """
    remove_orphaned_temp_dirs()
    root = Path(tempfile.mkdtemp(prefix=f"adastyle-web-{os.getpid()}-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    os.environ["GRADIO_TEMP_DIR"] = str(root / "uploads")  # read by gr.Blocks and Gradio's app when created
    return root


def remove_orphaned_temp_dirs() -> list[Path]:
    """Remove this user's page folders whose process is gone; returns them."""
    from adastyle.server.process import alive

    gone = []
    for folder in Path(tempfile.gettempdir()).glob("adastyle-web-*-*"):
        pid = folder.name.split("-")[2]
        try:
            mine = folder.is_dir() and not folder.is_symlink() and folder.stat().st_uid == os.getuid()
        except OSError:
            continue
        if mine and pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            gone.append(folder)
    return gone


def build_page(queue: JobQueue, settings: Settings, library: Library | None = None) -> gr.Blocks:
    root = page_temp_dir()
    studio = Studio(queue, root / "results", settings)
    n_sliders = settings.max_styles_per_request
    ex = examples_dir()
    # No usage reports: a local tool for private pictures does not phone home.
    with gr.Blocks(title="AdaStyle", delete_cache=CACHE_SWEEP, analytics_enabled=False) as demo:
        gr.Markdown(INTRO)
        example_gallery = gr.Gallery(
            value=[(example_thumbnail(ex / c, [ex / st for st in ss]), example_caption(c, ss)) for c, ss in EXAMPLES],
            label="Examples (the style is in the corner): click one to load it, then press Stylize",
            columns=2 * len(EXAMPLES), rows=1, height=THUMB_SIDE + 60, object_fit="contain", allow_preview=False,
            fit_columns=False,  # fewer thumbnails than columns stay thumbnail-sized (wider ones were cut off)
            interactive=False, elem_id="examples")
        with gr.Row():
            with gr.Column(scale=3):
                editor = gr.ImageEditor(label="Content (paint a mask with the brush)", type="pil",
                                        sources=["upload", "webcam", "clipboard"], image_mode="RGBA",
                                        brush=gr.Brush(colors=["#ffffff"], color_mode="fixed", default_size=40),
                                        layers=False, elem_id="content-editor", height=420)
                admit_editor_images(editor, studio._reservation, settings.page_max_pixels)
                styles = gr.File(label="Style images (one or more)", file_count="multiple",
                                 file_types=["image"], elem_id="style-files", height=120)
                gallery = gr.Gallery(label="Styles", columns=4, height="auto", elem_id="style-gallery",
                                     interactive=False, object_fit="contain", fit_columns=False)
                weights = [gr.Slider(0, 1, value=1.0, step=0.05, label=f"Weight of style {i + 1}", visible=False,
                                     elem_id=f"weight-{i + 1}") for i in range(n_sliders)]
            with gr.Column(scale=2):
                alpha = gr.Slider(wire.ALPHA.minimum, wire.ALPHA.maximum, value=wire.ALPHA.default, step=0.05,
                                  label="Alpha (content ↔ style)", elem_id="alpha",
                                  info="0 = the content decoded, 1 = full style")
                preserve = gr.Radio(COLOUR_CHOICES, value=wire.PRESERVE_COLOR.default, label="Preserve colour",
                                    elem_id="preserve")
                # The page offers the stroke scales worth trying (the server takes wire.SCALE's wider range).
                scale = gr.Slider(0.25, 2.0, value=wire.SCALE.default, step=0.05, label="Stroke scale", elem_id="scale",
                                  info="below 1: larger brush strokes (works at a lower resolution)")
                with gr.Row():
                    go = gr.Button("Stylize", variant="primary", elem_id="stylize", scale=3)
                    stop = gr.Button("Cancel", variant="stop", elem_id="cancel", scale=1)
                status = gr.Markdown("", elem_id="status")
                result = gr.Image(label="Result", type="pil", format="png", interactive=False, elem_id="result")
                compare = gr.ImageSlider(label="Before / after", type="pil", interactive=False, elem_id="compare")
                download = gr.File(label="Download PNG", interactive=False, elem_id="download")
        if library is not None:
            panel = LibraryPanel(library, root / "library", n_sliders)
            library_controls(panel, styles, weights, alpha, preserve, scale)
        gr.Markdown("Example images: scikit-image photos; Battle for Wesnoth and UKUI artwork "
                    "(credits and licences: adastyle/examples/CREDITS.md).", elem_id="example-credits")
        example_gallery.select(load_example, None, [editor, styles])
        inputs = [editor, styles, *weights, alpha, preserve, scale]
        outputs = [result, compare, download, status]
        styles.change(lambda files: style_previews(files, n_sliders), styles, [gallery, *weights])
        names = ["editor", "files", *(f"weight_{i + 1}" for i in range(n_sliders)), "alpha", "preserve", "scale"]
        # Stylize and every slider release share one limit: at most page_jobs of them decode images at once.
        go.click(gradio_handler(studio.run, names), inputs, outputs, concurrency_limit=settings.page_jobs,
                 concurrency_id=STYLIZE_GROUP)
        stop.click(studio.cancel, None, status, concurrency_limit=None)  # never waits behind a running job
        for slider in (alpha, *weights):
            slider.release(gradio_handler(studio.rerun, ["has_result", *names]), [result, *inputs], outputs,
                           trigger_mode="always_last", concurrency_limit=settings.page_jobs,
                           concurrency_id=STYLIZE_GROUP)
    return demo


def mount_page(app: Any, queue: JobQueue, settings: Settings, path: str = "/ui") -> Callable[[Any], Any]:
    """Mount the page at `path` on a FastAPI app (the server's, or one of its own under `adastyle web`).
    The server calls this as one of its front-end hooks, before it starts. Returns the wrapper to put in
    front of the whole app: its uploads checked by UploadGuard before anything stores them."""
    demo = build_page(queue, settings, getattr(app.state, "library", None) or open_library(settings))
    demo.queue(default_concurrency_limit=settings.page_jobs)
    gr.mount_gradio_app(app, demo, path=path, max_file_size=settings.page_max_upload,
                        allowed_paths=[str(examples_dir())])
    return partial(UploadGuard, max_file=settings.page_max_upload)


def launch(settings: Settings) -> None:
    """`adastyle web`: the page alone on 127.0.0.1 with its own model and queue, served as the server is
    (run.serve_asgi: header deadline, fair connection cap, clean stop on SIGTERM/SIGINT) behind the same
    security middleware (Host, Origin and Sec-Fetch-Site checks, no CORS, frame denial, body limits, the
    upload checks), only without a credential."""
    from fastapi import FastAPI

    from adastyle.engine import Stylizer
    from adastyle.server.jobs import stylizer_runner
    from adastyle.server.run import bind, serve_asgi, url_for
    from adastyle.server.security import SecurityMiddleware

    socks = bind(settings.host, settings.port)
    queue = JobQueue(stylizer_runner(Stylizer(device=settings.device)), settings.max_queue, settings.result_ttl,
                     settings.result_bytes, PixelBudget(settings.queue_pixels))
    try:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        asgi = SecurityMiddleware(mount_page(app, queue, settings, path="")(app), None, settings.allow_remote,
                                  settings.max_body, ui_prefix="", body_timeout=settings.body_timeout,
                                  min_body_rate=settings.min_body_rate)
        url = url_for(settings.host, settings.port)
        # Quiet otherwise (Gradio's banner suggests share=True).
        serve_asgi(asgi, settings, socks,
                   on_started=lambda: print(f"AdaStyle web page: {url}  (Ctrl+C to stop)", flush=True))
    finally:
        queue.stop()

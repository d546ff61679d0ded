"""The FastAPI app: /v1 endpoints over the job queue, JSON errors, the API page at /docs (bundled Swagger UI).

Other front ends that share the queue (the web page at /ui) are mounted by whoever starts the server,
through `front_ends` hooks: the app knows none of them, so it never imports the page (nor anything
the page imports it for).
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from adastyle import __version__
from adastyle.engine import Stylizer
from adastyle.errors import user_message
from adastyle.library import open_library
from adastyle.library.routes import LibraryStyles, mount_library
from adastyle.live_canvas import LiveCanvases
from adastyle.sequence import MAX_FRAMES
from adastyle.server.admission import Reservation
from adastyle.server.budget import ByteBoundedStore, PixelBudget
from adastyle.server.docs import mount_docs
from adastyle.server.errors import ApiError, BodyTimeout, BodyTooLarge
from adastyle.server.forms import form_limits, parse_job, parse_style_upload
from adastyle.server.jobs import Job, JobQueue, QueueFull, stylizer_runner
from adastyle.server.security import SecurityMiddleware
from adastyle.server.sequence import parse_sequence
from adastyle.settings import Settings

log = logging.getLogger(__name__)


ASGIWrapper = Callable[[Any], Any]  # an ASGI app around another (a middleware in front of the whole app)
# A front end mounted beside the API on the same queue: called with the app (before it starts), the queue and
# the settings; it may add routes and mounts, and return a wrapper that build_asgi puts around the app.
FrontEnd = Callable[[FastAPI, JobQueue, Settings], "ASGIWrapper | None"]


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)


def create_app(settings: Settings, stylizer: Stylizer | None = None, front_ends: Sequence[FrontEnd] = (),
               id_key: bytes | None = None) -> FastAPI:
    """The app with its own Stylizer and worker (`app.state.queue`), and each of `front_ends` mounted on it.
    `id_key` signs job ids across restarts (JobQueue)."""
    stylizer = stylizer or Stylizer(device=settings.device)
    library = open_library(settings)
    styles = LibraryStyles(ByteBoundedStore(settings.style_store_bytes), library)  # uploads, and lib:ID
    budget = PixelBudget(settings.queue_pixels)
    # Live sessions (a job's `live` key): each keeps its last render, about 10 MB for a 512 px preview.
    queue = JobQueue(stylizer_runner(stylizer, LiveCanvases()), settings.max_queue, settings.result_ttl,
                     settings.result_bytes, budget, id_key)
    ttl_text = settings.result_ttl_text

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        queue.stop()  # the worker thread ends with the server

    app = FastAPI(title="AdaStyle", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="Local AdaIN style transfer server for GIMP, Krita and the browser. "
                              "Send `Authorization: Bearer <token>` (the token file is in the config folder).")
    app.state.queue = queue
    app.state.stylizer = stylizer
    app.state.settings = settings

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_request", str(exc.errors())[:500])

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "http_error", str(exc.detail), exc.headers)  # a 405 keeps its Allow

    @app.exception_handler(BodyTooLarge)
    async def too_large(_: Request, exc: BodyTooLarge) -> JSONResponse:
        return _error(413, "body_too_large", f"request body is over the limit of {settings.max_body:,} bytes")

    @app.exception_handler(BodyTimeout)
    async def too_slow(_: Request, exc: BodyTimeout) -> JSONResponse:
        return _error(408, "body_timeout", "the request body stopped arriving", {"Connection": "close"})

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        # The one error policy: the details go to the log, never to the client.
        return _error(500, "internal_error", user_message(exc, log, "request"))

    async def read_form(request: Request, frames: int = 0):
        """The request's form within form_limits (`frames`: the most frames it may carry)."""
        ctype = request.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data") and not ctype.startswith("application/x-www-form-urlencoded"):
            raise ApiError(415, "unsupported_media_type", "send the images as multipart/form-data")
        limits = form_limits(settings, frames)
        try:
            return await request.form(max_files=limits.files, max_fields=limits.fields,
                                      max_part_size=limits.part_bytes)
        except (BodyTooLarge, BodyTimeout):
            raise
        except MultiPartException as exc:
            raise ApiError(400, "invalid_multipart", f"cannot parse the multipart body: {exc.message}") from None
        except Exception as exc:
            raise ApiError(400, "invalid_multipart", f"cannot parse the form: {exc}") from None

    async def submit(request: Request, sequence: bool = False) -> Job:
        form = await read_form(request, MAX_FRAMES if sequence else 0)
        reservation = Reservation(budget, settings.retry_after)
        try:
            parsed = await (parse_sequence if sequence else parse_job)(form, styles, settings, reservation)
            job = queue.submit(parsed.request, reservation.pixels, parsed.result_format,
                               parsed.live)
            reservation.hand_over()
            return job
        except QueueFull:
            reservation.release()
            raise ApiError(503, "queue_full", f"the queue is full ({settings.max_queue} jobs); retry shortly",
                           {"Retry-After": str(settings.retry_after)}) from None
        except BaseException:
            reservation.release()
            raise
        finally:
            await form.close()

    def get_job(job_id: str) -> Job:
        job = queue.get(job_id)
        if job is None and queue.of_earlier_run(job_id):
            raise ApiError(404, "job_lost", f"job {job_id} belongs to an earlier run of the server, which has "
                                            "stopped since (a restart or a crash): its result is lost; submit it again")
        if job is None:
            raise ApiError(404, "unknown_job", f"no job {job_id[:40]!r} (finished results are kept for {ttl_text})")
        return job

    def result_response(job: Job, frame: int | None = None) -> Response:
        if job.evicted is not None:
            raise ApiError(410, "result_evicted",
                           f"the result was dropped {job.evicted - (job.finished or job.evicted):.0f} s after the job "
                           f"finished, before its {ttl_text}: newer results needed the room the server keeps for "
                           f"results ({settings.result_bytes >> 20} MB); run the job again")
        if job.state != "done" or (job.result is None and job.frames is None):
            raise ApiError(409, "not_ready", f"job is {job.state}" + (f": {job.error}" if job.error else ""))
        data = job.result
        if job.frame_count or frame is not None:  # a sequence's frame (frame=0 of a single image is the image)
            count = job.frame_count or 1
            if frame is None or not 0 <= frame < count:
                raise ApiError(422, "invalid_parameter", f"give frame=0..{count - 1} for the result of this job "
                                                         f"({count} frame{'s' if count != 1 else ''})")
            data = job.frames[frame] if job.frames is not None else job.result
        if job.frame_count == 0 or frame == job.frame_count - 1:
            queue.mark_delivered(job)
        return Response(data, media_type=job.result_type,
                        headers={"X-Width": str(job.width), "X-Height": str(job.height)})

    async def wait_done(job: Job, request: Request | None = None, limit: float | None = None) -> None:
        """Wait for a job on the event loop (no thread each: waiting clients never queue behind each
        other); when `request`'s client goes away, its job is cancelled."""
        deadline = None if limit is None else time.monotonic() + limit
        while not job.done_event.is_set():
            if request is not None and await request.is_disconnected():
                queue.cancel(job)
                return
            if deadline is not None and time.monotonic() > deadline:
                return
            await asyncio.sleep(0.05)

    @app.get("/v1/health", summary="Server status (no token needed)")
    async def health() -> dict[str, Any]:
        current = queue.current
        return {"status": "ok", "version": __version__, "device": str(stylizer.device),
                "dtype": str(stylizer.dtype).replace("torch.", ""), "queue": queue.queued(),
                "running": current.id if current else None}

    @app.post("/v1/styles", summary="Upload a style image once; use its id in later jobs")
    async def upload_style(request: Request) -> dict[str, Any]:
        form = await read_form(request)
        reservation = Reservation(budget, settings.retry_after)
        try:
            sid, image = await parse_style_upload(form, settings.max_pixels, reservation, settings.style_keep_side)
        finally:
            reservation.release()  # the store has a byte budget of its own
            await form.close()
        styles.put(sid, image, image.width * image.height * len(image.getbands()))
        return {"id": sid, "width": image.width, "height": image.height}

    @app.post("/v1/jobs", status_code=202, summary="Queue a stylisation job (multipart)")
    async def create_job(request: Request) -> dict[str, Any]:
        job = await submit(request)
        return {**job.info(), "position": queue.position(job)}

    @app.get("/v1/jobs/{job_id}", summary="Job state and progress")
    async def job_info(job_id: str) -> dict[str, Any]:
        return get_job(job_id).info()

    @app.post("/v1/sequence", status_code=202,
              summary="Queue the frames of an animation (frame_0..frame_N-1) as one job, steadied over time by "
                      "`stability`, `coherence` and `coherence_features` (all 0 = frame by frame)",
              description="The frames are stylised in order as one job. `stability` smooths the content "
                          "statistics across neighbouring frames (a Gaussian window of that many frames), so "
                          "colours do not pump. `coherence` follows the motion: the optical flow between "
                          "consecutive input frames carries the previous stylised frame to the new one, and the "
                          "two are blended with that weight where the flow is reliable, so the texture moves "
                          "with the picture instead of being repainted in every frame; where something new "
                          "appears (uncovered background, the picture's edge) a frame keeps its own "
                          "stylisation, and at a scene cut the chain starts afresh. `coherence_features` does "
                          "the same one step earlier, on the decoder's input: the previous frame's AdaIN target "
                          "is carried along the flow and blended into the new frame's before it is decoded, so "
                          "the decoder paints a texture that already agrees with the previous frame's.")
    async def create_sequence(request: Request) -> dict[str, Any]:
        job = await submit(request, sequence=True)
        return {**job.info(), "position": queue.position(job)}

    @app.get("/v1/jobs/{job_id}/result", summary="The result (PNG, or raw RGBA if asked); frame=i for a sequence")
    async def job_result(job_id: str, frame: int | None = None) -> Response:
        return result_response(get_job(job_id), frame)

    @app.delete("/v1/jobs/{job_id}", summary="Cancel a job (also while it runs, between tiles)")
    async def cancel_job(job_id: str) -> dict[str, Any]:
        job = get_job(job_id)
        if job.state in ("queued", "running"):
            queue.cancel(job)
            await wait_done(job, limit=30)
        return job.info()

    @app.post("/v1/stylize", summary="Stylise and answer the image directly (simple clients, curl)")
    async def stylize(request: Request) -> Response:
        job = await submit(request)
        await wait_done(job, request)
        if job.state == "failed":
            raise ApiError(422, "job_failed", job.error or "the job failed")
        if job.state == "cancelled":
            raise ApiError(409, "cancelled", "the job was cancelled")
        return result_response(job)

    mount_library(app, library, settings, read_form, budget)
    mount_docs(app)

    app.state.wrappers = [wrap for mount in front_ends if (wrap := mount(app, queue, settings)) is not None]

    return app


def build_asgi(settings: Settings, token: str, stylizer: Stylizer | None = None,
               front_ends: Sequence[FrontEnd] = ()):
    """The app, inside the wrappers its front ends asked for, inside the security middleware (what uvicorn
    serves); `token` is the one requests carry."""
    id_key = hashlib.sha256(b"adastyle job ids\0" + token.encode()).digest()  # stable while the token is
    app = create_app(settings, stylizer, front_ends, id_key)
    asgi: Any = app
    for wrap in app.state.wrappers:
        asgi = wrap(asgi)
    return SecurityMiddleware(asgi, token, settings.allow_remote, settings.max_body, body_timeout=settings.body_timeout)

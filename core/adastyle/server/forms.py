"""Turn a multipart request into a `StylizeRequest` (and the result format asked for), or a clear 4xx.

Everything that can be checked before the job runs is checked here (image headers and pixel
counts, decoding; the request's own rules when it is built), so a bad request is answered at once
and never reaches the worker. Memory: every image is admitted by its header before it is decoded
(admission.admit: its pixels and its working size taken from the server's PixelBudget); style images
are reduced while decoding to the size they are used at. Decoding runs on a small pool of its own (two
threads, which also bounds how many full-size decodes are in memory at once), never on the event loop.
"""
from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, NamedTuple

from PIL import Image
from starlette.datastructures import FormData, UploadFile

from adastyle.errors import UserError
from adastyle.imageio import ImageError, ImageTooLarge, open_image
from adastyle.request import MaskError, MaskMismatch, RequestError, StylizeRequest, content_work_size, style_work_size
from adastyle.sequence import SequenceRequest
from adastyle.server.admission import Reservation, admit, checked_header_size, off_loop_headers
from adastyle.server.budget import ByteBoundedStore
from adastyle.server.errors import ApiError
from adastyle.server.fields import LIBRARY_FIELDS
from adastyle.settings import Settings
from adastyle_plugin import rules, wire
from adastyle_plugin.errors import RuleError

DECODER = ThreadPoolExecutor(max_workers=2, thread_name_prefix="adastyle-decode")


async def off_loop(fn, *args, **kwargs):
    """Run fn on the decoding pool (PIL releases the GIL while it decodes)."""
    return await asyncio.get_running_loop().run_in_executor(DECODER, partial(fn, *args, **kwargs))


VALUE_KINDS = (wire.NUMBER, wire.INTEGER, wire.TEXT, wire.CHOICE)  # one text part each (not files, not repeated)


def field_value(form: FormData, field: wire.Field) -> Any:
    """A plain field's value as the wire schema reads it (its default when missing or empty); 422 when it is
    a file, no number in a number field, or not one of a choice field's values."""
    raw = form.get(field.name)
    if raw is not None and not isinstance(raw, str):
        raise ApiError(422, "invalid_parameter", f"{field.name} must be a form field, not a file")
    try:
        value = field.decode(raw)
        return field.check(value) if field.kind == wire.CHOICE else value
    except RuleError as exc:
        raise ApiError(422, "invalid_parameter", exc.message) from None


class FormLimits(NamedTuple):
    """What the multipart parser accepts before any field is read (Starlette's request.form limits)."""
    files: int       # file parts
    fields: int      # text parts
    part_bytes: int  # bytes of one text part


def form_limits(settings: Settings, frames: int = 0) -> FormLimits:
    """The limits of a form with the most styles a request may use: the content (or `frames` frames), the styles
    and a mask as files; one text part per value field of any form (job, sequence, library entry) and per
    style_id. One frame and one style more pass, so that one too many is answered in our words (too_many_frames,
    too_many_styles) rather than as a broken form."""
    styles = settings.max_styles_per_request + 1
    names = {f.name for f in (*wire.JOB_FIELDS, *wire.SEQUENCE_FIELDS, *LIBRARY_FIELDS) if f.kind in VALUE_KINDS}
    return FormLimits((frames + 1 if frames else 1) + styles + 1, len(names) + styles, wire.TEXT_PART_BYTES)


async def _read_upload(form: FormData, name: str, optional: bool = False) -> bytes | None:
    """The bytes of an uploaded file; None when it is not given. An `optional` one (the mask) that is empty is not
    given either: HTML forms and /docs send an empty file for an optional file input left empty."""
    item = form.get(name)
    if item is None:
        return None
    if isinstance(item, str):
        raise ApiError(400, "invalid_image", f"{name} must be an uploaded file")
    data = await item.read()
    return None if optional and not data else data


def decode_image(data: bytes, name: str, max_pixels: int, short_side: int | None = None) -> Image.Image:
    try:
        return open_image(data, name=name, max_pixels=max_pixels, short_side=short_side)
    except ImageTooLarge as exc:
        raise ApiError(413, "image_too_large", str(exc)) from None
    except ImageError as exc:
        raise ApiError(400, "invalid_image", str(exc)) from None


def admit_encoded(size: tuple[int, int], name: str, max_pixels: int, reservation: Reservation,
                  short_side: int | None = None,
                  work_size: Callable[[tuple[int, int]], tuple[int, int]] | None = None) -> int:
    """Admit an encoded image of header `size` (admission.admit: its pixels as decoded, reduced to `short_side`,
    and its working size `work_size(size)`); returns the decoded pixels estimated.

    A reduced image keeps less than twice `short_side` on its short side, so at most (2 x short_side /
    short side)^2 of its pixels are held; the full-size decode in between is bounded by the decoding
    pool's two threads, not by the budget.
    """
    w, h = size
    held = w * h
    if short_side and min(w, h) > 2 * short_side:
        held = min(held, math.ceil(held * (2 * short_side / min(w, h)) ** 2))
    admit(reservation, size, name, max_pixels, held, work_size(size) if work_size else None)
    return held


def decode_admitted(data: bytes, name: str, max_pixels: int, reservation: Reservation, held: int,
                    short_side: int | None = None) -> Image.Image:
    """Decode an admitted image and give back what the reduction saved beyond the estimate `held`."""
    image = decode_image(data, name, max_pixels, short_side)
    reservation.give(max(0, held - image.width * image.height))
    return image


async def decode_within(data: bytes, name: str, max_pixels: int, reservation: Reservation,
                        short_side: int | None = None,
                        work_size: Callable[[tuple[int, int]], tuple[int, int]] | None = None) -> Image.Image:
    """Size the image by its header (off the loop), admit it (admit_encoded), then decode it off the loop."""
    size = await off_loop_headers(checked_header_size, data, name)
    held = admit_encoded(size, name, max_pixels, reservation, short_side, work_size)
    return await off_loop(decode_admitted, data, name, max_pixels, reservation, held, short_side)


def decode_raw(data: bytes, width: int, height: int, channels: int, name: str, max_pixels: int) -> Image.Image:
    if width <= 0 or height <= 0:
        raise ApiError(422, "invalid_parameter", f"{name}: width and height must be positive for raw pixels")
    if width * height > max_pixels:
        raise ApiError(413, "image_too_large", f"{name}: {width}x{height} is over the limit of {max_pixels:,} pixels")
    if len(data) != width * height * channels:
        raise ApiError(400, "invalid_image", f"{name}: expected {width * height * channels:,} bytes of raw "
                                             f"{'RGBA' if channels == 4 else 'grey'} pixels for {width}x{height}, "
                                             f"got {len(data):,}")
    return Image.frombytes("RGBA" if channels == 4 else "L", (width, height), data)


def _style_id(image: Image.Image) -> str:
    return hashlib.sha1(image.tobytes()).hexdigest()[:20]


async def parse_style_upload(form: FormData, max_pixels: int, reservation: Reservation,
                             keep_side: int) -> tuple[str, Image.Image]:
    """(id, image) of an uploaded style, reduced to `keep_side` while decoding and hashed off the loop."""
    data = await _read_upload(form, "style")
    if data is None:
        raise ApiError(422, "missing_field", "upload the style image in the field 'style'")
    image = await decode_within(data, "style", max_pixels, reservation, keep_side)
    return await off_loop(_style_id, image), image


class JobForm(NamedTuple):
    """What a job form asks for: the request (one image, or the frames of a sequence), and how its result is
    to be sent back."""
    request: StylizeRequest | SequenceRequest
    result_format: str  # a key of jobs.RESULT_FORMATS
    live: str | None = None  # a live session's key (jobs.Job.live_key)


def build_request(content: Image.Image, styles: list[Image.Image], mask: Image.Image | None, **options: Any
                  ) -> StylizeRequest:
    """The StylizeRequest, its rules (adastyle_plugin.rules) checked once, here; a broken rule is a 422."""
    try:
        return StylizeRequest(content, styles, mask=mask, **options)
    except MaskMismatch as exc:
        raise ApiError(422, "mask_mismatch", exc.message) from None
    except MaskError as exc:
        raise ApiError(422, "invalid_mask", exc.message) from None
    except RequestError as exc:
        raise ApiError(422, "invalid_parameter", exc.message) from None
    except UserError as exc:  # an image the request cannot use
        raise ApiError(400, "invalid_image", exc.message or str(exc)) from None


def job_values(form: FormData, fields: tuple[wire.Field, ...], settings: Settings) -> dict[str, Any]:
    """The plain fields of a job (or sequence) form by name, with what admission sizes images by (the style
    count, scale and style size) checked before any image is read."""
    values = {f.name: field_value(form, f) for f in fields if f.kind in VALUE_KINDS}
    style_count = len(form.getlist(wire.STYLE.name)) + len(style_ids(form))
    if style_count > settings.max_styles_per_request:
        raise ApiError(422, "too_many_styles", f"use at most {settings.max_styles_per_request} styles in one "
                                               f"request (got {style_count})")
    try:
        rules.check_scale(values["scale"])
        rules.check_style_size(values["style_size"])
    except RuleError as exc:
        raise ApiError(422, "invalid_parameter", exc.message) from None
    return values


def style_ids(form: FormData) -> list[Any]:
    """The style_id fields given: an empty one is one not given (HTML forms and /docs send empty fields), as an
    empty number field is."""
    return [sid for sid in form.getlist(wire.STYLE_ID.name) if not (isinstance(sid, str) and not sid.strip())]


async def decode_content(data: bytes, name: str, values: dict[str, Any], max_pixels: int,
                         reservation: Reservation) -> Image.Image:
    """The content (or a frame), raw RGBA of the form's width and height or an encoded file, admitted with
    its working size at the form's scale."""
    content_work = partial(content_work_size, scale=values["scale"])
    if values["content_format"] == "rgba":
        width, height = values["width"], values["height"]
        if width > 0 and height > 0:
            admit(reservation, (width, height), name, max_pixels, work=content_work((width, height)))
        return decode_raw(data, width, height, 4, name, max_pixels)
    return await decode_within(data, name, max_pixels, reservation, work_size=content_work)


async def complete_job(form: FormData, values: dict[str, Any], content: Image.Image,
                       style_store: ByteBoundedStore[Image.Image], settings: Settings,
                       reservation: Reservation) -> JobForm:
    """The job around its decoded content: the styles and mask decoded, the request built and its rules
    checked."""
    max_pixels = settings.max_pixels
    used_size = rules.check_style_size(values["style_size"])
    # Styles are used with their short side at style_size: decode them no larger (native: keep_side).
    short_side = used_size or settings.style_keep_side
    style_work = partial(style_work_size, style_size=used_size)
    styles: list[Image.Image] = []
    for i, item in enumerate(form.getlist(wire.STYLE.name)):
        if not isinstance(item, UploadFile):
            raise ApiError(400, "invalid_image", "style must be an uploaded file (or use style_id)")
        styles.append(await decode_within(await item.read(), f"style {i + 1}", max_pixels, reservation, short_side,
                                          style_work))
    for sid in style_ids(form):
        if not isinstance(sid, str):
            raise ApiError(422, "invalid_parameter", "style_id must be a form field, not a file")
        stored = style_store.get(sid)
        if stored is None:
            raise ApiError(404, "unknown_style", f"no uploaded style with id {sid[:40]!r} (upload it again)")
        admit(reservation, stored.size, "style_id", max_pixels, held=0, work=style_work(stored.size))  # the store
        styles.append(stored)                                                                       # holds it
    if not styles:
        raise ApiError(422, "missing_field", "give at least one style: a 'style' file or a 'style_id'")

    mask = None
    mask_data = await _read_upload(form, wire.MASK.name, optional=True)
    if mask_data is not None:
        if values["mask_format"] == "gray":
            admit(reservation, content.size, "mask", max_pixels)
            mask = decode_raw(mask_data, content.width, content.height, 1, "mask", max_pixels)
        else:
            mask = await decode_within(mask_data, "mask", max_pixels, reservation)

    try:
        weights = rules.parse_weights(values["weights"])
    except RuleError as exc:
        raise ApiError(422, "invalid_parameter", exc.message) from None
    request = await off_loop(build_request, content, styles, mask, weights=weights, alpha=values["alpha"],
                             preserve_color=values["preserve_color"], scale=values["scale"], tile=values["tile"],
                             style_size=values["style_size"])
    return JobForm(request, values["result_format"])


async def parse_job(form: FormData, style_store: ByteBoundedStore[Image.Image], settings: Settings,
                    reservation: Reservation) -> JobForm:
    """The job's StylizeRequest (images decoded) and result format, or ApiError.

    The pixels of its images stay taken in `reservation` (the caller hands them to the job, or
    gives them back when anything fails).
    """
    values = job_values(form, wire.JOB_FIELDS, settings)
    try:
        live = rules.check_live_key(values[wire.LIVE.name])
    except RuleError as exc:
        raise ApiError(422, "invalid_parameter", exc.message) from None
    data = await _read_upload(form, wire.CONTENT.name)
    if data is None:
        raise ApiError(422, "missing_field", "upload the content image in the field 'content'")
    content = await decode_content(data, "content", values, settings.max_pixels, reservation)
    del data
    return (await complete_job(form, values, content, style_store, settings, reservation))._replace(live=live)

"""POST /v1/sequence: the frames of an animation as ONE job, stylised with smoothed content statistics.

Why one job: the frames must be measured together before any is stylised (temporal stability), so they
travel together; in the queue they are one entry, whose progress is frames done / frames, which can be
cancelled between frames, and whose per-frame results (GET /v1/jobs/{id}/result?frame=i) count against
the same byte budget as any result. The options (styles, mask, weights, alpha, ...) are read by the
job form's own steps (forms.job_values, forms.complete_job), with the first frame as the content; the other
frames are decoded the same way and must have the first one's size.
"""
from __future__ import annotations

import dataclasses

from PIL import Image
from starlette.datastructures import FormData, UploadFile

from adastyle.errors import UserError
from adastyle.request import content_work_size
from adastyle.sequence import MAX_FRAMES, SequenceRequest
from adastyle.server.admission import Reservation, admit, check_api_shape, checked_header_size, off_loop_headers
from adastyle.server.budget import ByteBoundedStore
from adastyle.server.errors import ApiError
from adastyle.server.forms import JobForm, complete_job, decode_content, decode_raw, decode_within, job_values
from adastyle.settings import Settings
from adastyle_plugin import wire


def frame_uploads(form: FormData) -> list[UploadFile | str]:
    """frame_0, frame_1, ... up to the first missing index; 422 when there are none or too many."""
    frames: list[UploadFile | str] = []
    while (item := form.get(f"frame_{len(frames)}")) is not None:
        frames.append(item)
        if len(frames) > MAX_FRAMES:
            raise ApiError(413, "too_many_frames", f"a sequence may have at most {MAX_FRAMES} frames")
    if not frames:
        raise ApiError(422, "missing_field", "upload the frames in the fields frame_0, frame_1, ... "
                                             "(at least one)")
    return frames


async def parse_sequence(form: FormData, style_store: ByteBoundedStore[Image.Image], settings: Settings,
                         reservation: Reservation) -> JobForm:
    """The job's SequenceRequest (all frames decoded) and result format, or ApiError.

    The whole sequence is sized before anything is decoded: by the width and height fields for raw
    frames, by each file's header otherwise. Its working pixels (all frames x the working size, admission's) must fit
    max_pixels, the most one request may make the engine work on; its decoded pixels are taken from
    the queue's budget like any job's.
    """
    uploads: list[UploadFile] = []
    for i, item in enumerate(frame_uploads(form)):
        if not isinstance(item, UploadFile):
            raise ApiError(400, "invalid_image", f"frame_{i} must be an uploaded file")
        uploads.append(item)
    values = job_values(form, wire.SEQUENCE_FIELDS, settings)
    raw = values["content_format"] == "rgba"
    data = [await item.read() for item in uploads]
    if raw:
        width, height = values["width"], values["height"]
        sizes = [(width, height)] * len(data)
        for i, d in enumerate(data):
            if width > 0 and height > 0 and len(d) != width * height * 4:
                raise ApiError(400, "invalid_image", f"frame_{i}: expected {width * height * 4:,} bytes of raw RGBA "
                                                     f"pixels for {width}x{height}, got {len(d):,}")
    else:
        sizes = await off_loop_headers(lambda: [checked_header_size(d, f"frame_{i}") for i, d in enumerate(data)])
    for i, size in enumerate(sizes):
        if size != sizes[0]:
            raise ApiError(422, "frame_size_mismatch", f"all frames must have the same size: frame_0 is "
                                                       f"{sizes[0][0]}x{sizes[0][1]}, frame_{i} is {size[0]}x{size[1]}")
    check_api_shape(sizes[0], "frame_0")
    work = content_work_size(sizes[0], values["scale"]) if min(sizes[0]) > 0 else sizes[0]
    total = len(data) * work[0] * work[1]
    if total > settings.max_pixels:
        raise ApiError(413, "image_too_large",
                       f"the sequence is {len(data)} frames of {sizes[0][0]}x{sizes[0][1]}, worked at "
                       f"{work[0]}x{work[1]} = {total:,} working pixels (frames x working size), over the limit of "
                       f"{settings.max_pixels:,} for one request; send fewer frames at a time or smaller ones")

    # The options around frame 0, as a job's around its content.
    content = await decode_content(data[0], "frame_0", values, settings.max_pixels, reservation)
    data[0] = b""
    parsed = await complete_job(form, values, content, style_store, settings, reservation)
    frames = [parsed.request]
    for i, d in enumerate(data[1:], start=1):
        if raw:  # frames are worked one at a time: frame 0 paid for the working image
            admit(reservation, sizes[i], f"frame_{i}", settings.max_pixels)
            content = decode_raw(d, sizes[i][0], sizes[i][1], 4, f"frame_{i}", settings.max_pixels)
        else:
            content = await decode_within(d, f"frame_{i}", settings.max_pixels, reservation)
        data[i] = b""
        frames.append(dataclasses.replace(parsed.request, content=content))  # the same options, checked again
    try:
        sequence = SequenceRequest(tuple(frames), values["stability"], values["coherence"],
                                   values["coherence_features"])
    except UserError as exc:
        raise ApiError(422, "invalid_parameter", exc.message or str(exc)) from None
    return JobForm(sequence, parsed.result_format)

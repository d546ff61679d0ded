"""The wire schema end to end without a network: what the plug-in toolkit encodes (http.job_fields,
http.sequence_fields, encode_multipart) the server's form parser (forms.parse_job, sequence.parse_sequence)
decodes to the same values, for every field of the schema, at the edges of every range; a value just outside a
range is refused by the toolkit and by the server in the same words."""
from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
from PIL import Image
from starlette.requests import Request

from adastyle.server.admission import Reservation
from adastyle.server.budget import ByteBoundedStore, PixelBudget
from adastyle.server.errors import ApiError
from adastyle.server.forms import form_limits, parse_job
from adastyle.server.jobs import RESULT_FORMATS
from adastyle.server.sequence import parse_sequence
from adastyle.settings import Settings
from adastyle_plugin import http, wire
from adastyle_plugin.errors import RuleError
from adastyle_plugin.wire import JOB_FIELDS, SEQUENCE_FIELDS

SETTINGS = Settings()


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


CONTENT, STYLE_A, STYLE_B = png((64, 48), (200, 120, 40)), png((40, 40), (10, 90, 200)), png((32, 48), (0, 200, 0))


async def _decode(fields: list[tuple[str, Any]], parse: Any, frames: int = 0) -> Any:
    """The server's reading of the toolkit's form: the multipart body parsed as the app parses it, then `parse`."""
    body, ctype = http.encode_multipart(fields)
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request({"type": "http", "method": "POST", "path": "/", "headers": [(b"content-type", ctype.encode())],
                       "query_string": b""}, receive)
    limits = form_limits(SETTINGS, frames)
    form = await request.form(max_files=limits.files, max_fields=limits.fields, max_part_size=limits.part_bytes)
    try:
        reservation = Reservation(PixelBudget(SETTINGS.queue_pixels), SETTINGS.retry_after)
        return await parse(form, ByteBoundedStore(1 << 20), SETTINGS, reservation)
    finally:
        await form.close()


def decode_job(fields: list[tuple[str, Any]]) -> Any:
    return asyncio.run(_decode(fields, parse_job))


def edges(field: wire.Field) -> list[Any]:
    """The values at the edges of a number field's range: its ends, 0 where 0 has a meaning, the default."""
    kind = int if field.kind == wire.INTEGER else float
    values = [kind(field.minimum), kind(field.maximum), field.default]
    if field.zero is not None:
        values.append(kind(0))
    if field.kind == wire.INTEGER:  # the smallest side that is not 0's special meaning
        values.append(int(field.minimum) + 1)
    return sorted(set(values))


SENT_SETTINGS = [f for f in wire.SETTING_FIELDS if f.is_number]
CASES = [(f.name, v) for f in SENT_SETTINGS for v in edges(f)] + \
        [(f.name, c) for f in wire.SETTING_FIELDS if f.choices for c in f.choices]


def test_the_schema_covers_every_setting_job_fields_sends() -> None:
    sent = {name for name, _ in http.job_fields(CONTENT, [STYLE_A])} - {"content", "style"}
    assert sent == {f.name for f in wire.SETTING_FIELDS}
    assert {f.name for f in wire.SETTING_FIELDS} <= {f.name for f in JOB_FIELDS}
    assert set(wire.RESULT_FORMAT.choices or ()) == set(RESULT_FORMATS)  # every format named is one the queue sends


@pytest.mark.parametrize("name, value", CASES, ids=[f"{n}={v}" for n, v in CASES])
def test_a_setting_arrives_as_sent(name: str, value: Any) -> None:
    parsed = decode_job(http.job_fields(CONTENT, [STYLE_A], **{name: value}))
    request = parsed.request
    if name == "result_format":
        assert parsed.result_format == value
        return
    got = getattr(request.options, name)
    if name in ("tile", "style_size") and value == 0:
        assert got is None  # 0 on the wire: automatic tiles, the style at its native size
    else:
        assert got == value and type(got) is type(value)
    others = {f.name: f.default for f in wire.SETTING_FIELDS if f.name not in (name, "result_format")}
    for other, default in others.items():  # the fields not sent stay at the schema's default
        assert getattr(request.options, other) == (None if other in ("tile", "style_size") and default == 0 else default)


def test_raw_pixels_a_gray_mask_weights_and_two_styles_arrive_as_sent() -> None:
    rgba = bytes(range(256)) * (8 * 6 * 4 // 256) + bytes(8 * 6 * 4 % 256)
    mask = bytes([255] * 24 + [0] * 24)
    fields = http.job_fields(None, [STYLE_A, STYLE_B], rgba=(rgba, 8, 6), mask_gray=mask, result_format="rgba")
    request = decode_job(fields).request
    assert request.content.size == (8, 6) and request.content.convert("RGBA").tobytes() == rgba
    assert request.mask.tobytes() == mask and len(request.options.styles) == 2
    weighted = decode_job(http.job_fields(CONTENT, [STYLE_A, STYLE_B], weights=[0.25, 0.75])).request
    assert list(weighted.options.weights) == [0.25, 0.75]
    equal = decode_job(http.job_fields(CONTENT, [STYLE_A, STYLE_B])).request
    assert list(equal.options.weights) == [0.5, 0.5]


def just_outside(field: wire.Field) -> list[Any]:
    step = 1 if field.kind == wire.INTEGER else 1e-6
    low = [field.minimum - step] if not (field.zero is not None and field.minimum) else [field.minimum - step, -step]
    return [*low, field.maximum + step]


OUTSIDE = [(f.name, v) for f in SENT_SETTINGS for v in just_outside(f)]


@pytest.mark.parametrize("name, value", OUTSIDE, ids=[f"{n}={v}" for n, v in OUTSIDE])
def test_just_outside_a_range_the_toolkit_and_the_server_refuse_alike(name: str, value: Any) -> None:
    with pytest.raises(RuleError) as local:
        wire.FIELDS[name].check(value)
    with pytest.raises(ApiError) as remote:
        decode_job(http.job_fields(CONTENT, [STYLE_A], **{name: value}))
    assert (remote.value.status, remote.value.code) == (422, "invalid_parameter")
    assert remote.value.message == local.value.message, (remote.value.message, local.value.message)


@pytest.mark.parametrize("name, raw, words", [("alpha", "strong", "alpha must be a number"),
                                              ("tile", "256.0", "tile must be an integer"),
                                              ("scale", "inf", "scale must be finite"),
                                              ("preserve_color", "sepia", "preserve_color (colour preservation) must be one of")])
def test_text_that_is_no_value_of_the_field_is_a_422_in_our_words(name: str, raw: str, words: str) -> None:
    fields = [("content", ("c.png", CONTENT, "image/png")), ("style", ("s.png", STYLE_A, "image/png")), (name, raw)]
    with pytest.raises(ApiError) as caught:
        decode_job(fields)
    assert caught.value.status == 422 and caught.value.message.startswith(words), caught.value.message


def test_empty_fields_are_fields_not_given() -> None:
    fields = [("content", ("c.png", CONTENT, "image/png")), ("style", ("s.png", STYLE_A, "image/png"))]
    fields += [(f.name, "") for f in wire.SETTING_FIELDS] + [("style_id", ""), ("weights", "")]
    options = decode_job(fields).request.options
    assert (options.alpha, options.preserve_color, options.scale, options.tile, options.style_size) == \
           (wire.ALPHA.default, wire.PRESERVE_COLOR.default, wire.SCALE.default, None, wire.STYLE_SIZE.default)


SEQUENCE_SETTINGS = (wire.STABILITY, wire.COHERENCE, wire.COHERENCE_FEATURES)
SEQUENCE_CASES = [(f.name, v) for f in SEQUENCE_SETTINGS for v in edges(f)]


@pytest.mark.parametrize("name, value", SEQUENCE_CASES, ids=[f"{n}={v}" for n, v in SEQUENCE_CASES])
def test_a_sequence_setting_arrives_as_sent(name: str, value: float) -> None:
    frames = [png((24, 16), (i * 40, 0, 0)) for i in range(3)]
    fields = http.sequence_fields(frames, [STYLE_A, STYLE_B], weights=[0.2, 0.8], alpha=0.5, **{name: value})
    sequence = asyncio.run(_decode(fields, parse_sequence, frames=wire.MAX_FRAMES)).request
    assert getattr(sequence, name) == value and len(sequence.frames) == 3
    assert all(f.options.alpha == 0.5 and list(f.options.weights) == [0.2, 0.8] for f in sequence.frames)
    assert {f.name for f in SEQUENCE_SETTINGS} <= {f.name for f in SEQUENCE_FIELDS}
    others = {f.name: f.default for f in SEQUENCE_SETTINGS if f.name != name}
    assert all(getattr(sequence, other) == default for other, default in others.items())


SEQUENCE_OUTSIDE = [(f.name, v) for f in SEQUENCE_SETTINGS for v in just_outside(f)]


@pytest.mark.parametrize("name, value", SEQUENCE_OUTSIDE, ids=[f"{n}={v}" for n, v in SEQUENCE_OUTSIDE])
def test_just_outside_a_sequence_range_the_toolkit_and_the_server_refuse_alike(name: str, value: float) -> None:
    with pytest.raises(RuleError) as local:
        wire.FIELDS[name].check(value)
    frames = [png((24, 16), (i * 40, 0, 0)) for i in range(2)]
    with pytest.raises(ApiError) as remote:
        asyncio.run(_decode(http.sequence_fields(frames, [STYLE_A], **{name: value}), parse_sequence, frames=2))
    assert (remote.value.status, remote.value.code) == (422, "invalid_parameter")
    assert remote.value.message == local.value.message, (remote.value.message, local.value.message)


def test_the_form_limits_follow_the_most_styles_a_request_may_use() -> None:
    few, many = form_limits(Settings(max_styles_per_request=2)), form_limits(Settings(max_styles_per_request=9))
    assert many.files - few.files == 7 and many.fields - few.fields == 7
    assert form_limits(SETTINGS, wire.MAX_FRAMES).files == form_limits(SETTINGS).files + wire.MAX_FRAMES

"""Turn a multipart request into validated stylisation parameters, or a clear 4xx.

Everything that can be checked before the job runs is checked here (image headers and pixel
counts, decoding, mask size, numbers), so a bad request is answered at once and never reaches the
worker.
"""
from __future__ import annotations

import math
from typing import Any

from PIL import Image
from starlette.datastructures import FormData, UploadFile

from adastyle.color import METHODS
from adastyle.engine import StyleParameterError, check_params
from adastyle.imageio import ImageError, ImageTooLarge, open_image
from adastyle.masks import MaskError, fit_mask
from adastyle.server.errors import ApiError


def _number(form: FormData, name: str, default: float, kind: type = float) -> Any:
    raw = form.get(name)
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return default
    if not isinstance(raw, str):
        raise ApiError(422, "invalid_parameter", f"{name} must be a form field, not a file")
    try:
        value = kind(raw.strip()) if kind is float else int(raw.strip())
    except ValueError:
        raise ApiError(422, "invalid_parameter", f"{name} must be a number, got {raw[:40]!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ApiError(422, "invalid_parameter", f"{name} must be finite, got {raw[:40]!r}")
    return value


async def _read_upload(form: FormData, name: str) -> bytes | None:
    item = form.get(name)
    if item is None:
        return None
    if isinstance(item, str):
        raise ApiError(400, "invalid_image", f"{name} must be an uploaded file")
    return await item.read()


def decode_image(data: bytes, name: str, max_pixels: int) -> Image.Image:
    try:
        return open_image(data, name=name, max_pixels=max_pixels)
    except ImageTooLarge as exc:
        raise ApiError(413, "image_too_large", str(exc)) from None
    except ImageError as exc:
        raise ApiError(400, "invalid_image", str(exc)) from None


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


async def parse_style_upload(form: FormData, max_pixels: int) -> Image.Image:
    data = await _read_upload(form, "style")
    if data is None:
        raise ApiError(422, "missing_field", "upload the style image in the field 'style'")
    return decode_image(data, "style", max_pixels)


async def parse_job(form: FormData, styles_by_id: dict[str, Image.Image], max_pixels: int) -> dict[str, Any]:
    """Validated parameters for Stylizer.stylize (images decoded), or ApiError."""
    content_format = str(form.get("content_format") or "encoded")
    if content_format not in ("encoded", "rgba"):
        raise ApiError(422, "invalid_parameter", "content_format must be 'encoded' or 'rgba'")
    width, height = _number(form, "width", 0, int), _number(form, "height", 0, int)
    data = await _read_upload(form, "content")
    if data is None:
        raise ApiError(422, "missing_field", "upload the content image in the field 'content'")
    if content_format == "rgba":
        content = decode_raw(data, width, height, 4, "content", max_pixels)
    else:
        content = decode_image(data, "content", max_pixels)

    styles: list[Image.Image] = []
    for i, item in enumerate(form.getlist("style")):
        if not isinstance(item, UploadFile):
            raise ApiError(400, "invalid_image", "style must be an uploaded file (or use style_id)")
        styles.append(decode_image(await item.read(), f"style {i + 1}", max_pixels))
    for sid in form.getlist("style_id"):
        if not isinstance(sid, str) or sid not in styles_by_id:
            raise ApiError(404, "unknown_style", f"no uploaded style with id {str(sid)[:40]!r} (upload it again)")
        styles.append(styles_by_id[sid])
    if not styles:
        raise ApiError(422, "missing_field", "give at least one style: a 'style' file or a 'style_id'")

    mask = None
    mask_data = await _read_upload(form, "mask")
    if mask_data is not None:
        if str(form.get("mask_format") or "encoded") == "gray":
            mask = decode_raw(mask_data, content.width, content.height, 1, "mask", max_pixels)
        else:
            mask = decode_image(mask_data, "mask", max_pixels)
        try:
            mask = fit_mask(mask, content.size)
        except MaskError as exc:
            raise ApiError(422, "mask_mismatch", str(exc)) from None

    weights_raw = form.get("weights")
    weights = None
    if isinstance(weights_raw, str) and weights_raw.strip():
        try:
            weights = [float(x) for x in weights_raw.split(",")]
        except ValueError:
            raise ApiError(422, "invalid_parameter",
                           f"weights must be comma-separated numbers, got {weights_raw[:60]!r}") from None
    preserve = str(form.get("preserve_color") or "none")
    if preserve not in METHODS:
        raise ApiError(422, "invalid_parameter", f"preserve_color must be one of {', '.join(METHODS)}")
    result_format = str(form.get("result_format") or "png")
    if result_format not in ("png", "rgba"):
        raise ApiError(422, "invalid_parameter", "result_format must be 'png' or 'rgba'")
    params = {
        "content": content, "styles": styles, "weights": weights, "mask": mask,
        "alpha": _number(form, "alpha", 1.0), "preserve_color": preserve, "scale": _number(form, "scale", 1.0),
        "tile": _number(form, "tile", 0, int), "style_size": _number(form, "style_size", 512, int),
        "result_format": result_format,
    }
    if not (0 <= params["style_size"] <= 4096):
        raise ApiError(422, "invalid_parameter", "style_size must be between 0 (native) and 4096")
    try:
        check_params(styles, weights, params["alpha"], preserve, params["scale"], params["tile"] or None,
                     mask is not None)
    except StyleParameterError as exc:
        raise ApiError(422, "invalid_parameter", str(exc)) from None
    work = content.width * params["scale"] * content.height * params["scale"]
    if work > max_pixels:
        raise ApiError(413, "image_too_large", f"working size {work:,.0f} pixels (content x scale^2) is over the "
                                               f"limit of {max_pixels:,}")
    return params

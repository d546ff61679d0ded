"""The library's HTTP routes (/v1/library...) and the style store that lets jobs name library styles.

Why a module of its own: the app only calls `mount_library`; everything about the library's API (its form
fields, its errors, its thumbnails) is here. Jobs use a library style as `style_id=lib:<id or name>`: the
job form already takes uploaded styles by id, so `LibraryStyles` answers those ids from the library too and
the form parsing needs no change. Files are read and written on the server's decoding pool, never on the
event loop.
"""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from PIL import Image
from starlette.datastructures import FormData, UploadFile

from adastyle.library.entries import LIB_PREFIX, PRESET, STYLE, Entry, LibraryError, check_name, check_tags
from adastyle.library.store import Library
from adastyle.server.budget import ByteBoundedStore, PixelBudget
from adastyle.server.errors import ApiError
from adastyle.server.forms import Reservation, decode_within, off_loop
from adastyle.settings import Settings
from adastyle_plugin import rules, wire
from adastyle_plugin.errors import RuleError

STATUS = {"invalid": (422, "invalid_parameter"), "not_found": (404, "unknown_entry"),
          "conflict": (409, "conflict"), "full": (413, "library_full")}
MAX_PATCH_BYTES = 64 << 10
FormReader = Callable[[Request], Awaitable[FormData]]


def api_error(exc: LibraryError) -> ApiError:
    status, code = STATUS.get(exc.kind, (422, "invalid_parameter"))
    return ApiError(status, code, exc.message or str(exc))


async def in_pool(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a library call on the decoding pool; its LibraryError becomes the API's 4xx."""
    try:
        return await off_loop(fn, *args, **kwargs)
    except LibraryError as exc:
        raise api_error(exc) from None


class LibraryStyles:
    """The uploaded-style store, plus library styles by `lib:<id or name>` (what job forms look up)."""

    def __init__(self, uploads: ByteBoundedStore[Image.Image], library: Library) -> None:
        self.uploads = uploads
        self.library = library

    def put(self, key: str, value: Image.Image, size: int) -> None:
        self.uploads.put(key, value, size)

    def get(self, key: str) -> Image.Image | None:
        if not key.lower().startswith(LIB_PREFIX):
            return self.uploads.get(key)
        try:
            entry = self.library.find(key)
            if entry.kind == PRESET:
                raise LibraryError(f"{entry.name!r} is a preset: send its styles (style_id=lib:ID each) with its "
                                   "weights and settings, as GET /v1/library lists them")
            return self.library.style_image(entry)  # decoded once, then cached (a small JPEG of ours)
        except LibraryError as exc:
            raise api_error(exc) from None


def listed(entry: Entry) -> dict[str, Any]:
    """An entry as the API shows it: its stored fields and its thumbnail's URL."""
    return {**entry.to_json(), "thumbnail": f"/v1/library/{entry.id}/thumbnail"}


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ApiError(422, "invalid_parameter", f"{name} must be a form field, not a file")
    return value


def preset_fields(form: FormData) -> dict[str, Any]:
    """A preset from the form: `style_id` (library ids, repeated) with `weights`, alpha, preserve_color, scale."""
    ids = [_text_value(v) for v in form.getlist("style_id")]
    ids = [i[len(LIB_PREFIX):] if i.lower().startswith(LIB_PREFIX) else i for i in ids]
    raw_weights = _text(form, "weights")
    try:
        weights = rules.parse_weights(raw_weights or "") or [1.0] * len(ids)  # none given (or blank): equal
    except RuleError as exc:
        raise ApiError(422, "invalid_parameter", exc.message) from None
    if len(weights) != len(ids):
        raise ApiError(422, "invalid_parameter", f"give one weight per style ({len(ids)} styles, {len(weights)} weights)")
    return {"styles": [{"id": i, "weight": w} for i, w in zip(ids, weights)],
            **{f.name: _text(form, f.name) or f.default for f in (wire.ALPHA, wire.PRESERVE_COLOR, wire.SCALE)}}


def _text_value(value: Any) -> str:
    if not isinstance(value, str):
        raise ApiError(422, "invalid_parameter", "style_id must be a form field, not a file")
    return value.strip()


def mount_library(app: FastAPI, library: Library, settings: Settings, read_form: FormReader,
                  budget: PixelBudget) -> None:
    """Add the /v1/library routes to the app (all behind the token, as every /v1 route but health)."""
    app.state.library = library

    @app.get("/v1/library", summary="Library styles and presets (favourites first), with thumbnail URLs")
    async def list_library() -> dict[str, Any]:
        entries = library.entries()
        return {"entries": [listed(e) for e in entries], "count": len(entries), "bytes": library.used_bytes(),
                "limits": {"entries": library.max_entries, "bytes": library.max_bytes,
                           "styles_per_preset": library.max_styles}}

    @app.get("/v1/library/{entry_id}", summary="One library entry")
    async def library_entry(entry_id: str) -> dict[str, Any]:
        try:
            return listed(library.get(entry_id))
        except LibraryError as exc:
            raise api_error(exc) from None

    @app.get("/v1/library/{entry_id}/thumbnail", summary="A small JPEG of the whole style (made once)")
    async def library_thumbnail(entry_id: str) -> Response:
        data = await in_pool(library.thumbnail, entry_id)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    @app.post("/v1/library", status_code=201,
              summary="Add a style (kind=style: an 'image' file, name, tags) or a preset (kind=preset: name, "
                      "style_id per library style, weights, alpha, preserve_color, scale)")
    async def add_entry(request: Request) -> dict[str, Any]:
        form = await read_form(request)
        try:
            kind = (_text(form, "kind") or STYLE).strip()
            name, tags = _text(form, "name"), _text(form, "tags")
            if kind == PRESET:
                fields = preset_fields(form)
                entry = await in_pool(library.add_preset, name, tags=tags, **fields)
            elif kind == STYLE:
                upload = form.get("image")
                if not isinstance(upload, UploadFile):
                    raise ApiError(422, "missing_field", "upload the style image in the file field 'image'")
                try:  # refused before the image is decoded: a bad name or tag costs no decoding
                    check_name(name), check_tags(tags)
                except LibraryError as exc:
                    raise api_error(exc) from None
                reservation = Reservation(budget, settings.retry_after)
                try:
                    image = await decode_within(await upload.read(), "image", settings.max_pixels, reservation,
                                                settings.style_keep_side)
                    entry = await in_pool(library.add_style, image, name, tags, _text(form, "source"),
                                          _text(form, "licence"))
                finally:
                    reservation.release()
            else:
                raise ApiError(422, "invalid_parameter", "kind must be 'style' or 'preset'")
        finally:
            await form.close()
        return listed(entry)

    @app.patch("/v1/library/{entry_id}", summary="Rename, retag or mark as favourite (JSON: name, tags, favourite)")
    async def change_entry(entry_id: str, request: Request) -> dict[str, Any]:
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise ApiError(415, "unsupported_media_type", "send the changes as application/json")
        body = await request.body()
        if len(body) > MAX_PATCH_BYTES:
            raise ApiError(413, "body_too_large", f"the changes are over {MAX_PATCH_BYTES:,} bytes")
        try:
            changes = json.loads(body)
        except ValueError:
            raise ApiError(400, "invalid_json", "the body is not valid JSON") from None
        if not isinstance(changes, dict) or not changes or set(changes) - {"name", "tags", "favourite"}:
            raise ApiError(422, "invalid_parameter", "send a JSON object with any of: name, tags, favourite")
        return listed(await in_pool(library.update, entry_id, **changes))

    @app.delete("/v1/library/{entry_id}", summary="Remove an entry (a bundled style is hidden)")
    async def delete_entry(entry_id: str) -> dict[str, Any]:
        await in_pool(library.delete, entry_id)
        return {"deleted": entry_id}

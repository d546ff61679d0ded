"""The API's description (/openapi.json) and the API page at /docs: Swagger UI from files bundled with the
package (PyPI swagger-ui-bundle-v2), no CDN.

Why a description of our own: the routes read their multipart forms themselves (sizes and pixel budgets are
checked before anything is decoded), so FastAPI sees no parameters and would describe every POST as taking
nothing and every answer as JSON. Here each route gets its fields (from fields.py, the table the form parser
takes its defaults from), its real media types (PNG or raw RGBA results) and every error it can answer,
and the bearer scheme, so the page's Authorize button works and "Try it out" sends the token.

Why bundled: FastAPI's default page loads Swagger UI from a CDN, so it is blank on a machine without
network, while the server itself needs none. Why public (no token, like /v1/health): /docs and
/openapi.json describe the API and hold no user data; every call made from the page still needs the token.
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from adastyle.live_canvas import LIVE_RESULTS
from adastyle.server.fields import LIBRARY_FIELDS
from adastyle.server.jobs import RESULT_FORMATS
from adastyle_plugin.wire import JOB_FIELDS, SEQUENCE_FIELDS, STYLE_UPLOAD_FIELDS, Field

log = logging.getLogger(__name__)
DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"
SCHEME = "bearer"

# Every error a request can get, by status: the codes in the JSON body {"error": code, "message": text}.
GUARD = {403: ("forbidden_host", "forbidden_origin"), 500: ("internal_error",)}            # any request
TOKEN = {401: ("unauthorized",)}                                                            # any request but health
BODY = {400: ("invalid_multipart",), 408: ("body_timeout",), 413: ("body_too_large",),
        415: ("unsupported_media_type",)}                                                   # any request with a form
IMAGES = {400: ("invalid_image",), 413: ("image_too_large",), 422: ("missing_field", "invalid_parameter"),
          503: ("busy",)}                                                                   # any form with images
JOB = {404: ("unknown_style",), 422: ("too_many_styles", "mask_mismatch", "invalid_mask"), 503: ("queue_full",)}
SEQUENCE = {413: ("too_many_frames",), 422: ("frame_size_mismatch",)}
LOOKUP = {404: ("unknown_job", "job_lost")}                                               # a job id in the path
RESULT = {409: ("not_ready",), 410: ("result_evicted",), 422: ("invalid_parameter", "invalid_request")}
STYLIZE = {409: ("cancelled", "not_ready"), 410: ("result_evicted",), 422: ("job_failed",)}
ENTRY = {404: ("unknown_entry",), 422: ("invalid_parameter",)}                            # a library entry id
LIBRARY_ADD = {409: ("conflict",), 413: ("library_full",)}
LIBRARY_CHANGE = {400: ("invalid_json",), 408: ("body_timeout",), 409: ("conflict",), 413: ("body_too_large",),
                  415: ("unsupported_media_type",)}
# PATCH /v1/library/{entry_id}: the changes, as JSON.
ENTRY_CHANGES = {"type": "object", "minProperties": 1, "additionalProperties": False,
                 "properties": {"name": {"type": "string"},
                                "tags": {"type": ["array", "string"], "items": {"type": "string"},
                                         "description": "a list, or comma-separated"},
                                "favourite": {"type": "boolean"}}}

ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/v1/health"): {"errors": (GUARD,), "public": True, "ok": "Health"},
    ("post", "/v1/styles"): {"errors": (GUARD, TOKEN, BODY, IMAGES), "form": STYLE_UPLOAD_FIELDS, "ok": "Style"},
    ("post", "/v1/jobs"): {"errors": (GUARD, TOKEN, BODY, IMAGES, JOB), "form": JOB_FIELDS, "ok": "Job"},
    ("post", "/v1/sequence"): {"errors": (GUARD, TOKEN, BODY, IMAGES, JOB, SEQUENCE), "form": SEQUENCE_FIELDS,
                               "ok": "Job"},
    ("get", "/v1/jobs/{job_id}"): {"errors": (GUARD, TOKEN, LOOKUP), "ok": "Job"},
    ("delete", "/v1/jobs/{job_id}"): {"errors": (GUARD, TOKEN, LOOKUP), "ok": "Job"},
    ("get", "/v1/jobs/{job_id}/result"): {"errors": (GUARD, TOKEN, LOOKUP, RESULT), "ok": "image"},
    ("post", "/v1/stylize"): {"errors": (GUARD, TOKEN, BODY, IMAGES, JOB, STYLIZE), "form": JOB_FIELDS, "ok": "image"},
    ("get", "/v1/library"): {"errors": (GUARD, TOKEN), "ok": "Library"},
    ("post", "/v1/library"): {"errors": (GUARD, TOKEN, BODY, IMAGES, ENTRY, LIBRARY_ADD), "form": LIBRARY_FIELDS,
                              "ok": "LibraryEntry"},
    ("get", "/v1/library/{entry_id}"): {"errors": (GUARD, TOKEN, ENTRY), "ok": "LibraryEntry"},
    ("patch", "/v1/library/{entry_id}"): {"errors": (GUARD, TOKEN, ENTRY, LIBRARY_CHANGE), "json": ENTRY_CHANGES,
                                          "ok": "LibraryEntry"},
    ("delete", "/v1/library/{entry_id}"): {"errors": (GUARD, TOKEN, ENTRY, {409: ("conflict",)}), "ok": "Deleted"},
    ("get", "/v1/library/{entry_id}/thumbnail"): {"errors": (GUARD, TOKEN, ENTRY), "ok": "jpeg"},
}

NUMBER_OR_NULL = {"type": ["number", "null"]}
INT_OR_NULL = {"type": ["integer", "null"]}
SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {"type": "object", "required": ["error", "message"],
              "properties": {"error": {"type": "string", "description": "a code a program can test"},
                             "message": {"type": "string", "description": "what happened, for a person"}}},
    "Health": {"type": "object", "required": ["status", "version", "device", "dtype", "queue", "running"],
               "properties": {"status": {"type": "string"}, "version": {"type": "string"},
                              "device": {"type": "string"}, "dtype": {"type": "string"},
                              "queue": {"type": "integer", "description": "jobs waiting"},
                              "running": {"type": ["string", "null"], "description": "id of the running job"}}},
    "Style": {"type": "object", "required": ["id", "width", "height"],
              "properties": {"id": {"type": "string", "description": "give it as style_id in later jobs"},
                             "width": {"type": "integer"}, "height": {"type": "integer"}}},
    "Job": {"type": "object", "required": ["id", "state", "progress"],
            "properties": {"id": {"type": "string"},
                           "state": {"type": "string", "enum": ["queued", "running", "done", "failed", "cancelled"]},
                           "progress": {"type": "number", "minimum": 0, "maximum": 1},
                           "error": {"type": ["string", "null"]},
                           "created": NUMBER_OR_NULL, "started": NUMBER_OR_NULL, "finished": NUMBER_OR_NULL,
                           "width": INT_OR_NULL, "height": INT_OR_NULL,
                           "frames": {**INT_OR_NULL, "description": "frames of a sequence (null for one image)"},
                           "live": {"type": ["string", "null"], "enum": [*LIVE_RESULTS, None],
                                    "description": "a job of a live session: what it re-rendered (null: no "
                                                   "session, or not run yet)"},
                           "live_share": {**NUMBER_OR_NULL, "description": "share of the working image re-rendered "
                                                                          "by a live session's job"},
                           "position": {"type": "integer", "description": "place in the queue (when submitted)"}}},
    "LibraryEntry": {"type": "object", "required": ["id", "kind", "name", "tags", "favourite", "bundled", "thumbnail"],
                     "properties": {"id": {"type": "string", "description": "give it as style_id=lib:ID in jobs"},
                                    "kind": {"type": "string", "enum": ["style", "preset"]},
                                    "name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
                                    "favourite": {"type": "boolean"}, "bundled": {"type": "boolean"},
                                    "source": {"type": "string"}, "licence": {"type": "string"},
                                    "created": {"type": "number"},
                                    "width": {"type": "integer"}, "height": {"type": "integer"},
                                    "bytes": {"type": "integer"}, "file": {"type": "string"},
                                    "styles": {"type": "array", "description": "a preset's library styles",
                                               "items": {"type": "object", "required": ["id", "weight"],
                                                         "properties": {"id": {"type": "string"},
                                                                        "weight": {"type": "number"}}}},
                                    "alpha": {"type": "number"}, "preserve_color": {"type": "string"},
                                    "scale": {"type": "number"},
                                    "thumbnail": {"type": "string", "description": "URL of its thumbnail (JPEG)"}}},
    "Library": {"type": "object", "required": ["entries", "count", "bytes", "limits"],
                "properties": {"entries": {"type": "array", "items": {"$ref": "#/components/schemas/LibraryEntry"}},
                               "count": {"type": "integer"}, "bytes": {"type": "integer"},
                               "limits": {"type": "object", "properties": {
                                   "entries": {"type": "integer"}, "bytes": {"type": "integer"},
                                   "styles_per_preset": {"type": "integer"}}}}},
    "Deleted": {"type": "object", "required": ["deleted"], "properties": {"deleted": {"type": "string"}}},
}
SIZE_HEADERS = {"X-Width": {"schema": {"type": "integer"}, "description": "result width in pixels"},
                "X-Height": {"schema": {"type": "integer"}, "description": "result height in pixels"}}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait before retrying"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def merged_errors(groups: tuple[dict[int, tuple[str, ...]], ...]) -> dict[int, list[str]]:
    """status -> error codes, over all the groups a route answers."""
    out: dict[int, list[str]] = {}
    for group in groups:
        for status, codes in group.items():
            out.setdefault(status, [])
            out[status] += [c for c in codes if c not in out[status]]
    return dict(sorted(out.items()))


def form_body(fields: tuple[Field, ...]) -> dict[str, Any]:
    """A multipart/form-data request body with one property per field (files as binary, repeatable as arrays)."""
    required = [f.name for f in fields if f.required]
    schema = {"type": "object", "properties": {f.name: f.schema() for f in fields}, "required": required}
    encoding = {f.name: {"contentType": "application/octet-stream"} for f in fields if f.kind in ("file", "files")}
    return {"required": True, "content": {"multipart/form-data": {"schema": schema, "encoding": encoding}}}


def describe_operation(op: dict[str, Any], spec: dict[str, Any]) -> None:
    """Set the operation's body, responses and security from its entry in ROUTES."""
    if "form" in spec:
        op["requestBody"] = form_body(spec["form"])
    if "json" in spec:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": spec["json"]}}}
    ok_status = next((s for s in op.get("responses", {}) if s.startswith("2")), "200")
    if spec["ok"] == "image":
        ok = {"description": "the result: a PNG, or raw 8-bit RGBA pixels with result_format=rgba",
              "headers": SIZE_HEADERS,
              "content": {media: {"schema": {"type": "string", "format": "binary"}}
                          for media in RESULT_FORMATS.values()}}
    elif spec["ok"] == "jpeg":
        ok = {"description": "a small JPEG", "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}
    else:
        ok = {"description": op.get("responses", {}).get(ok_status, {}).get("description") or "OK",
              "content": {"application/json": {"schema": _ref(spec["ok"])}}}
    responses: dict[str, Any] = {ok_status: ok}
    for status, codes in merged_errors(spec["errors"]).items():
        answer: dict[str, Any] = {"description": "error: " + ", ".join(codes),
                                  "content": {"application/json": {"schema": _ref("Error")}}}
        if status == 503:
            answer["headers"] = RETRY_AFTER
        responses[str(status)] = answer
    op["responses"] = responses
    op["security"] = [] if spec.get("public") else [{SCHEME: []}]


def api_schema(app: FastAPI) -> dict[str, Any]:
    """FastAPI's description of `app`, completed from ROUTES (made once, then cached on the app)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            spec = ROUTES.get((method, path))
            if spec is not None:
                describe_operation(op, spec)
    components = schema.setdefault("components", {})
    components["schemas"] = SCHEMAS  # FastAPI's validation-error schemas: our handler never answers with them
    components["securitySchemes"] = {SCHEME: {"type": "http", "scheme": "bearer", "description":
                                              "the token in the AdaStyle config folder, file 'token' "
                                              "(`adastyle doctor` shows the folder)"}}
    schema["security"] = [{SCHEME: []}]
    app.openapi_schema = schema
    return schema


def mount_docs(app: FastAPI) -> bool:
    """Describe the API (/openapi.json) and serve /docs with the bundled Swagger UI; False (and no /docs) when
    the bundle is not installed."""
    app.openapi = lambda: api_schema(app)  # type: ignore[method-assign]
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        log.info("API page /docs not served: pip install swagger-ui-bundle-v2 (part of adastyle[server])")
        return False
    app.mount(ASSETS_PATH, StaticFiles(directory=str(swagger_ui_path)), name="swagger-ui-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} API",
                                   swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
                                   swagger_ui_parameters={"persistAuthorization": True})

    return True

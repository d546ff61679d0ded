"""The multipart fields each route takes, with type, range and default: the wire schema's, plus the library's.

Why from the wire schema (adastyle_plugin.wire): the plug-ins write their forms by it, the form parser
(forms.py) reads by it and the API description (/openapi.json, docs.py) is generated from it, so what
/docs shows is what the server does and what the plug-ins send.
"""
from __future__ import annotations

from adastyle_plugin import wire
from adastyle_plugin.wire import (
    JOB_FIELDS,
    SEQUENCE_FIELDS,
    STYLE_UPLOAD_FIELDS,
    TEXT,
    TEXTS,
    Field,
)

FormField = Field  # a field of a route's form (the API description takes any of them)
FIELDS = wire.FIELDS

# POST /v1/library: a style (an image and its name) or a preset (library styles with weights and settings).
LIBRARY_FIELDS = (
    Field("kind", wire.CHOICE, "style: add an image; preset: save library styles with weights and settings",
          "style", choices=("style", "preset")),
    Field("name", TEXT, "the entry's name (1 to 80 characters)", required=True),
    Field("tags", TEXT, "comma-separated tags", ""),
    Field("image", wire.FILE, "the style image (kind=style)"),
    Field("licence", TEXT, "the style image's licence (kind=style)"),
    Field("source", TEXT, "where the style image comes from (kind=style)"),
    Field("style_id", TEXTS, "library ids of the preset's styles (kind=preset); repeat the field", ()),
    wire.WEIGHTS, wire.ALPHA, wire.PRESERVE_COLOR, wire.SCALE,
)

__all__ = ["FIELDS", "FormField", "JOB_FIELDS", "LIBRARY_FIELDS", "SEQUENCE_FIELDS", "STYLE_UPLOAD_FIELDS"]

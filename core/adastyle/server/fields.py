"""The fields of the library's form (POST /v1/library), in the wire schema's terms.

The job, sequence and style-upload forms are the wire schema's own (adastyle_plugin.wire): the plug-ins write
their forms by it, the form parser (forms.py) reads by it and the API description (docs.py) is generated from
it. The library's form is the server's alone, so it is declared here, with the same Field type, and shares the
job fields a preset keeps.
"""
from __future__ import annotations

from adastyle_plugin import wire
from adastyle_plugin.wire import TEXT, TEXTS, Field

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

"""The API description (/openapi.json) is the API as it is, checked over real HTTP against a running server:
schemathesis sends generated requests to every operation, with the token, and every answer must be documented
(status, media type, body schema, headers) and no answer a 5xx. Its fields come from the form-field table the
parser takes its defaults from."""
from __future__ import annotations

import io

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from PIL import Image
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from server_fixture import start_server

from adastyle_plugin import rules

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("openapi-home"))
    yield srv
    srv.stop()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_every_answer_is_documented(server, mode: str) -> None:
    """Requests made from the description (valid ones, then ones that break it) to every operation."""
    api = schemathesis.openapi.from_url(server.url + "/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == 14
    impossible: list[str] = []
    for operation in operations:
        strategy = operation.as_strategy(generation_mode=GenerationMode(mode))

        @given(strategy)
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case) -> None:
            case.call_and_validate(headers=server.auth, checks=CHECKS)

        try:
            call()
        except Unsatisfiable:  # nothing in it can be made invalid (no fields, or a free-text path id)
            impossible.append(operation.label)
    assert set(impossible) <= ({"GET /v1/health", "GET /v1/jobs/{job_id}", "DELETE /v1/jobs/{job_id}",
                                "GET /v1/library", "GET /v1/library/{entry_id}", "DELETE /v1/library/{entry_id}",
                                "GET /v1/library/{entry_id}/thumbnail"} if mode == "negative" else set()), impossible


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (120, 80, 200)).save(buf, "PNG")
    return buf.getvalue()


def test_the_description_has_the_bearer_scheme_fields_and_binary_results(server) -> None:
    doc = httpx.get(server.url + "/openapi.json", timeout=30).json()
    assert doc["components"]["securitySchemes"]["bearer"] == {**doc["components"]["securitySchemes"]["bearer"],
                                                              "type": "http", "scheme": "bearer"}
    assert doc["security"] == [{"bearer": []}]
    assert doc["paths"]["/v1/health"]["get"]["security"] == []
    for path in ("/v1/jobs", "/v1/stylize", "/v1/sequence", "/v1/styles"):
        body = doc["paths"][path]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
        assert body["properties"], path
    fields = doc["paths"]["/v1/stylize"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    props = fields["properties"]
    assert fields["required"] == ["content"]
    assert props["content"] == {**props["content"], "type": "string", "format": "binary"}
    assert props["style"]["type"] == "array" and props["style"]["items"]["format"] == "binary"
    assert (props["scale"]["minimum"], props["scale"]["maximum"], props["scale"]["default"]) == \
        (rules.SCALE_MIN, rules.SCALE_MAX, 1.0)
    assert (props["alpha"]["minimum"], props["alpha"]["maximum"], props["alpha"]["default"]) == (0.0, 1.0, 1.0)
    assert props["style_size"]["default"] == rules.DEFAULT_STYLE_SIZE
    assert props["tile"]["maximum"] == rules.TILE_MAX and props["preserve_color"]["enum"] == list(rules.COLOR_MODES)
    ok = doc["paths"]["/v1/stylize"]["post"]["responses"]["200"]["content"]
    assert set(ok) == {"image/png", "application/octet-stream"}
    assert set(doc["paths"]["/v1/jobs/{job_id}/result"]["get"]["responses"]["200"]["content"]) == set(ok)
    errors = doc["paths"]["/v1/jobs"]["post"]["responses"]
    assert {"400", "401", "403", "404", "408", "413", "415", "422", "503"} <= set(errors)
    assert "queue_full" in errors["503"]["description"] and "Retry-After" in errors["503"]["headers"]
    sequence = doc["paths"]["/v1/sequence"]["post"]  # says what both of its steadying options do
    assert "stability" in sequence["summary"] and "coherence" in sequence["summary"]
    assert "optical flow" in sequence["description"] and "scene cut" in sequence["description"]
    library = doc["paths"]["/v1/library"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert library["required"] == ["name"] and library["properties"]["kind"]["enum"] == ["style", "preset"]
    assert library["properties"]["alpha"] == props["alpha"]  # a preset's settings are the job's fields
    change = doc["paths"]["/v1/library/{entry_id}"]["patch"]
    assert set(change["requestBody"]["content"]["application/json"]["schema"]["properties"]) == \
        {"name", "tags", "favourite"}
    assert {"404", "409", "415", "422"} <= set(change["responses"])
    assert set(doc["paths"]["/v1/library/{entry_id}/thumbnail"]["get"]["responses"]["200"]["content"]) == {"image/jpeg"}


def test_the_documented_defaults_are_what_the_server_does(server) -> None:
    """A request without the optional fields and one with every documented default give the same picture."""
    doc = httpx.get(server.url + "/openapi.json", timeout=30).json()
    props = doc["paths"]["/v1/stylize"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    defaults = {name: str(p["default"]) for name, p in props.items() if "default" in p and p["type"] != "array"}
    assert {"alpha", "scale", "tile", "style_size", "preserve_color", "result_format"} <= set(defaults)
    files = {"content": ("c.png", png(), "image/png"), "style": ("s.png", png((40, 40)), "image/png")}
    bare = httpx.post(server.url + "/v1/stylize", headers=server.auth, files=files, timeout=300)
    full = httpx.post(server.url + "/v1/stylize", headers=server.auth, files=files, data=defaults, timeout=300)
    assert bare.status_code == full.status_code == 200, (bare.text[:300], full.text[:300])
    assert bare.headers["content-type"] == "image/png" and bare.content == full.content


def test_a_huge_header_is_a_413_in_our_words(server) -> None:
    from test_imageio import png_header

    r = httpx.post(server.url + "/v1/jobs", headers=server.auth, timeout=60,
                   files={"content": ("c.png", png_header(60000, 60000), "image/png"),
                          "style": ("s.png", png((40, 40)), "image/png")})
    assert r.status_code == 413 and r.json()["error"] == "image_too_large"
    assert "3,600,000,000 pixels, over the limit" in r.json()["message"]
    assert "decompression" not in r.text.lower()

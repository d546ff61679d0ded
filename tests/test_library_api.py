"""The style library over real HTTP on 127.0.0.1: add, list, thumbnail, rename, favourite, presets, use in a job,
delete, a restart keeps it, a damaged file is skipped, limits and bad input."""
from __future__ import annotations

import io
import json
import stat

import httpx
import pytest
from conftest import EXAMPLES
from PIL import Image
from server_fixture import RunningServer, start_server

from adastyle.library.store import STARTER


def jpeg(size=(300, 200), colour=(200, 40, 40)) -> bytes:
    buf = io.BytesIO()
    im = Image.new("RGB", size, colour)
    for x in range(0, size[0], 10):  # some texture, so styles differ
        im.paste((colour[2], colour[0], colour[1]), (x, 0, x + 4, size[1]))
    im.save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def bundled_count() -> int:
    return len(json.loads((STARTER / "manifest.json").read_text())["styles"])


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> RunningServer:
    srv = start_server(tmp_path_factory.mktemp("lib-home"))
    yield srv
    srv.stop()


def add_style(srv: RunningServer, name: str, data: bytes | None = None, **fields) -> httpx.Response:
    files = {"image": ("s.jpg", data if data is not None else jpeg())}
    return httpx.post(srv.url + "/v1/library", files=files, data={"name": name, **fields}, headers=srv.auth,
                      timeout=60)


def as_form(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Form fields that may repeat (style_id), as httpx takes them beside files."""
    form: dict[str, list[str]] = {}
    for key, value in fields:
        form.setdefault(key, []).append(value)
    return form


def add_preset(srv: RunningServer, name: str, ids: list[str], weights: str | None = None, **fields) -> httpx.Response:
    data = [("kind", "preset"), ("name", name), *[("style_id", i) for i in ids]]
    data += [("weights", weights)] if weights else []
    data += list(fields.items())
    return httpx.post(srv.url + "/v1/library", data=as_form(data), headers=srv.auth, timeout=60)


def listing(srv: RunningServer) -> dict:
    r = httpx.get(srv.url + "/v1/library", headers=srv.auth, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def by_name(srv: RunningServer) -> dict[str, dict]:
    return {e["name"]: e for e in listing(srv)["entries"]}


def patch(srv: RunningServer, entry_id: str, changes) -> httpx.Response:
    body = changes if isinstance(changes, (bytes, str)) else json.dumps(changes)
    return httpx.patch(f"{srv.url}/v1/library/{entry_id}", content=body, timeout=30,
                       headers={**srv.auth, "Content-Type": "application/json"})


def stylize(srv: RunningServer, style_fields: list, files: list | None = None, content: bytes | None = None) -> bytes:
    content = content or png(Image.open(EXAMPLES / "content-coffee.jpg").convert("RGB").resize((128, 96)))
    r = httpx.post(srv.url + "/v1/stylize", files=[("content", ("c.png", content)), *(files or [])],
                   data=as_form(style_fields), headers=srv.auth, timeout=180)
    assert r.status_code == 200, r.text
    return r.content


def test_bundled_styles_are_listed_with_credit(server) -> None:
    info = listing(server)
    bundled = [e for e in info["entries"] if e["bundled"]]
    assert len(bundled) == bundled_count() >= 30
    for e in bundled:
        assert e["kind"] == "style" and e["licence"] and e["source"] and e["width"] > 0 and e["tags"]
        assert e["thumbnail"] == f"/v1/library/{e['id']}/thumbnail"


def test_round_trip_add_list_thumbnail_rename_favourite_delete(server) -> None:
    r = add_style(server, "  Red   stripes ", jpeg((300, 200)), tags="Stripes, red,stripes", licence="CC0")
    assert r.status_code == 201, r.text
    entry = r.json()
    assert entry["name"] == "Red stripes" and entry["tags"] == ["stripes", "red"] and entry["licence"] == "CC0"
    assert (entry["width"], entry["height"]) == (300, 200) and entry["kind"] == "style" and not entry["bundled"]
    assert by_name(server)["Red stripes"]["id"] == entry["id"]

    # the thumbnail: a JPEG of the whole image (same aspect ratio, never cropped), made once and kept
    t = httpx.get(server.url + entry["thumbnail"], headers=server.auth, timeout=30)
    assert t.status_code == 200 and t.headers["content-type"] == "image/jpeg"
    thumb = Image.open(io.BytesIO(t.content))
    assert thumb.size == (256, 171)
    kept = server.home / "library" / "thumbs" / f"{entry['id']}.jpg"
    made = kept.stat().st_mtime_ns
    assert httpx.get(server.url + entry["thumbnail"], headers=server.auth).content == t.content
    assert kept.stat().st_mtime_ns == made

    r = patch(server, entry["id"], {"name": "Stripes", "favourite": True, "tags": ["bold"]})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["favourite"], r.json()["tags"]) == ("Stripes", True, ["bold"])
    assert listing(server)["entries"][0]["id"] == entry["id"]  # favourites first

    r = httpx.delete(f"{server.url}/v1/library/{entry['id']}", headers=server.auth)
    assert r.status_code == 200
    assert "Stripes" not in by_name(server)
    assert not (server.home / "library" / f"{entry['id']}.jpg").exists() and not kept.exists()
    assert httpx.get(server.url + entry["thumbnail"], headers=server.auth).status_code == 404


def test_files_are_private(server) -> None:
    entry = add_style(server, "Private").json()
    folder = server.home / "library"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in (f"{entry['id']}.json", f"{entry['id']}.jpg"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name


def test_a_library_style_in_a_job_is_the_stored_image(server) -> None:
    entry = add_style(server, "Blue bars", jpeg((240, 240), (30, 60, 220))).json()
    stored = (server.home / "library" / f"{entry['id']}.jpg").read_bytes()
    by_upload = stylize(server, [("alpha", "0.9")], [("style", ("s.jpg", stored))])
    assert stylize(server, [("style_id", "lib:Blue bars"), ("alpha", "0.9")]) == by_upload
    assert stylize(server, [("style_id", f"lib:{entry['id']}"), ("alpha", "0.9")]) == by_upload
    bundled = next(e for e in listing(server)["entries"] if e["bundled"])
    other = stylize(server, [("style_id", f"lib:{bundled['id']}")])
    assert other != by_upload


def test_presets_of_styles_with_weights(server) -> None:
    a = add_style(server, "Preset part A", jpeg(colour=(10, 200, 10))).json()
    b = add_style(server, "Preset part B", jpeg(colour=(10, 10, 200))).json()
    r = add_preset(server, "Green-blue", [a["id"], f"lib:{b['id']}"], "1,3", alpha="0.7",
                   preserve_color="luminance", scale="0.5", tags="mix")
    assert r.status_code == 201, r.text
    preset = r.json()
    assert preset["kind"] == "preset" and preset["tags"] == ["mix"]
    assert preset["styles"] == [{"id": a["id"], "weight": 0.25}, {"id": b["id"], "weight": 0.75}]
    assert (preset["alpha"], preset["preserve_color"], preset["scale"]) == (0.7, "luminance", 0.5)
    thumb = Image.open(io.BytesIO(httpx.get(server.url + preset["thumbnail"], headers=server.auth).content))
    assert thumb.width == 256

    r = httpx.delete(f"{server.url}/v1/library/{a['id']}", headers=server.auth)
    assert r.status_code == 409 and "Green-blue" in r.json()["message"]
    r = httpx.post(server.url + "/v1/stylize", data={"style_id": "lib:Green-blue"},
                   files={"content": ("c.jpg", jpeg())}, headers=server.auth, timeout=60)
    assert r.status_code == 422 and "preset" in r.json()["message"]
    assert httpx.delete(f"{server.url}/v1/library/{preset['id']}", headers=server.auth).status_code == 200
    assert httpx.delete(f"{server.url}/v1/library/{a['id']}", headers=server.auth).status_code == 200


@pytest.mark.parametrize("fields, status, code", [
    ({"name": ""}, 422, "invalid_parameter"),
    ({"name": "x" * 81}, 422, "invalid_parameter"),
    ({"name": "lib:sneaky"}, 422, "invalid_parameter"),
    ({"name": "bell\x07"}, 422, "invalid_parameter"),
    ({"name": "ok", "tags": ",".join(f"t{i}" for i in range(17))}, 422, "invalid_parameter"),
    ({"name": "ok", "tags": "y" * 33}, 422, "invalid_parameter"),
    ({"name": "ok", "kind": "palette"}, 422, "invalid_parameter"),
    ({"name": "ok", "licence": "l" * 301}, 422, "invalid_parameter"),
])
def test_bad_fields_are_refused(server, fields, status, code) -> None:
    r = add_style(server, **fields)
    assert (r.status_code, r.json()["error"]) == (status, code), r.text


def test_bad_images_and_requests_are_refused(server) -> None:
    assert add_style(server, "Not an image", b"GIF89a garbage").status_code == 400
    assert add_style(server, "Empty", b"").status_code == 400
    r = httpx.post(server.url + "/v1/library", data={"name": "No image"}, headers=server.auth)
    assert r.status_code == 422 and r.json()["error"] == "missing_field"
    r = httpx.post(server.url + "/v1/library", content=b"{}", headers={**server.auth, "Content-Type": "application/json"})
    assert r.status_code == 415
    assert add_style(server, "Twice").status_code == 201
    r = add_style(server, "TWICE")
    assert r.status_code == 409 and r.json()["error"] == "conflict"


def test_bad_presets_are_refused(server) -> None:
    style = add_style(server, "Preset base").json()
    bundled = next(e for e in listing(server)["entries"] if e["bundled"])
    assert add_preset(server, "No styles", []).status_code == 422
    assert add_preset(server, "Unknown", ["abcdef123456"]).status_code == 422
    assert add_preset(server, "Weights", [style["id"], bundled["id"]], "1").status_code == 422
    assert add_preset(server, "Negative", [style["id"], bundled["id"]], "1,-1").status_code == 422
    assert add_preset(server, "Alpha", [style["id"]], alpha="2").status_code == 422
    assert add_preset(server, "Colour", [style["id"]], preserve_color="sepia").status_code == 422
    assert add_preset(server, "Too many", [style["id"], bundled["id"]] * 3).status_code == 422
    assert add_preset(server, "Bundled ok", [style["id"], bundled["id"]], "2,1").status_code == 201
    blank = add_preset(server, "Blank weights", [style["id"], bundled["id"]], "  ")  # as not given: equal
    assert blank.status_code == 201 and [s["weight"] for s in blank.json()["styles"]] == [0.5, 0.5], blank.text
    r = add_preset(server, "Of presets", [by_name(server)["Bundled ok"]["id"]])
    assert r.status_code == 422


def test_bad_ids_and_changes_are_refused(server) -> None:
    entry = add_style(server, "Target").json()
    for bad in ("nope", "..%2Ftoken", "ABC", "x" * 70):
        assert httpx.get(f"{server.url}/v1/library/{bad}/thumbnail", headers=server.auth).status_code == 404, bad
        assert patch(server, bad, {"favourite": True}).status_code == 404, bad
        assert httpx.delete(f"{server.url}/v1/library/{bad}", headers=server.auth).status_code == 404, bad
    assert patch(server, entry["id"], b"{not json").status_code == 400
    assert patch(server, entry["id"], {"colour": "red"}).status_code == 422
    assert patch(server, entry["id"], {}).status_code == 422
    assert patch(server, entry["id"], {"favourite": "yes"}).status_code == 422
    assert patch(server, entry["id"], {"name": ""}).status_code == 422
    assert patch(server, entry["id"], {"tags": 5}).status_code == 422
    r = httpx.patch(f"{server.url}/v1/library/{entry['id']}", content=b"name=x", headers=server.auth)
    assert r.status_code == 415
    r = httpx.post(server.url + "/v1/stylize", data={"style_id": "lib:No such style"},
                   files={"content": ("c.jpg", jpeg())}, headers=server.auth, timeout=60)
    assert r.status_code == 404 and r.json()["error"] == "unknown_entry"


def test_every_route_needs_the_token(server) -> None:
    entry = add_style(server, "Guarded").json()
    for method, path in (("GET", "/v1/library"), ("GET", entry["thumbnail"]), ("POST", "/v1/library"),
                         ("PATCH", f"/v1/library/{entry['id']}"), ("DELETE", f"/v1/library/{entry['id']}")):
        assert httpx.request(method, server.url + path).status_code == 401, (method, path)
    assert "Guarded" in by_name(server)


def test_the_plugin_toolkit_client_and_a_preset_job(server) -> None:
    """The toolkit the plug-ins share: add, search, favourite, preset, and a preset's job equals the same job
    sent by hand."""
    from adastyle_plugin import library as toolkit
    from adastyle_plugin.http import Client

    client = Client(url=server.url, token=server.token)
    one = client.library_add_style(jpeg(colour=(250, 200, 0)), "Toolkit yellow", tags=["warm", "flat"])
    two = client.library_add_style(jpeg(colour=(0, 90, 250)), "Toolkit blue", tags=["cold"])
    client.library_update(two["id"], favourite=True)
    entries = client.library()
    assert [e["name"] for e in toolkit.search(entries, "toolkit")] == ["Toolkit blue", "Toolkit yellow"]
    assert [e["name"] for e in toolkit.search(entries, "WARM flat")] == ["Toolkit yellow"]
    assert "Toolkit blue" in [e["name"] for e in toolkit.search(entries, favourites_only=True)]
    assert client.library_thumbnail(one["id"])[:2] == b"\xff\xd8"
    preset = client.library_add_preset("Toolkit mix", [(one["id"], 1), (two["id"], 3)], alpha=0.8,
                                       preserve_color="histogram")
    ids, weights, settings = toolkit.job_styles([(toolkit.by_name(client.library(), "toolkit MIX"), 1.0)])
    assert ids == [f"lib:{one['id']}", f"lib:{two['id']}"] and weights == [0.25, 0.75]
    assert settings == {"alpha": 0.8, "preserve_color": "histogram", "scale": 1.0}
    content = png(Image.open(EXAMPLES / "content-coffee.jpg").convert("RGB").resize((96, 64)))
    via_preset, _ = client.stylize(content, style_ids=ids, weights=weights, **settings)
    by_hand = stylize(server, [("style_id", f"lib:{one['id']}"), ("style_id", f"lib:{two['id']}"),
                               ("weights", "1,3"), ("alpha", "0.8"), ("preserve_color", "histogram")], content=content)
    assert Image.open(io.BytesIO(via_preset)).tobytes() == Image.open(io.BytesIO(by_hand)).tobytes()
    client.library_delete(preset["id"])
    assert preset["id"] not in {e["id"] for e in client.library()}


def test_restart_keeps_the_library_and_skips_damaged_files(server) -> None:
    kept = add_style(server, "Survivor", tags="keep").json()
    bundled = next(e for e in listing(server)["entries"] if e["bundled"])
    hidden = [e for e in listing(server)["entries"] if e["bundled"]][1]
    assert patch(server, bundled["id"], {"name": "Renamed bundled", "favourite": True}).status_code == 200
    assert httpx.delete(f"{server.url}/v1/library/{hidden['id']}", headers=server.auth).status_code == 200
    before = listing(server)
    folder = server.home / "library"
    server.stop()
    (folder / "0badbadbad01.json").write_text("{ this is not json")
    (folder / "0badbadbad02.json").write_text(json.dumps({"id": "0badbadbad02", "kind": "style", "name": "Ghost",
                                                          "file": "0badbadbad02.jpg", "width": 1, "height": 1,
                                                          "bytes": 1}))
    (folder / "0badbadbad03.json").write_text(json.dumps({"id": "0badbadbad03", "kind": "preset", "name": "P",
                                                          "styles": [{"id": "000000000000", "weight": 1}]}))
    for p in folder.glob("0badbad*"):
        p.chmod(0o600)
    restarted = start_server(server.home)
    try:
        after = listing(restarted)
        assert after["entries"] == before["entries"]
        names = {e["name"] for e in after["entries"]}
        assert "Survivor" in names and "Renamed bundled" in names and hidden["name"] not in names
        assert after["entries"][0]["favourite"]
        log = (server.home / "test-server.log").read_text()
        for bad in ("0badbadbad01.json", "0badbadbad02.json", "0badbadbad03.json"):
            assert f"library: skipped {bad}" in log, bad
        assert stylize(restarted, [("style_id", f"lib:{kept['id']}")])
    finally:
        restarted.stop()
        server.proc = restarted.proc  # the module fixture stops it again: harmless


@pytest.fixture(scope="module")
def small_server(tmp_path_factory) -> RunningServer:
    srv = start_server(tmp_path_factory.mktemp("lib-small"), "--library-max-entries", "3",
                       "--library-max-bytes", "60000")
    yield srv
    srv.stop()


def test_limits_on_count_and_bytes(small_server) -> None:
    srv = small_server
    big = io.BytesIO()
    Image.effect_noise((400, 400), 80).convert("RGB").save(big, format="PNG")  # noise: a large JPEG
    r = add_style(srv, "Too big", big.getvalue())
    assert r.status_code == 413 and r.json()["error"] == "library_full", r.text
    assert listing(srv)["limits"] == {"entries": 3, "bytes": 60000, "styles_per_preset": 4}
    for i in range(3):
        assert add_style(srv, f"Small {i}", jpeg((64, 64))).status_code == 201
    r = add_style(srv, "One more", jpeg((64, 64)))
    assert r.status_code == 413 and "3 entries" in r.json()["message"]
    assert listing(srv)["count"] == bundled_count() + 3

"""The page's style library in real headless Chromium: search, pick two library styles with weights, and the
result is the API's for the same styles and weights; saving an upload and a preset into the library."""
from __future__ import annotations

import io
import time

import httpx
import numpy as np
import pytest
from conftest import ARTIFACTS, EXAMPLES
from PIL import Image
from server_fixture import start_server
from test_web_browser import open_page, upload_content, wait_status


@pytest.fixture(scope="module")
def lib_server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("web-lib-home"))
    yield srv
    srv.stop()


@pytest.fixture()
def page(lib_server):
    with open_page(lib_server, height=1900, ready="#library-gallery") as page:
        yield page


def search_and_pick(page, query: str, expect: str) -> None:
    box = page.locator("#library-search textarea, #library-search input").first
    box.fill(query)
    box.press("Enter")
    deadline = time.time() + 60
    while time.time() < deadline:
        captions = page.locator("#library-gallery").inner_text()
        if expect in captions and page.locator("#library-gallery img").count() == 1:
            break
        time.sleep(0.25)
    else:
        raise AssertionError(f"the search {query!r} never showed {expect!r} alone")
    page.locator("#library-gallery img").first.click()
    expect_library_status(page, expect)


def library_status(page, needle: str, timeout: float = 60.0) -> bool:
    """Wait until the library's status line says `needle`; False (with the page's state saved to the test
    artifacts) when it never does."""
    deadline = time.time() + timeout
    while needle not in page.locator("#library-status").inner_text():
        if time.time() > deadline:
            page.screenshot(path=str(ARTIFACTS / "library-status-timeout.png"), full_page=True, timeout=60_000)
            return False
        time.sleep(0.25)
    return True


def expect_library_status(page, needle: str, timeout: float = 60.0) -> None:
    assert library_status(page, needle, timeout), (f"the library status never said {needle!r}: "
                                                   f"{page.locator('#library-status').inner_text()!r}; page "
                                                   f"status {page.locator('#status').inner_text()!r}")


def chosen_styles_shown(page, n: int) -> None:
    """Wait until the page shows `n` chosen styles (their gallery and weight sliders follow a pick as an
    event of their own; the layout moves when they come)."""
    deadline = time.time() + 60
    while page.locator("#style-gallery img").count() != n or (n > 1 and not page.locator(f"#weight-{n}").is_visible()):
        assert time.time() < deadline, f"the page never showed {n} chosen styles"
        time.sleep(0.25)


def set_number(page, elem_id: str, value: float) -> None:
    box = page.locator(f"#{elem_id} input[type=number]")
    box.fill(str(value))
    box.press("Enter")


def test_two_library_styles_with_weights_match_the_api(page, lib_server, tmp_path) -> None:
    content = tmp_path / "content.png"
    Image.open(EXAMPLES / "content-coffee.jpg").convert("RGB").resize((384, 288)).save(content)
    upload_content(page, content)
    assert page.locator("#library-gallery img").count() >= 30
    search_and_pick(page, "sower", "Sower")
    search_and_pick(page, "harvest oil", "Harvest")
    files = page.locator("#style-files").inner_text()
    assert files.count("lib-sower") == 1 and files.count("lib-harvest") == 1, files
    page.locator("#weight-2").wait_for(state="visible")
    for gallery in ("#style-gallery", "#library-gallery", "#examples"):  # whole thumbnails, none cut off
        outer = page.locator(gallery).bounding_box()
        box = page.locator(f"{gallery} img").first.bounding_box()
        assert box["y"] >= outer["y"] - 1 and box["y"] + box["height"] <= outer["y"] + outer["height"] + 1, gallery
    set_number(page, "weight-1", 0.3)
    set_number(page, "weight-2", 0.7)
    time.sleep(0.5)
    page.locator("#stylize").click()
    wait_status(page, "Done")
    href = page.locator("#download a").first.get_attribute("href")
    png = page.request.get(href if href.startswith("http") else lib_server.url + href).body()
    from_page = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), np.int16)

    r = httpx.post(lib_server.url + "/v1/stylize", files={"content": ("c.png", content.read_bytes())},
                   data={"style_id": ["lib:sower", "lib:harvest"], "weights": "0.3,0.7"}, headers=lib_server.auth,
                   timeout=300)
    assert r.status_code == 200, r.text
    from_api = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"), np.int16)
    assert from_page.shape == from_api.shape == (288, 384, 3)
    assert np.abs(from_page - from_api).max() <= 1, np.abs(from_page - from_api).max()
    # and it is the weighted mix, not one style alone
    r = httpx.post(lib_server.url + "/v1/stylize", files={"content": ("c.png", content.read_bytes())},
                   data={"style_id": "lib:sower"}, headers=lib_server.auth, timeout=300)
    alone = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"), np.int16)
    assert np.abs(from_page - alone).mean() > 3
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # installed: the fixture used it

    try:  # the picture for the docs; a screenshot can take minutes on a loaded machine, and it is not the test
        page.locator("#library").screenshot(path=str(ARTIFACTS / "web-library.png"), timeout=60_000)
    except PlaywrightTimeout:
        pass


def test_save_an_upload_and_a_preset_into_the_library(page, lib_server) -> None:
    page.locator("#style-files input[type=file]").first.set_input_files(str(EXAMPLES / "style-goldfish.jpg"))
    page.locator("#style-gallery img").first.wait_for(timeout=60_000)
    page.locator("#library-name textarea, #library-name input").first.fill("My goldfish")
    page.locator("#library-tags textarea, #library-tags input").first.fill("fish, orange")
    page.locator("#library-save-styles").click()
    expect_library_status(page, "Saved to the library")
    listing = httpx.get(lib_server.url + "/v1/library", headers=lib_server.auth).json()["entries"]
    mine = next(e for e in listing if e["name"] == "My goldfish")
    assert mine["tags"] == ["fish", "orange"] and not mine["bundled"]

    # a preset needs library styles: the upload is refused, the library's copy is taken
    page.locator("#library-name textarea, #library-name input").first.fill("Fish preset")
    page.locator("#library-save-preset").click()
    expect_library_status(page, "Save the uploaded styles")
    page.reload()  # a fresh page: no uploads among the styles
    page.wait_for_selector("#library-gallery", timeout=90_000)
    search_and_pick(page, "my goldfish", "My goldfish")
    search_and_pick(page, "lava", "Lava")
    chosen_styles_shown(page, 2)
    set_number(page, "alpha", 0.6)
    page.locator("#library-name textarea, #library-name input").first.fill("Fish preset")
    assert page.locator("#library-name textarea, #library-name input").first.input_value() == "Fish preset"
    page.locator("#library-save-preset").click()
    if not library_status(page, "Saved the preset", timeout=30):
        # A click can go astray on a loaded machine (the page was still moving); a user clicks again. The
        # button ignores a second click while its first is still running, and a preset saved twice would
        # say its name is taken, so this cannot hide a failed or doubled save.
        page.locator("#library-save-preset").click()
        expect_library_status(page, "Saved the preset")
    listing = httpx.get(lib_server.url + "/v1/library", headers=lib_server.auth).json()["entries"]
    assert [e["name"] for e in listing].count("Fish preset") == 1
    preset = next(e for e in listing if e["name"] == "Fish preset")
    assert [s["id"] for s in preset["styles"]] == [mine["id"], "lava"] and preset["alpha"] == 0.6

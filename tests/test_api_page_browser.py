"""The API page /docs in real headless Chromium, as a user tries the API: Authorize with the token, then
"Try it out" on POST /v1/stylize with two image files; the answer is the stylised PNG, shown on the page."""
from __future__ import annotations

import shutil

import pytest
from conftest import ARTIFACTS, EXAMPLES
from test_openapi import server  # noqa: F401 (the module's server fixture)
from test_web_browser import CHROMIUM, FLAGS, _playwright


@pytest.mark.browser
def test_authorize_and_try_stylize_on_the_api_page(server, tmp_path) -> None:  # noqa: F811
    content, style = tmp_path / "content.jpg", tmp_path / "style.jpg"
    from PIL import Image

    Image.open(EXAMPLES / "content-grace_hopper.jpg").resize((256, 256)).save(content)
    shutil.copy(EXAMPLES / "style-castle.jpg", style)
    requests: list[tuple[str, str | None]] = []
    with _playwright()() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1800})
        page.set_default_timeout(120_000)
        page.on("request", lambda r: requests.append((r.url, r.headers.get("authorization")))
                if "/v1/stylize" in r.url else None)
        page.goto(server.url + "/docs")
        page.locator(".swagger-ui .info .title").wait_for()

        page.locator("button.authorize").first.click()
        page.locator(".modal-ux input").first.fill(server.token)
        page.locator(".modal-ux button.authorize").click()
        page.locator(".modal-ux button.btn-done").click()

        op = page.locator("#operations-default-stylize_v1_stylize_post")
        op.locator(".opblock-summary").click()
        op.locator("button.try-out__btn").click()
        body = op.locator(".opblock-body")
        # The fields as the description gives them; optional ones start at their defaults (or empty: not sent).
        assert body.locator("tr[data-property-name='scale'] input[type=text]").input_value() == "1"
        assert body.locator("tr[data-property-name='weights'] input[type=text]").input_value() == ""
        body.locator("tr[data-property-name='content'] input[type=file]").set_input_files(str(content))
        body.locator("tr[data-property-name='style'] input[type=file]").first.set_input_files(str(style))
        body.locator("tr[data-property-name='alpha'] input[type=text]").fill("0.8")
        body.locator("button.execute").click()
        status = body.locator(".live-responses-table tr.response .response-col_status").first
        status.wait_for(timeout=300_000)
        picture = body.locator(".live-responses-table img")
        picture.wait_for(timeout=60_000)
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
        # The picture for README: from the page's Authorize button (locked: authorized) down to the tried call's
        # answer, the stylised PNG.
        top = page.locator("button.authorize").first.bounding_box()  # both in the viewport's coordinates
        answer = body.locator(".live-responses-table").bounding_box()
        scrolled = page.evaluate("window.scrollY")
        page.screenshot(path=str(ARTIFACTS / "api-page.png"), full_page=True,
                        clip={"x": 0, "y": top["y"] + scrolled - 16, "width": 1280,
                              "height": answer["y"] + answer["height"] - top["y"] + 32})
        natural = picture.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert status.inner_text().strip() == "200"
        browser.close()
    assert natural == [256, 256], natural
    assert requests and requests[0][1] == f"Bearer {server.token}", requests

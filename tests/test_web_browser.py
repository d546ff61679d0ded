"""The web page in real headless Chromium (Playwright with the system browser), mounted at /ui on the server."""
from __future__ import annotations

import io
import shutil
import time
from contextlib import contextmanager

import numpy as np
import pytest
from conftest import ARTIFACTS, EXAMPLES, in_ci
from PIL import Image
from server_fixture import start_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if in_ci():
            raise
        pytest.skip("playwright is not installed")
    if not shutil.which("chromium") and not in_ci():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return sync_playwright


@pytest.fixture(scope="module")
def page_server(tmp_path_factory):
    srv = start_server(tmp_path_factory.mktemp("web-home"))
    yield srv
    srv.stop()


@contextmanager
def open_page(server, height: int = 1500, ready: str = "#stylize"):
    """The server's page in headless Chromium, once `ready` shows."""
    sync_playwright = _playwright()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": height})
        # A loaded 2-core machine (CI, parallel jobs) can stall the software-rendered page for well over
        # Playwright's default 30 s while the server stylises beside it.
        page.set_default_timeout(120_000)
        page.goto(f"{server.url}/ui/?token={server.token}")
        page.wait_for_selector(ready, timeout=90_000)
        yield page
        browser.close()


@pytest.fixture()
def browser_page(page_server, tmp_path):
    with open_page(page_server) as page:
        yield page


def test_page_needs_the_token(page_server) -> None:
    import httpx

    assert httpx.get(page_server.url + "/ui/").status_code == 401
    r = httpx.get(f"{page_server.url}/ui/?token={page_server.token}", follow_redirects=True)
    assert r.status_code == 200 and str(r.url) == f"{page_server.url}/ui/"


def wait_status(page, needle: str, timeout: float = 240.0) -> str:
    deadline = time.time() + timeout
    text = ""
    while time.time() < deadline:
        text = page.locator("#status").inner_text()
        if needle in text:
            return text
        time.sleep(0.25)
    raise AssertionError(f"status never showed {needle!r}; last: {text!r}")


def middle_grey(picture: Image.Image) -> float:
    """Mean grey level of the middle third (both ways) of a picture."""
    grey = np.asarray(picture.convert("L"), float)
    h, w = grey.shape
    return float(grey[h // 3:2 * h // 3, w // 3:2 * w // 3].mean())


def upload_content(page, path, timeout: float = 120.0) -> None:
    """Put a photo into the content editor and wait until the editor shows it. Why: the editor first shows
    a blank white 800x800 canvas and draws the photo seconds later on a loaded machine; a brush stroke made
    in between lands on the blank canvas and the mask is lost. The photo is there once the middle of the
    editor has the photo's mean grey (within 40 levels: 4-12 for the examples; blank is about 250).
    A file given before the editor's script listens to its input is dropped (on a fast machine the page shows
    #stylize first): the file is given again every 15 s until the editor shows it."""
    canvas = page.locator("#content-editor canvas").first
    want = middle_grey(Image.open(path))
    deadline = time.time() + timeout
    seen = float("nan")
    given = 0.0
    while time.time() < deadline:
        if time.time() - given > 15:
            field = page.locator("#content-editor input[type=file]").first
            if given:
                field.set_input_files([])  # else the same file again is no change, and no event fires
            field.set_input_files(str(path))
            canvas.wait_for(timeout=30_000)
            given = time.time()
        seen = middle_grey(Image.open(io.BytesIO(canvas.screenshot())))
        if abs(seen - want) < 40:
            time.sleep(0.5)  # the fit-to-view zoom settles just after the first frame
            return
        time.sleep(0.25)
    raise AssertionError(f"the editor never showed {path.name} (middle grey {seen:.0f}, the photo's {want:.0f})")


def test_stylize_with_painted_mask_in_the_browser(browser_page, page_server) -> None:
    page = browser_page
    content_path = EXAMPLES / "content-coffee.jpg"
    upload_content(page, content_path)
    page.locator("#style-files input[type=file]").first.set_input_files(str(EXAMPLES / "style-goldfish.jpg"))
    canvas = page.locator("#content-editor canvas").first
    time.sleep(1.0)
    # Alpha: type a value into the slider's number box.
    alpha_box = page.locator("#alpha input[type=number]")
    alpha_box.fill("0.9")
    alpha_box.press("Enter")
    # Paint a thick vertical stroke left of the image centre (the canvas is centred on the image).
    page.locator("#content-editor button[aria-label=Brush]").click()
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx - 90, cy - 100)
    page.mouse.down()
    page.mouse.move(cx - 90, cy + 100, steps=25)
    page.mouse.up()
    time.sleep(0.5)
    page.locator("#stylize").click()
    status = wait_status(page, "Done")
    assert "with mask" in status, status
    page.screenshot(path=str(ARTIFACTS / "web-page.png"), full_page=True)
    href = page.locator("#download a").first.get_attribute("href")
    png = page.request.get(href if href.startswith("http") else page_server.url + href).body()
    result = Image.open(io.BytesIO(png)).convert("RGB")
    content = Image.open(content_path).convert("RGB")
    assert result.size == content.size
    diff = np.abs(np.asarray(result, float) - np.asarray(content, float)).mean(axis=2)
    cols = diff.mean(axis=0)
    w = content.width
    painted = cols[int(w * 0.15):int(w * 0.35)].mean()
    right = cols[int(w * 0.7):].mean()
    assert painted > 10 and right < 1.0, (painted, right)  # styled where painted, original elsewhere
    result.save(ARTIFACTS / "web-result.png")


def test_non_image_upload_shows_a_readable_error(browser_page, tmp_path) -> None:
    page = browser_page
    text_file = tmp_path / "notes.png"
    text_file.write_bytes(b"hello, I am text")  # refused at upload: not an image of an allowed format
    page.locator("#style-files input[type=file]").first.set_input_files(str(text_file))
    page.get_by_text("only PNG, JPEG, WebP, TIFF, BMP and GIF images can be uploaded").first.wait_for(timeout=60_000)
    bad = tmp_path / "not-a-picture.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"hello, I am text")  # a PNG signature, then no image
    upload_content(page, EXAMPLES / "content-rocket.jpg")  # else, on a loaded machine, Stylize can find no photo yet
    page.locator("#style-files input[type=file]").first.set_input_files(str(bad))
    # the upload guard reads every upload back as an image: a PNG signature alone does not pass
    page.get_by_text("not a readable PNG, JPEG, WebP, TIFF, BMP or GIF image").first.wait_for(timeout=60_000)
    time.sleep(1.0)
    page.locator("#stylize").click()
    wait_status(page, "Add at least one style image", timeout=60)  # nothing of the refused file was kept
    page.screenshot(path=str(ARTIFACTS / "web-error.png"))


@pytest.fixture()
def slow_page_server(tmp_path_factory):
    """A server in float32 (`ADASTYLE_FP32`): on a CPU with native bf16 a job of several tiles ends in a couple of
    seconds, before the page's Cancel reaches it; in float32 it runs several times longer there."""
    srv = start_server(tmp_path_factory.mktemp("web-home-fp32"), env={"ADASTYLE_FP32": "1"}, verbose=True)
    yield srv
    srv.stop()


def test_cancel_stops_a_running_job(slow_page_server, tmp_path) -> None:
    with open_page(slow_page_server) as page:
        cancel_a_running_job(page, slow_page_server, tmp_path)


def cancel_a_running_job(page, page_server, tmp_path) -> None:
    import httpx

    big = tmp_path / "big-content.jpg"  # several tiles on CPU, so the job is still running when we cancel
    Image.open(EXAMPLES / "content-rocket.jpg").convert("RGB").resize((3000, 2400)).save(big, quality=90)
    upload_content(page, big)
    page.locator("#style-files input[type=file]").first.set_input_files(str(EXAMPLES / "style-goldfish.jpg"))
    time.sleep(1.0)
    page.locator("#stylize").click()
    deadline = time.time() + 120
    while httpx.get(page_server.url + "/v1/health").json()["running"] is None:
        assert time.time() < deadline, "the job never started"
        time.sleep(0.1)
    page.locator("#cancel").click()
    try:
        wait_status(page, "Cancelled", timeout=120)
    except AssertionError as exc:  # what the server's queue did with the job (its debug log) says which side stalled
        raise AssertionError(f"{exc}\nserver log:\n{page_server.log_tail()}") from None
    health = httpx.get(page_server.url + "/v1/health").json()
    assert health["running"] is None and health["queue"] == 0
    page.screenshot(path=str(ARTIFACTS / "web-cancelled.png"))


# ---- another local web server cannot use this one --------------------------------------------------
class _Recorder:
    """A second local HTTP server (another program on another 127.0.0.1 port): it records the cookies
    browsers send it and serves a page that tries to act on the AdaStyle server."""

    def __init__(self, page_html: str) -> None:
        import http.server
        import threading

        recorder = self
        self.cookies: list[str] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                recorder.cookies.append(self.headers.get("Cookie", ""))
                body = page_html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


FOREIGN_PAGE = """<!doctype html><html><body><script>
const target = "%(target)s";
const png = Uint8Array.from(atob("%(png)s"), c => c.charCodeAt(0));
function form(name) { const f = new FormData(); f.append(name, new Blob([png], {type: "image/png"}), "s.png"); return f; }
async function attempt(fn) { try { return await fn(); } catch (e) { return "blocked"; } }
window.results = (async () => ({
  config: await attempt(async () => { const r = await fetch(target + "/ui/config", {credentials: "include"});
                                      return "read " + r.status; }),
  upload: await attempt(async () => { const r = await fetch(target + "/ui/gradio_api/upload",
                                      {method: "POST", body: form("files"), credentials: "include"});
                                      return "read " + r.status + " " + (await r.text()).slice(0, 80); }),
  style: await attempt(async () => { await fetch(target + "/v1/styles", {method: "POST", body: form("style"),
                                     credentials: "include", mode: "no-cors"}); return "sent"; }),
}))();
</script></body></html>"""


def test_page_on_another_local_port_cannot_act_on_the_server(page_server) -> None:
    import base64
    import hashlib

    import httpx

    sync_playwright = _playwright()
    style = Image.new("RGB", (40, 30), (10, 200, 120))
    buf = io.BytesIO()
    style.save(buf, format="PNG")
    style_id = hashlib.sha1(style.tobytes()).hexdigest()[:20]  # the id the server would give it
    recorder = _Recorder(FOREIGN_PAGE % {"target": page_server.url, "png": base64.b64encode(buf.getvalue()).decode()})
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page()
            page.goto(f"{page_server.url}/ui/?token={page_server.token}")
            page.wait_for_selector("#stylize", timeout=90_000)
            assert "token=" not in page.url  # exchanged and redirected to a clean address
            page.goto(recorder.url + "/ui/anything")  # the same path as our page: its cookie goes along
            page.goto(recorder.url + "/")
            page.goto(recorder.url + "/foreign.html")
            results = page.evaluate("window.results")
            browser.close()
    finally:
        recorder.close()
    sent = " ".join(recorder.cookies)
    assert page_server.token not in sent, "the API token reached another local server in a cookie"
    assert results["config"] == "blocked" and results["upload"] == "blocked", results
    # The no-cors style upload left nothing behind: the server does not know the style.
    r = httpx.post(page_server.url + "/v1/jobs", headers={"Authorization": f"Bearer {page_server.token}"},
                   data={"style_id": style_id, "alpha": "7"},
                   files={"content": ("c.png", buf.getvalue(), "image/png")})
    assert r.status_code == 404 and r.json()["error"] == "unknown_style", r.text


def test_api_page_renders_offline_from_bundled_files(page_server) -> None:
    """/docs with every request off 127.0.0.1 aborted (no network): Swagger UI draws the API's title and routes."""
    import httpx

    assert httpx.get(page_server.url + "/docs").status_code == 200  # public, as README says
    assert httpx.get(page_server.url + "/openapi.json").json()["info"]["title"] == "AdaStyle"
    assert httpx.get(page_server.url + "/v1/jobs/x").status_code == 401  # the API itself is not
    sync_playwright = _playwright()
    outside: list[str] = []

    def only_local(route) -> None:
        if route.request.url.startswith(page_server.url + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.set_default_timeout(120_000)
        page.route("**/*", only_local)
        page.goto(page_server.url + "/docs")
        title = page.locator(".swagger-ui .info .title")
        title.wait_for(timeout=60_000)
        assert "AdaStyle" in title.inner_text()
        page.locator(".opblock-summary-path[data-path='/v1/stylize']").wait_for(timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
        browser.close()
    assert outside == [], f"the API page fetched from the network: {outside}"


def test_example_thumbnail_loads_content_and_style(browser_page) -> None:
    page = browser_page
    thumbs = page.locator("#examples img")
    assert thumbs.count() == 3
    box = thumbs.first.bounding_box()
    assert box["y"] < 900, "the examples should be visible without scrolling"
    thumbs.first.click()
    page.locator("#style-gallery img").first.wait_for(timeout=30_000)
    assert "style-castle" in page.locator("#style-files").inner_text()
    page.locator("#content-editor canvas").first.wait_for(timeout=30_000)
    time.sleep(1.0)
    page.locator("#stylize").click()
    status = wait_status(page, "Done")
    assert "512x512" in status, status


def test_adastyle_web_console_is_quiet(tmp_path) -> None:
    """`adastyle web` prints its own address, not Gradio's banner with its share=True hint; run alone, its
    uploads get the server's checks (images only, each within --page-max-upload) and requests its Host check."""
    import os
    import subprocess
    import sys

    from server_fixture import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "adastyle.cli", "web", "--port", str(port),
                             "--page-max-upload", "4000"], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "ADASTYLE_HOME": str(tmp_path)})
    try:
        lines = []
        deadline = time.time() + 120
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if f"http://127.0.0.1:{port}" in line:
                break
        import httpx

        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=30).status_code == 200
        # A name other than the local ones (DNS rebinding from a foreign site) is refused, like on the server.
        foreign = httpx.get(f"http://127.0.0.1:{port}/", headers={"Host": "rebind.example:80"}, timeout=30)
        assert foreign.status_code == 403 and "127.0.0.1, localhost or [::1]" in foreign.text, foreign.text
        assert httpx.get(f"http://localhost:{port}/", timeout=30).status_code == 200
        upload = f"http://127.0.0.1:{port}/gradio_api/upload"
        small = io.BytesIO()
        Image.new("RGB", (8, 8), (1, 2, 3)).save(small, format="PNG")
        r = httpx.post(upload, files={"files": ("notes.png", b"hello, I am text", "image/png")}, timeout=30)
        assert r.status_code == 415 and "only PNG, JPEG, WebP, TIFF, BMP and GIF" in r.text, r.text
        r = httpx.post(upload, files={"files": ("big.png", b"\x89PNG\r\n\x1a\n" + bytes(5000), "image/png")}, timeout=30)
        assert r.status_code == 413 and "4,000 bytes" in r.text, r.text
        r = httpx.post(upload, files={"files": ("ok.png", small.getvalue(), "image/png")}, timeout=30)
        assert r.status_code == 200, r.text
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=30)
    output = "".join(lines) + (rest or "")
    assert f"AdaStyle web page: http://127.0.0.1:{port}" in output, output
    assert "share=True" not in output and "public link" not in output, output

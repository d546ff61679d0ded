"""The API page at /docs: Swagger UI from files bundled with the package (PyPI swagger-ui-bundle-v2), no CDN.

Why bundled: FastAPI's default page loads Swagger UI from a CDN, so it is blank on a machine without
network, while the server itself needs none. Why public (no token, like /v1/health): /docs and
/openapi.json describe the API and hold no user data; every call made from the page still needs the token
(the page's Authorize button takes it).
"""
from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

log = logging.getLogger(__name__)
DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"


def mount_docs(app: FastAPI) -> bool:
    """Serve /docs with the bundled Swagger UI; False (and no /docs) when the bundle is not installed."""
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
                                   swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png")

    return True

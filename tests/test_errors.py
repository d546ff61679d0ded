"""The one error policy: `errors.user_message` decides what a user sees, and every front end asks it."""
from __future__ import annotations

import logging

from adastyle.errors import INTERNAL_ERROR, OUT_OF_MEMORY, UserError, user_message

log = logging.getLogger("test_errors")


class OutOfMemoryError(RuntimeError):
    """Named like torch's (a RuntimeError subclass), which user_message recognises without importing torch."""


def test_a_user_error_is_shown_and_anything_else_is_hidden_and_logged(caplog) -> None:
    assert user_message(UserError("that style is unusable"), log) == "that style is unusable"
    assert user_message(MemoryError(), log) == OUT_OF_MEMORY
    assert user_message(OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"), log) == OUT_OF_MEMORY
    with caplog.at_level(logging.ERROR):
        shown = user_message(ValueError("expected 4D input (got 3D input) at /home/someone/secret.py"), log, "job x")
    assert shown == INTERNAL_ERROR and "secret" not in shown
    assert any(r.exc_info and "job x" in r.getMessage() for r in caplog.records), "logged with its traceback"


def test_the_servers_last_handler_asks_the_same_function(tmp_path, monkeypatch) -> None:
    """An exception no other handler knows answers 500 with the policy's text: no type name, no internal message."""
    from starlette.testclient import TestClient

    from adastyle.server.app import create_app
    from adastyle.settings import Settings

    monkeypatch.setenv("ADASTYLE_HOME", str(tmp_path))
    app = create_app(Settings(), stylizer=object())  # type: ignore[arg-type]  (no route here runs the model)

    async def boom() -> None:
        raise KeyError("internal detail /srv/x")

    app.add_api_route("/boom", boom)
    try:
        r = TestClient(app, raise_server_exceptions=False).get("/boom")
    finally:
        app.state.queue.stop()
    assert r.status_code == 500
    assert r.json() == {"error": "internal_error", "message": INTERNAL_ERROR}


def test_the_apps_lifespan_stops_the_worker(tmp_path, monkeypatch) -> None:
    """When the server shuts down, its lifespan stops the queue: the worker thread ends (it is not left to a daemon's
    death)."""
    from starlette.testclient import TestClient

    from adastyle.server.app import create_app
    from adastyle.settings import Settings

    monkeypatch.setenv("ADASTYLE_HOME", str(tmp_path))
    app = create_app(Settings(), stylizer=object())  # type: ignore[arg-type]  (no route here runs the model)
    queue = app.state.queue
    with TestClient(app) as client:  # entering runs the lifespan's start, leaving its end
        assert client.get("/openapi.json").status_code == 200
        assert queue.working
    assert queue.wait_stopped(timeout=10)
    assert not queue.working

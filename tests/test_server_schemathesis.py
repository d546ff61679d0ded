"""Schemathesis against the server's own OpenAPI document, over real HTTP: a bounded number of examples per
operation, with and without the token; no answer may be a 5xx and none may hang."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from server_fixture import RunningServer, start_server

schemathesis = pytest.importorskip("schemathesis")
EXAMPLES = 20  # per operation


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> RunningServer:
    srv = start_server(tmp_path_factory.mktemp("fuzz-home"))
    yield srv
    srv.stop()


def test_no_5xx_and_no_hang(server) -> None:
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    calls = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case) -> None:
            for headers in (server.auth, {}):
                response = case.call(headers=headers, timeout=30)  # a hang fails here, after 30 s
                calls.append(response.status_code)
                assert response.status_code < 500, (case.method, case.formatted_path, response.status_code,
                                                     response.text[:200])

        check()
    assert len(calls) >= 2 * len(list(schema.get_all_operations())), "too few calls were made"
    assert server.alive()
    print(f"schemathesis: {len(calls)} calls, statuses {sorted(set(calls))}")

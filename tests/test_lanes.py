"""The test lanes (lanes.py, applied by conftest.py): what starts a process, a server or Chromium is `slow`,
a Chromium test is also `browser`, and in-process tests stay in the unit lane (`pytest -m "not slow"`)."""
from __future__ import annotations

import subprocess
import sys

import pytest
import test_client
import test_server
import test_web_browser
from lanes import lanes, lanes_of_source


def _runs_the_cli() -> None:
    subprocess.run([sys.executable, "-m", "adastyle.cli", "--help"], check=True)


def _calls_a_helper_that_runs_the_cli() -> None:
    _runs_the_cli()


def _only_computes() -> int:
    return sum(range(10))


@pytest.fixture
def spawns() -> None:
    """A fixture that would start the CLI (never does: the lane is read from its source)."""
    if sys.version_info < (3,):
        _runs_the_cli()


@pytest.mark.parametrize("source, marks", [
    ("start_server(tmp_path)", {"slow"}),
    ("subprocess.run(['adastyle', 'doctor'])", {"slow"}),
    ("browser = p.chromium.launch(executable_path=CHROMIUM)", {"browser", "slow"}),
    ("Stylizer(device='cpu').run(request)", {"slow"}),
    ("def test_x(stylizer, content_img):", {"slow"}),
    ('rc = main(["batch", str(clip), "-o", str(out)])', {"slow"}),
    ('rc = main(["library", "list"])', set()),
    ("ckpt = train(cfg)", {"slow"}),
    ("opt = torch.optim.Adam(dec.parameters(), lr=1e-4)", {"slow"}),
    ("StylizeRequest(content, [style], alpha=0.5)", set()),
])
def test_a_source_calls_for_its_marks(source: str, marks: set[str]) -> None:
    assert lanes_of_source(source) == marks


def test_what_a_test_calls_is_followed() -> None:
    assert lanes([_calls_a_helper_that_runs_the_cli]) == {"slow"}
    assert lanes([_only_computes]) == set()


def test_the_suites_servers_clis_and_browsers_are_slow() -> None:
    assert "slow" in lanes([test_server.server])            # the real server fixture
    assert "slow" in lanes([test_client.run_cli])            # the CLI as a subprocess
    assert lanes([test_web_browser._playwright]) <= {"browser", "slow"}
    assert lanes([test_web_browser.open_page]) == {"browser", "slow"}


def test_a_test_using_a_spawning_fixture_is_marked_slow(request: pytest.FixtureRequest, spawns: None) -> None:
    assert request.node.get_closest_marker("slow") is not None
    assert request.node.get_closest_marker("browser") is None


def test_an_in_process_test_stays_in_the_unit_lane(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("slow") is None

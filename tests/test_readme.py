"""README's install and test commands are the ones .ci/run runs, and name extras pyproject.toml defines."""
from __future__ import annotations

import re

import tomllib
from conftest import REPO


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_ci_runs_the_readme_developer_install_and_test_command() -> None:
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    commands = readme_commands()
    for command in ('pip install -e ".[test]"', "python -m pytest -q -rs"):
        assert command in commands, f"README lost {command!r}"
        assert command in ci, f".ci/run does not run README's {command!r}"


def test_readme_extras_exist() -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    used = {e for c in readme_commands() for group in re.findall(r'\.\[([a-z,]+)\]', c) for e in group.split(",")}
    assert used >= {"server", "web", "test"} and used <= set(extras), used
    own = [e for e in extras["test"] if e.startswith("adastyle[")]
    assert own and {"server", "web"} <= set(own[0][9:-1].split(",")), "the developer install must include the user's"

"""Shared fixtures: paths, example images, one Stylizer per session (loading the model costs seconds)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from lanes import lanes
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
EVAL_SETS = REPO / "eval" / "sets"
EVAL_DEV = EVAL_SETS / "eval-dev"
EXAMPLES = REPO / "core" / "adastyle" / "examples"
ARTIFACTS = REPO / "test-artifacts"


def pytest_configure(config: pytest.Config) -> None:
    ARTIFACTS.mkdir(exist_ok=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test slow (and browser) when it or a fixture it uses starts a process, a server or Chromium
    (lanes.py), so `pytest -m "not slow"` is the unit lane."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        fixtures = [d.func for defs in (info.name2fixturedefs.values() if info else ()) for d in defs]
        function = getattr(item, "function", None)
        for mark in sorted(lanes([*([function] if function else []), *fixtures])):
            item.add_marker(mark)


@pytest.fixture(scope="session")
def content_img() -> Image.Image:
    return Image.open(EXAMPLES / "content-coffee.jpg").convert("RGB").resize((256, 192))


@pytest.fixture(scope="session")
def style_img() -> Image.Image:
    return Image.open(EXAMPLES / "style-castle.jpg").convert("RGB")


@pytest.fixture(scope="session")
def style_img2() -> Image.Image:
    return Image.open(EXAMPLES / "style-goldfish.jpg").convert("RGB")


@pytest.fixture(scope="session")
def stylizer():
    from adastyle.engine import Stylizer

    return Stylizer(device="cpu")


@pytest.fixture(scope="session")
def stylizer_fp32():
    from adastyle.engine import Stylizer

    return Stylizer(device="cpu", fast=False)


@pytest.fixture
def flows_measured(monkeypatch) -> dict[str, int]:
    """{"n": optical flows measured so far} by the pixel chain and the feature chain together (both call
    `coherence.motion`): what tells a flow measured once per frame pair from one measured twice."""
    from adastyle import coherence

    calls = {"n": 0}
    measure = coherence.motion

    def counted(a, b):
        calls["n"] += 1
        return measure(a, b)

    monkeypatch.setattr(coherence, "motion", counted)
    monkeypatch.setattr("adastyle.feature_coherence.motion", counted)
    return calls


def arr(im: Image.Image) -> np.ndarray:
    return np.asarray(im, dtype=np.float64)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")

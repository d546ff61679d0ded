"""The Krita plug-in's pure logic, outside Krita: region planning, pixel order, masking, settings.

logic.py is loaded by path (the plug-in package itself imports `krita`, which only exists inside
Krita); the `adastyle_plugin` toolkit it imports is the installed package, the one Krita gets a copy of.
"""
from __future__ import annotations

import configparser
import importlib.util
import re
import sys
from pathlib import Path

import pytest

from adastyle_plugin import library
from adastyle_plugin.errors import JobCancelled, PluginError, ServerUnavailable

PLUGIN = Path(__file__).resolve().parents[1] / "plugins" / "krita"
PACKAGE = PLUGIN / "adastyle_krita"


def _load_logic():
    spec = importlib.util.spec_from_file_location("adastyle_krita_logic", PACKAGE / "logic.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


logic = _load_logic()


def _px(*pixels: tuple[int, int, int, int]) -> bytes:
    return bytes(v for p in pixels for v in p)


# ---- regions -------------------------------------------------------------------------------------------

def test_no_selection_sends_the_whole_image():
    assert logic.plan_region(640, 480, None) == (0, 0, 640, 480)


def test_small_selection_sends_its_box_plus_context():
    box = (300, 200, 340, 230)  # 40x30: margin = max(32, 70 // 8) = 32
    assert logic.plan_region(1000, 800, box) == (268, 168, 372, 262)


def test_context_is_clipped_to_the_image():
    assert logic.plan_region(1000, 800, (0, 10, 50, 40)) == (0, 0, 82, 72)


def test_large_selection_sends_the_whole_image():
    # 600x450 + margins covers more than 80 % of 640x480: cropping would save nothing
    assert logic.plan_region(640, 480, (20, 15, 620, 465)) == (0, 0, 640, 480)


def test_selection_outside_the_image_is_refused():
    with pytest.raises(logic.PluginError, match="outside"):
        logic.plan_region(100, 100, (120, 0, 150, 40))


def test_selection_bbox_is_in_image_coordinates():
    w, h = 6, 4
    mask = bytearray(w * h)
    mask[1 * w + 2] = 255
    mask[2 * w + 4] = 10  # soft pixels count
    assert logic.selection_bbox(bytes(mask), w, h, (100, 50)) == (102, 51, 105, 53)
    assert logic.selection_bbox(bytes(w * h), w, h, (0, 0)) is None


@pytest.mark.parametrize(("box", "user", "expected"), [
    ((0, 0, 2048, 1024), 1.0, 0.25),     # long side 2048 -> 512
    ((0, 0, 300, 200), 1.0, 1.0),        # already small: never upscaled
    ((0, 0, 1024, 1024), 2.0, 1.0),      # the stroke scale multiplies
    ((0, 0, 40000, 100), 1.0, 0.05),     # clamped to the server's minimum
])
def test_preview_scale(box, user, expected):
    assert logic.preview_scale(box, user) == pytest.approx(expected)


# ---- pixels --------------------------------------------------------------------------------------------

def test_bgra_rgba_conversion_swaps_red_and_blue_only():
    bgra = _px((10, 20, 30, 255), (1, 2, 3, 4))
    rgba = logic.bgra_to_rgba(bgra)
    assert rgba == _px((30, 20, 10, 255), (3, 2, 1, 4))
    assert logic.rgba_to_bgra(rgba) == bgra


def test_masked_result_keeps_soft_selection_edges():
    rgba = _px((9, 9, 9, 255), (9, 9, 9, 255), (9, 9, 9, 255))
    assert logic.masked_result(rgba, bytes([0, 128, 255])) == _px((9, 9, 9, 0), (9, 9, 9, 128), (9, 9, 9, 255))


def test_masked_result_never_makes_transparent_pixels_opaque():
    rgba = _px((9, 9, 9, 40), (9, 9, 9, 200))
    assert logic.masked_result(rgba, bytes([255, 100])) == _px((9, 9, 9, 40), (9, 9, 9, 100))
    assert logic.masked_result(rgba, None) == rgba


# ---- requests ------------------------------------------------------------------------------------------

@pytest.fixture
def style(tmp_path: Path) -> str:
    p = tmp_path / "gold fish.png"
    p.write_bytes(b"\x89PNG not really")  # existence is what the plug-in checks; the server decodes
    return str(p)


def test_build_spec_apply(style):
    spec = logic.build_spec(bytes(4 * 6), (10, 20, 13, 22), bytes(6), [style], alpha=0.5, scale=2.0)
    assert (spec.width, spec.height, spec.scale, spec.preview) == (3, 2, 2.0, False)
    assert spec.name == "gold fish (AdaIN)"
    kw = spec.request_kwargs()
    assert kw["rgba"] == (bytes(24), 3, 2) and kw["result_format"] == "rgba"
    assert "mask_gray" not in kw  # the selection is applied to the result as alpha, not sent


def test_build_spec_preview_is_reduced_and_named(style):
    spec = logic.build_spec(bytes(4 * 1024 * 2), (0, 0, 1024, 2), None, [style], preview=True)
    assert spec.name == logic.PREVIEW_NAME and spec.scale == pytest.approx(0.5)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"alpha": 1.5}, "alpha"),
    ({"preserve_color": "sepia"}, "colour preservation"),
    ({"weights": [1.0]}, "got 1 weight for 2 styles"),
    ({"weights": [0.0, 0.0]}, "not all zero"),
])
def test_build_spec_refuses_bad_parameters(style, kwargs, message):
    styles = [style, style] if "weights" in kwargs else [style]
    with pytest.raises(logic.PluginError, match=message):
        logic.build_spec(bytes(4), (0, 0, 1, 1), None, styles, **kwargs)


def test_build_spec_refuses_missing_style_and_wrong_sizes(style, tmp_path):
    with pytest.raises(logic.PluginError, match="not found"):
        logic.build_spec(bytes(4), (0, 0, 1, 1), None, [str(tmp_path / "gone.png")])
    with pytest.raises(logic.PluginError, match="add at least one style"):
        logic.build_spec(bytes(4), (0, 0, 1, 1), None, [])
    with pytest.raises(logic.PluginError, match="bytes for a 2x1"):
        logic.build_spec(bytes(4), (0, 0, 2, 1), None, [style])
    with pytest.raises(logic.PluginError, match="selection bytes"):
        logic.build_spec(bytes(8), (0, 0, 2, 1), bytes(3), [style])


def test_weights_are_normalised(style):
    assert logic.normalise_weights([1, 3], 2) == [0.25, 0.75]
    assert logic.normalise_weights([5], 1) is None  # one style: nothing to weigh


def test_color_space_check():
    assert logic.color_space_problem("RGBA", "U8") is None
    msg = logic.color_space_problem("RGBA", "U16")
    assert "RGBA/U16" in msg and "8-bit" in msg and "Convert Image Color Space" in msg
    assert logic.color_space_problem("CMYKA", "U8")


class FakeClient:
    """Echoes the content back (like alpha=0), as the real server's raw RGBA answer."""

    def __init__(self, width: int | None = None) -> None:
        self.calls: list[dict] = []
        self.width = width

    def stylize(self, content, styles, progress=None, should_cancel=None, **kw):
        self.calls.append({"content": content, "styles": list(styles), **kw})
        data, w, h = kw["rgba"]
        if progress:
            progress(1.0)
        return data, {"X-Width": str(self.width or w), "X-Height": str(h)}


def test_run_job_returns_masked_krita_pixels(style):
    rgba = _px((30, 20, 10, 255), (30, 20, 10, 255))
    spec = logic.build_spec(rgba, (5, 5, 7, 6), bytes([255, 0]), [style])
    fake = FakeClient()
    out = logic.run_job(fake, spec)
    assert out == _px((10, 20, 30, 255), (10, 20, 30, 0))  # BGRA, unselected pixel transparent
    assert fake.calls[0]["styles"] == [style] and fake.calls[0]["weights"] is None


def test_run_job_checks_the_answer_size(style):
    spec = logic.build_spec(bytes(8), (0, 0, 2, 1), None, [style])
    with pytest.raises(PluginError, match="3x1"):
        logic.run_job(FakeClient(width=3), spec)


@pytest.mark.parametrize(("exc", "start"), [
    (ServerUnavailable("cannot reach the AdaStyle server at http://x"), "Server not connected: cannot reach"),
    (PluginError("server said 422: alpha must be ...", 422), "Error: server said 422"),
    (JobCancelled("cancelled"), "Cancelled."),
    (logic.PluginError("select a paint layer"), "Cannot run: select a paint layer"),
    (ZeroDivisionError("x"), "Unexpected error: ZeroDivisionError"),
])
def test_friendly_errors_are_one_line(exc, start):
    text = logic.friendly_error(exc)
    assert text.startswith(start) and "\n" not in text


# ---- settings ------------------------------------------------------------------------------------------

def _reader(values: dict[str, str]):
    return lambda key, default: values.get(key, default)


def test_settings_defaults_and_round_trip():
    assert logic.DockerSettings.load(_reader({})) == logic.DockerSettings()
    s = logic.DockerSettings(styles=["/a/x.png", "/b/y.jpg"], weights=[0.3, 0.7], alpha=0.6, preserve_color="luminance",
                       use_selection=False, scale=1.5, server_url="http://127.0.0.1:9999")
    stored: dict[str, str] = {}
    s.save(stored.__setitem__)
    assert all(isinstance(v, str) for v in stored.values())  # Krita's writeSetting takes strings
    assert logic.DockerSettings.load(_reader(stored)) == s


def test_settings_defaults_and_spin_ranges_are_the_wire_schemas():
    from adastyle_plugin import wire

    d = logic.DockerSettings()
    assert (d.alpha, d.preserve_color, d.scale, d.stability, d.coherence, d.coherence_features) == \
        (wire.ALPHA.default, wire.PRESERVE_COLOR.default, wire.SCALE.default, wire.STABILITY.default,
         wire.COHERENCE.default, wire.COHERENCE_FEATURES.default)
    assert (logic.MIN_SCALE, logic.MAX_SCALE) == (wire.SCALE.minimum, wire.SCALE.maximum)
    assert logic.STABILITY_RANGE == (wire.STABILITY.minimum, wire.STABILITY.maximum)
    assert logic.COHERENCE_RANGE == (wire.COHERENCE.minimum, wire.COHERENCE.maximum)
    assert logic.COHERENCE_FEATURES_RANGE == (wire.COHERENCE_FEATURES.minimum, wire.COHERENCE_FEATURES.maximum)
    s = logic.DockerSettings.load(_reader({"stability": "1e9", "coherence": "-3", "coherence_features": "5"}))
    assert (s.stability, s.coherence, s.coherence_features) == \
        (wire.STABILITY.maximum, wire.COHERENCE.minimum, wire.COHERENCE_FEATURES.maximum)  # forced into range


def test_settings_survive_garbage():
    s = logic.DockerSettings.load(_reader({"styles": "{not json", "alpha": "nan", "scale": "99", "preserve_color": "x",
                                     "use_selection": "false", "weights": "[1, \"a\"]"}))
    assert s.styles == [] and s.weights == [] and s.alpha == 1.0
    assert s.scale == logic.MAX_SCALE and s.preserve_color == "none" and s.use_selection is False


def test_settings_weights_follow_the_styles():
    s = logic.DockerSettings.load(_reader({"styles": '["/a.png", "/b.png", "/c.png"]', "weights": "[2]"}))
    assert s.weights == [2.0, 1.0, 1.0]


# ---- packaging -----------------------------------------------------------------------------------------

def test_desktop_file_names_the_package():
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.optionxform = str
    cfg.read(PLUGIN / "adastyle_krita.desktop")
    entry = cfg["Desktop Entry"]
    assert entry["ServiceTypes"] == "Krita/PythonPlugin"
    assert entry["X-KDE-Library"] == "adastyle_krita" and (PACKAGE / "__init__.py").is_file()


def test_pyqt_is_imported_in_one_place_only():
    for path in PACKAGE.glob("*.py"):
        text = path.read_text()
        if path.name != "qt.py":
            assert not re.search(r"^\s*(from|import) PyQt", text, re.M), path.name
        assert not re.search(r"^\s*(from|import) adastyle\b", text, re.M) or path.name == "logic.py", path.name


# ---- the library and live mode -----------------------------------------------------------------------

@pytest.fixture
def style_files(tmp_path: Path) -> list[str]:
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    for p in paths:
        p.write_bytes(b"\x89PNG")
    return [str(p) for p in paths]


def test_library_styles_go_after_the_files_with_their_weights(style_files):
    a, b = style_files
    files, ids, weights = logic.split_styles(["lib:ink-wash", a, "lib:mosaic", b], [1.0, 2.0, 3.0, 4.0])
    assert files == [a, b] and ids == ["lib:ink-wash", "lib:mosaic"]
    assert weights == pytest.approx([0.2, 0.4, 0.1, 0.3])  # files first, as the server reads them
    assert logic.split_styles(["lib:ink-wash"], None) == ([], ["lib:ink-wash"], None)
    with pytest.raises(PluginError, match="not found"):
        logic.split_styles(["lib:x", "/no/such.png"], None)


def test_a_spec_with_library_styles_sends_them_as_style_ids(style_files):
    spec = logic.build_spec(bytes(8), (0, 0, 2, 1), None, ["lib:ink-wash", style_files[0]], weights=[3, 1])
    kwargs = spec.request_kwargs()
    assert spec.style_paths == [style_files[0]] and kwargs["style_ids"] == ["lib:ink-wash"]
    assert kwargs["weights"] == pytest.approx([0.25, 0.75])
    assert spec.name == "a + ink-wash (AdaIN)"  # not listed: by its id
    names = library.names([{"id": "ink-wash", "name": "Ink wash 2.0"}, {"id": "24b3ba3f70fb", "name": "My/photo"}])
    spec = logic.build_spec(bytes(8), (0, 0, 2, 1), None, ["lib:ink-wash", "lib:24b3ba3f70fb"], library_names=names)
    assert spec.name == "Ink wash 2.0 + My_photo (AdaIN)"  # listed: by the names the library shows
    frames = logic.build_frames_spec([bytes(8)], [0], (2, 1), ["lib:24b3ba3f70fb"], layer_name="walk",
                                     library_names=names)
    assert frames.name == "walk - My_photo (AdaIN)"


def test_a_live_preview_is_brought_to_the_chosen_size(style_files):
    box = (0, 0, 2048, 1024)
    spec = logic.build_spec(bytes(2048 * 1024 * 4), box, None, [style_files[0]], preview=True, preview_side=256)
    assert spec.scale == pytest.approx(256 / 2048)


def test_a_preset_holds_library_styles_only():
    assert logic.preset_styles(["lib:ink", "lib:oil"], [1.0, 3.0]) == [("ink", 1.0), ("oil", 3.0)]
    with pytest.raises(PluginError, match="library styles only: add castle.png"):
        logic.preset_styles(["lib:ink", "/x/castle.png"], [1.0, 1.0])
    with pytest.raises(PluginError, match="choose library styles"):
        logic.preset_styles([], [])


def test_the_live_line_says_state_then_problem_or_latency():
    assert logic.live_status("working…", None, None) == "Live: working…"
    assert logic.live_status("idle", 0.734, None) == "Live: idle · last preview 0.73 s after the stroke"
    assert logic.live_status("idle", 0.7, "server said 503: busy") == "Live: idle · server said 503: busy"


def test_favourites_and_live_size_round_trip_and_survive_garbage():
    s = logic.DockerSettings(styles=["lib:ink"], weights=[1.0], favourites=["ink", "oil"], live_side=384)
    stored: dict[str, str] = {}
    s.save(stored.__setitem__)
    assert logic.DockerSettings.load(_reader(stored)) == s
    bad = logic.DockerSettings.load(_reader({"favourites": '[1, "ink", ""]', "live_side": "99999"}))
    assert bad.favourites == ["ink"] and bad.live_side == logic.LIVE_SIDE_MAX
    assert logic.DockerSettings.load(_reader({"live_side": "x"})).live_side == 512

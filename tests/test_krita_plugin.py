"""The Krita plug-in's Krita-facing code against the small mock of Krita's API (tests/mock/krita.py).

The package is loaded without its __init__ (which registers the docker with the running Krita): layers.py
and controller.py are imported as its submodules, with the mock in place of the plug-in's Qt module.
"""
from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import pytest
from mock import krita as K

from adastyle_plugin.errors import JobCancelled, PluginError, ServerUnavailable

PACKAGE = Path(__file__).resolve().parents[1] / "plugins" / "krita" / "adastyle_krita"


def load(name: str) -> types.ModuleType:
    if "adastyle_krita" not in sys.modules or not hasattr(sys.modules["adastyle_krita"], "__mock__"):
        pkg = types.ModuleType("adastyle_krita")
        pkg.__path__ = [str(PACKAGE)]  # submodules are found here; __init__ (Krita registration) is not run
        pkg.__mock__ = True
        sys.modules["adastyle_krita"] = pkg
        sys.modules["adastyle_krita.qt"] = K.qt_module()
    return importlib.import_module(f"adastyle_krita.{name}")


layers = load("layers")
controller = load("controller")
logic = load("logic")
C = controller.Connection


@pytest.fixture
def style(tmp_path: Path) -> str:
    p = tmp_path / "castle.png"
    p.write_bytes(b"\x89PNG")
    return str(p)


def bgra(w: int, h: int, px: bytes) -> bytes:
    return px * (w * h)


# ---- reading: layer and selection -> request ------------------------------------------------------------
def test_read_spec_whole_layer_is_rgba(style) -> None:
    doc = K.Document(4, 3)
    layer = doc.add(K.Node("paint", 4, 3, bgra(4, 3, b"\x01\x02\x03\xff")))
    spec = layers.read_spec(doc, layer, [style])
    assert spec.box == (0, 0, 4, 3) and spec.mask is None
    assert spec.rgba == b"\x03\x02\x01\xff" * 12  # Krita's BGRA became RGBA
    assert spec.name == "castle (AdaIN)"


def test_read_spec_selection_sends_its_box_with_context_and_keeps_the_mask(style) -> None:
    sel = K.Selection(400, 300, (200, 100, 220, 120))
    doc = K.Document(400, 300, sel)
    layer = doc.add(K.Node("paint", 400, 300))
    spec = layers.read_spec(doc, layer, [style])
    assert spec.box == (168, 68, 252, 152)  # the selection plus 32 px of context
    assert spec.mask is not None and len(spec.mask) == spec.width * spec.height and max(spec.mask) == 255
    assert spec.request_kwargs().keys().isdisjoint({"mask", "mask_gray"})  # the one strategy: never sent


@pytest.mark.parametrize(("node", "message"), [
    (None, "no active layer"),
    (K.Node("group", 4, 3, kind="grouplayer"), "select a paint layer"),
    (K.Node("deep", 4, 3, depth="U16"), "8-bit RGBA"),
    (K.Node(logic.PREVIEW_NAME, 4, 3), "preview layer"),
])
def test_unusable_layers_are_refused(style, node, message) -> None:
    with pytest.raises(PluginError, match=message):
        layers.read_spec(K.Document(4, 3), node, [style])


def test_an_empty_or_outside_selection_is_refused(style) -> None:
    doc = K.Document(10, 10, K.Selection(10, 10, (2, 2, 5, 5), value=0))
    with pytest.raises(PluginError, match="selection is empty"):
        layers.read_spec(doc, doc.add(K.Node("p", 10, 10)), [style])
    outside = K.Selection(10, 10, (0, 0, 1, 1))
    outside.box = (20, 20, 30, 30)
    doc = K.Document(10, 10, outside)
    with pytest.raises(PluginError, match="outside the image"):
        layers.read_spec(doc, doc.add(K.Node("p", 10, 10)), [style])


# ---- writing: result -> new layer, source untouched --------------------------------------------------------
def test_apply_writes_a_new_layer_above_the_source_and_never_the_source(style) -> None:
    doc = K.Document(4, 3)
    below = doc.add(K.Node("below", 4, 3))
    source = doc.add(K.Node("source", 4, 3, bgra(4, 3, b"\x09\x09\x09\xff")))
    top = doc.add(K.Node("top", 4, 3))
    spec = layers.read_spec(doc, source, [style])
    layer = layers.write_result(doc, source, spec, bgra(4, 3, b"\x05\x06\x07\xff"))
    assert [n.name() for n in doc.root.children] == ["below", "source", "castle (AdaIN)", "top"]
    assert bytes(layer.data) == bgra(4, 3, b"\x05\x06\x07\xff") and not layer.locked
    assert source.writes == 0 and bytes(source.data) == bgra(4, 3, b"\x09\x09\x09\xff")
    assert below.writes == top.writes == 0 and doc.refreshed == 1


def test_a_preview_replaces_the_last_one_on_top_locked_and_gives_the_focus_back(style) -> None:
    doc = K.Document(4, 3)
    source = doc.add(K.Node("source", 4, 3))
    doc.add(K.Node("top", 4, 3))
    spec = layers.read_spec(doc, source, [style], preview=True)
    for _ in range(2):
        layers.write_result(doc, source, spec, bytes(4 * 12))
    names = [n.name() for n in doc.root.children]
    assert names == ["source", "top", logic.PREVIEW_NAME]
    assert doc.root.children[-1].locked and doc.active is source


def test_live_mode_updates_the_one_preview_layer_in_place(style) -> None:
    """Live previews replace the pixels of the existing preview layer (same layer, still locked, on top); the
    source is only read; the first live preview makes the layer as Preview does."""
    doc = K.Document(4, 3)
    source = doc.add(K.Node("source", 4, 3, bgra(4, 3, b"\x09\x09\x09\xff")))
    spec = layers.read_spec(doc, source, [style], preview=True, preview_side=2)
    first = layers.update_preview(doc, source, spec, bgra(4, 3, b"\x01\x02\x03\xff"))
    second = layers.update_preview(doc, source, spec, bgra(4, 3, b"\x07\x07\x07\xff"))
    assert second is first and first.locked and doc.root.children[-1] is first
    assert [n.name() for n in doc.root.children].count(logic.PREVIEW_NAME) == 1
    assert bytes(first.data) == bgra(4, 3, b"\x07\x07\x07\xff")
    assert source.writes == 0 and spec.scale == pytest.approx(0.5)


def test_the_new_layer_takes_the_sources_colour_space(style) -> None:
    doc = K.Document(2, 1)
    source = doc.add(K.Node("source", 2, 1))
    source.profile = "AdobeRGB"
    layer = layers.write_result(doc, source, layers.read_spec(doc, source, [style]), bytes(8))
    assert layer.colorProfile() == "AdobeRGB"


# ---- the controller: connection and job state ---------------------------------------------------------
def test_connection_states_and_their_one_line() -> None:
    c = controller.Controller()
    assert c.connection is C.UNKNOWN and c.connected is None and c.should_poll(visible=False)
    assert c.health_answered("http://a", "http://a", {"device": "cpu"}, None)
    assert c.connection is C.CONNECTED and c.connected is True
    assert c.connection_line() == "Server connected: http://a (cpu)" and not c.start_button_visible()
    assert not c.should_poll(visible=False) and c.should_poll(visible=True)
    assert c.health_answered("http://a", "http://a", None, ServerUnavailable("cannot reach"))
    assert c.connection is C.NOT_RUNNING and c.connected is False and c.connection_is_error()
    assert c.connection_line() == "Server not running at http://a" and c.start_button_visible()
    assert c.health_answered("http://a", "http://a", None, PluginError("server said 500: boom", 500))
    assert c.connection is C.FAILING and c.connection_line() == "Error: server said 500: boom"


def test_an_answer_for_an_old_address_is_ignored() -> None:
    c = controller.Controller()
    assert not c.health_answered("http://old", "http://new", {}, None)
    assert c.connection is C.UNKNOWN


def test_starting_the_server() -> None:
    c = controller.Controller()
    c.health_answered("http://a", "http://a", None, ServerUnavailable("x"))
    assert c.start_requested() and c.connection is C.STARTING and not c.start_requested()  # one at a time
    assert c.connection_line() == "Starting the AdaStyle server…" and not c.start_button_visible()
    assert not c.should_poll(visible=True)
    assert not c.health_answered("http://a", "http://a", None, ServerUnavailable("x"))  # the start decides
    assert c.start_succeeded("http://a", {"device": "cuda"}) == "Server started."
    assert c.connection_line() == "Server connected: http://a (cuda)"
    c.start_requested()
    assert c.start_failed("http://a", ServerUnavailable("command exited with status 3")).startswith(
        "Server not connected: command exited")
    assert c.connection is C.NOT_RUNNING and c.start_button_visible()


def test_a_job_from_start_to_end(style) -> None:
    now = [100.0]
    c = controller.Controller(clock=lambda: now[0])
    spec = logic.build_spec(bytes(4 * 6), (0, 0, 3, 2), None, [style])
    assert c.cancel_requested() is None and not c.busy
    assert c.job_started(spec, ("doc", "node")) == "Stylising 3x2 px (full resolution)…" and c.busy
    assert c.target == ("doc", "node") and c.spec is spec
    now[0] = 102.5
    assert c.job_done("http://a", "castle (AdaIN)", spec) == "Applied in 2.5 s: new layer 'castle (AdaIN)'."
    assert c.connection is C.CONNECTED  # a job that got through proves the server is up
    c.job_finished()
    assert not c.busy and c.spec is None and c.target is None


def test_a_preview_is_reported_as_one_even_when_the_job_end_came_first(style) -> None:
    """Writing the layer lets Krita run queued events: the job's end may clear the state before the message."""
    c = controller.Controller(clock=lambda: 5.0)
    spec = logic.build_spec(bytes(4), (0, 0, 1, 1), None, [style], preview=True)
    c.job_started(spec, None)
    c.job_finished()
    assert c.job_done("http://a", logic.PREVIEW_NAME, spec) == "Preview ready in 0.0 s (reduced resolution)."


def test_cancel_and_failures(style) -> None:
    c = controller.Controller()
    c.job_started(logic.build_spec(bytes(4), (0, 0, 1, 1), None, [style], preview=True), None)
    assert c.cancel_requested() == "Cancelling…" and c.job is controller.JobState.CANCELLING
    assert c.job_failed("http://a", JobCancelled("cancelled")) == ("Cancelled.", False)
    message, is_error = c.job_failed("http://a", ServerUnavailable("cannot reach the AdaStyle server at http://a"))
    assert is_error and message.startswith("Server not connected") and c.connection is C.NOT_RUNNING


# ---- Apply to all frames: every keyframe of an animated layer ----------------------------------------------
def animated_doc(times=(0, 2, 5)) -> tuple:
    doc = K.Document(2, 1)
    below = doc.add(K.Node("below", 2, 1))
    source = doc.add(K.Node("walk", 2, 1).animate({t: bgra(2, 1, bytes([t, 0, 0, 255])) for t in times},
                                                 doc.currentTime))
    doc.add(K.Node("top", 2, 1))
    return doc, below, source


def test_read_frames_spec_reads_every_keyframe_whole_in_time_order(style) -> None:
    doc, _, source = animated_doc()
    doc.setCurrentTime(3)
    spec = layers.read_frames_spec(doc, source, [style], stability=3.0)
    assert spec.times == [0, 2, 5] and spec.size == (2, 1) and spec.stability == 3.0
    assert spec.frames == [bytes([0, 0, t, 255]) * 2 for t in (0, 2, 5)]  # BGRA became RGBA, per keyframe
    assert spec.name == "walk - castle (AdaIN)"
    assert spec.request_kwargs()["size"] == (2, 1) and spec.request_kwargs()["result_format"] == "rgba"
    assert doc.time == 3, "reading must not move the document's time"


def test_frames_of_a_still_layer_or_a_bad_stability_are_refused(style) -> None:
    doc = K.Document(2, 1)
    still = doc.add(K.Node("still", 2, 1))
    with pytest.raises(PluginError, match="'still' is not animated"):
        layers.read_frames_spec(doc, still, [style])
    doc, _, source = animated_doc()
    with pytest.raises(PluginError, match="stability must be between 0"):
        layers.read_frames_spec(doc, source, [style], stability=-1.0)
    with pytest.raises(PluginError, match="coherence must be between 0"):
        layers.read_frames_spec(doc, source, [style], coherence=1.5)
    with pytest.raises(PluginError, match=r"coherence_features \(feature coherence\) must be between 0 \(off\)"):
        layers.read_frames_spec(doc, source, [style], coherence_features=-0.5)


def test_write_frames_makes_an_animated_layer_with_the_same_keyframe_times(style) -> None:
    doc, below, source = animated_doc()
    before = {t: bytes(px) for t, px in source.keys.items()}
    doc.setCurrentTime(4)
    spec = layers.read_frames_spec(doc, source, [style])
    styled = [bgra(2, 1, bytes([9, 9, t, 255])) for t in spec.times]
    layer = layers.write_frames(doc, source, spec, styled)
    assert [n.name() for n in doc.root.children] == ["below", "walk", "walk - castle (AdaIN)", "top"]
    assert layer.animated() and sorted(layer.keys) == [0, 2, 5]
    assert {t: bytes(px) for t, px in layer.keys.items()} == dict(zip(spec.times, styled))
    assert {t: bytes(px) for t, px in source.keys.items()} == before and source.writes == 0
    assert below.writes == 0 and doc.time == 4, "the document's time is set back"
    with pytest.raises(PluginError, match="2 stylised frames for 3 keyframes"):
        layers.write_frames(doc, source, spec, styled[:2])


def test_run_frames_job_sends_one_sequence_and_gives_krita_pixels(style) -> None:
    doc, _, source = animated_doc((0, 1))
    spec = layers.read_frames_spec(doc, source, [style], coherence=0.4, coherence_features=0.6)

    class Api:
        def stylize_sequence(self, frames, styles, **kw):
            self.sent = (frames, styles, kw)
            return [(bytes([1, 2, 3, 255]) * 2, {"x-width": "2", "x-height": "1"})] * len(frames)

    api = Api()
    assert logic.run_frames_job(api, spec) == [bytes([3, 2, 1, 255]) * 2] * 2  # RGBA back to BGRA
    assert api.sent[0] == spec.frames and api.sent[1] == [style] and api.sent[2]["stability"] == 2.0
    assert api.sent[2]["coherence"] == 0.4 and api.sent[2]["coherence_features"] == 0.6
    api.stylize_sequence = lambda frames, styles, **kw: [(bytes(4 * 2), {"x-width": "2", "x-height": "1"})]
    with pytest.raises(PluginError, match="1 frames for 2"):
        logic.run_frames_job(api, spec)


def test_a_frames_job_is_reported_as_keyframes(style) -> None:
    now = [10.0]
    c = controller.Controller(clock=lambda: now[0])
    doc, _, source = animated_doc()
    spec = layers.read_frames_spec(doc, source, [style])
    assert c.job_started(spec, (doc, source)) == "Stylising 3 keyframes of 2x1 px…"
    now[0] = 14.0
    assert c.job_done("http://a", spec.name, spec) == \
        "Applied to 3 keyframes in 4.0 s: new animated layer 'walk - castle (AdaIN)'."


def test_the_stability_setting_round_trips() -> None:
    stored = logic.DockerSettings(stability=3.5).dump()
    assert logic.DockerSettings.load(lambda key, default: stored.get(key, default)).stability == 3.5
    assert logic.DockerSettings.load(lambda key, default: {"stability": "900"}.get(key, default)).stability == 100.0
    assert logic.DockerSettings.load(lambda key, default: default).stability == 2.0
    stored = logic.DockerSettings(coherence=0.3).dump()
    assert logic.DockerSettings.load(lambda key, default: stored.get(key, default)).coherence == 0.3
    assert logic.DockerSettings.load(lambda key, default: {"coherence": "7"}.get(key, default)).coherence == 1.0
    stored = logic.DockerSettings(coherence_features=0.0).dump()
    assert logic.DockerSettings.load(lambda key, default: stored.get(key, default)).coherence_features == 0.0
    assert logic.DockerSettings.load(lambda key, default: default).coherence_features == 0.9

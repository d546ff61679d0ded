"""The GIMP plug-in outside GIMP: its rules (gimp_rules.py, no gi) and its GIMP-facing code against the
small mock of gi (tests/mock/gi.py). The real-app test (tests/realapp/test_gimp.py) stays the proof in GIMP.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from mock import gi as G

from adastyle_plugin.errors import JobCancelled, PluginError, ServerUnavailable
from adastyle_plugin.selection import plan_region as shared_plan_region

FOLDER = Path(__file__).resolve().parents[1] / "plugins" / "gimp" / "adastyle_gimp"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


sys.path.insert(0, str(FOLDER))
try:
    rules = _load("gimp_rules", FOLDER / "gimp_rules.py")
    G.install()
    plugin = _load("adastyle_gimp", FOLDER / "adastyle_gimp.py")
finally:
    while str(FOLDER) in sys.path:
        sys.path.remove(str(FOLDER))
Gimp = G.PDBStatusType


@pytest.fixture
def styles(tmp_path: Path) -> list[str]:
    paths = []
    for name in ("castle.png", "swamp.jpg"):
        (tmp_path / name).write_bytes(b"\x89PNG")
        paths.append(str(tmp_path / name))
    return paths


def config(**values):
    base = {"style-path": "", "style-layer": None, "weights": "", "alpha": 1.0, "preserve-color": "none",
            "use-selection": True, "scale": 1.0, "server-url": "", "stability": 2.0,
            "coherence": 0.8, "coherence-features": 0.7, "library": ""}
    base.update({k.replace("_", "-"): v for k, v in values.items()})
    return base.__getitem__


# ---- rules (no gi) --------------------------------------------------------------------------------------
def test_read_params(styles) -> None:
    p = rules.read_params(config(style_path=os.pathsep.join(styles), weights="1,3", preserve_color=" Histogram ",
                                 alpha=0.5, server_url=" http://x "))
    assert p.styles == styles and p.weights == [0.25, 0.75] and p.preserve_color == "histogram"
    assert (p.alpha, p.scale, p.server_url, p.use_selection) == (0.5, 1.0, "http://x", True)
    assert p.style_names == styles
    one = rules.read_params(config(style_path=styles[0], weights="0.3,0.7"))
    assert one.weights is None  # one style: nothing to weigh


@pytest.mark.parametrize(("values", "message"), [
    ({}, "Choose at least one style image"),
    ({"style_path": "/no/such/style.png"}, "Style image not found: /no/such/style.png"),
    ({"style_path": "STYLES", "preserve_color": "sepia"}, "colour preservation"),
    ({"style_path": "STYLES", "weights": "1"}, "Weights: got 1 weight for 2 styles; give one weight per style."),
    ({"style_path": "STYLES", "weights": "a,b"}, "comma-separated"),
    ({"style_path": "STYLES", "scale": 9.0}, "Scale must be between 0.05 and 4"),
])
def test_bad_arguments_are_calling_errors(styles, values, message) -> None:
    if values.get("style_path") == "STYLES":
        values = {**values, "style_path": os.pathsep.join(styles)}
    with pytest.raises(PluginError, match=message) as caught:
        rules.read_params(config(**values))
    assert caught.value.code == rules.CALLING_ERROR and caught.value.message.endswith(".")
    assert rules.status_of(caught.value) == rules.STATUS_CALLING


def test_a_style_layer_counts_as_one_more_style(styles) -> None:
    layer = G.Layer("my.layer/v2", 4, 4)
    p = rules.read_params(config(style_layer=layer, weights="1,1", style_path=styles[0]))
    assert p.weights == [0.5, 0.5] and p.style_names == [styles[0], "my.layer_v2.png"]
    assert rules.layer_name(p.style_names, "luminance") == "castle + my.layer_v2 (AdaIN) luminance"
    assert rules.read_params(config(style_layer=layer)).styles == []  # files may be left out


def test_server_errors_and_their_status() -> None:
    assert rules.status_of(rules.from_server(JobCancelled("cancelled"))) == rules.STATUS_CANCEL
    down = rules.from_server(ServerUnavailable("cannot reach"))
    assert down.message == "AdaStyle server unavailable: cannot reach" and rules.status_of(down) == "EXECUTION_ERROR"
    assert rules.from_server(PluginError("server said 422: alpha", 422)).message == "AdaStyle: server said 422: alpha"
    hint = rules.unavailable(ServerUnavailable("the command exited with status 3."))
    assert hint.message.startswith("AdaStyle server unavailable: the command exited with status 3. Start it with")


# ---- the GIMP-facing code, against the mock ------------------------------------------------------------
def test_the_selection_box_and_mask_are_read_in_layer_coordinates() -> None:
    image = G.Image(400, 300)
    layer = image.add(G.Layer("photo", 300, 200, offsets=(50, 40)))
    image.select((150, 120, 170, 140))
    region = plugin.plan_region(image, layer, use_selection=True)
    sel = (100, 80, 120, 100)  # the selection in layer coordinates
    assert region.box == shared_plan_region(300, 200, sel)  # the shared rule, not a copy of it
    assert len(region.mask) == region.width * region.height and region.mask.count(255) == 20 * 20
    assert image.selection.reads[-1][:2] == (50 + region.box[0], 40 + region.box[1])
    assert plugin.plan_region(image, layer, use_selection=False) == rules.Region((0, 0, 300, 200), None)


def test_a_selection_beside_the_layer_is_a_calling_error() -> None:
    image = G.Image(400, 300)
    layer = image.add(G.Layer("photo", 100, 100))
    image.select((200, 200, 250, 250))
    with pytest.raises(PluginError, match="does not overlap") as caught:
        plugin.plan_region(image, layer, use_selection=True)
    assert caught.value.code == rules.CALLING_ERROR


def test_the_result_is_a_new_masked_layer_directly_above_in_one_undo_group() -> None:
    image = G.Image(40, 30)
    top = image.add(G.Layer("top", 40, 30))
    source = image.add(G.Layer("source", 40, 30, offsets=(3, 4), data=b"\x07" * 40 * 30 * 4))
    region = rules.Region((10, 5, 12, 6), b"\xff\x80")
    layer = plugin.add_result_layer(image, source, region, b"\x01\x02\x03\xff" * 2, "castle (AdaIN)")
    assert [x.name for x in image.layers] == ["top", "castle (AdaIN)", "source"]
    assert layer.offsets == (13, 9) and bytes(layer.buffer.data) == b"\x01\x02\x03\xff" * 2
    assert layer.mask_type == "SELECTION" and image.undo_groups == 1 and image.undo_depth == 0
    assert bytes(source.buffer.data) == b"\x07" * 40 * 30 * 4 and top.buffer.reads == []


def test_a_failed_write_leaves_no_layer_and_closes_the_undo_group() -> None:
    image = G.Image(4, 4)
    source = image.add(G.Layer("source", 4, 4))
    with pytest.raises(ValueError, match="5 bytes"):
        plugin.add_result_layer(image, source, rules.Region((0, 0, 2, 2), None), b"short", "x")
    assert [x.name for x in image.layers] == ["source"] and image.undo_depth == 0


class FakeConnection:
    def __init__(self, answer: bytes, size: tuple[int, int] | None = None, error: Exception | None = None) -> None:
        self.answer, self.size, self.error, self.calls = answer, size, error, []

    def stylize(self, **kw):
        self.calls.append(kw)
        if self.error:
            raise self.error
        w, h = self.size or kw["rgba"][1:]
        return self.answer, {"x-width": str(w), "x-height": str(h)}


class FakeLibraryConnection(FakeConnection):
    def __init__(self, answer: bytes, library_error: Exception | None = None) -> None:
        super().__init__(answer)
        self.library_error = library_error

    def library(self):
        if self.library_error:
            raise self.library_error
        return ENTRIES


def test_stylize_sends_library_styles_and_says_whose_mistake_a_failure_is() -> None:
    """A known name goes as style_id; an unknown one is a bad argument (CALLING_ERROR), a server that cannot
    list its library an execution error, and nothing is stylised in either case."""
    region = rules.Region((0, 0, 2, 1), None)
    conn = FakeLibraryConnection(b"\x01" * 8)
    plugin.stylize(conn, rules.read_params(config(library="night")), [], b"\x00" * 8, region, None)
    sent = conn.calls[0]
    assert sent["style_ids"] == ["lib:ink-wash", "lib:mosaic"] and sent["alpha"] == 0.6 and sent["scale"] == 0.5
    unknown = FakeLibraryConnection(b"")
    with pytest.raises(PluginError) as caught:
        plugin.stylize(unknown, rules.read_params(config(library="nope")), [], b"", region, None)
    assert rules.status_of(caught.value) == "CALLING_ERROR" and unknown.calls == []
    down = FakeLibraryConnection(b"", ServerUnavailable("cannot reach the AdaStyle server at http://x"))
    with pytest.raises(PluginError, match="AdaStyle server unavailable") as caught:
        plugin.stylize(down, rules.read_params(config(library="night")), [], b"", region, None)
    assert rules.status_of(caught.value) == "EXECUTION_ERROR"


def params(styles) -> rules.Params:
    return rules.read_params(config(style_path=styles[0]))


def test_stylize_sends_the_box_without_the_selection_and_checks_the_answer(styles) -> None:
    region = rules.Region((0, 0, 2, 1), b"\xff\x00")
    conn = FakeConnection(b"\x01" * 8)
    assert plugin.stylize(conn, params(styles), styles[:1], b"\x00" * 8, region, None) == b"\x01" * 8
    assert "mask_gray" not in conn.calls[0] and "mask" not in conn.calls[0]  # the one selection strategy
    assert conn.calls[0]["result_format"] == "rgba" and conn.calls[0]["rgba"] == (b"\x00" * 8, 2, 1)
    with pytest.raises(PluginError, match="answered a 3x1 image") as caught:
        plugin.stylize(FakeConnection(b"\x01" * 12, (3, 1)), params(styles), styles[:1], b"\x00" * 8, region, None)
    assert rules.status_of(caught.value) == "EXECUTION_ERROR"
    with pytest.raises(JobCancelled) as cancelled:
        plugin.stylize(FakeConnection(b"", error=JobCancelled("cancelled")), params(styles), styles[:1], b"", region,
                       None)
    assert rules.status_of(cancelled.value) == rules.STATUS_CANCEL


class FakeProcedure:
    def new_return_values(self, status, error):
        return status, error.message


class FakeConfig:
    def __init__(self, **values) -> None:
        self.get_property = config(**values)


def test_run_turns_every_failure_into_a_status_and_leaves_the_image_alone(styles, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ADASTYLE_HOME", str(tmp_path / "home"))
    image = G.Image(8, 8)
    layer = image.add(G.Layer("source", 8, 8))
    run = plugin.run
    status, message = run(FakeProcedure(), "NONINTERACTIVE", image, [layer, layer], FakeConfig(), None)
    assert status is Gimp.CALLING_ERROR and "exactly one layer" in message
    status, message = run(FakeProcedure(), "NONINTERACTIVE", image, [layer], FakeConfig(style_path="/gone.png"), None)
    assert status is Gimp.CALLING_ERROR and message == "Style image not found: /gone.png."
    from server_fixture import free_port

    down = FakeConfig(style_path=styles[0], server_url=f"http://127.0.0.1:{free_port()}")
    status, message = run(FakeProcedure(), "NONINTERACTIVE", image, [layer], down, None)
    assert status is Gimp.EXECUTION_ERROR and "adastyle serve --background" in message, message
    assert [x.name for x in image.layers] == ["source"] and layer.buffer.reads == []


# ---- "Stylise all layers": layers as the frames of an animation -----------------------------------------
def layers_config(**values):
    """The layers procedure's config: it has no use-selection (asking for it would be a bug)."""
    get = config(**values)

    def read(name: str):
        assert name != "use-selection", "the layers procedure has no use-selection argument"
        return get(name)
    return read


def test_layers_params_have_a_checked_stability_and_no_selection(styles) -> None:
    p = rules.read_layers_params(layers_config(style_path=styles[0], stability=3.5))
    assert p.stability == 3.5 and p.use_selection is False and p.styles == styles[:1]
    assert rules.read_layers_params(layers_config(style_path=styles[0], stability=0.0)).stability == 0.0
    with pytest.raises(PluginError, match="Stability must be between 0") as caught:
        rules.read_layers_params(layers_config(style_path=styles[0], stability=101.0))
    assert rules.status_of(caught.value) == rules.STATUS_CALLING
    assert rules.read_layers_params(layers_config(style_path=styles[0], coherence=0.3)).coherence == 0.3
    with pytest.raises(PluginError, match="Coherence must be between 0"):
        rules.read_layers_params(layers_config(style_path=styles[0], coherence=1.5))
    assert rules.read_layers_params(layers_config(style_path=styles[0], coherence_features=0.0)).coherence_features == 0.0
    with pytest.raises(PluginError, match=r"Coherence_features \(feature coherence\) must be between 0 \(off\) and 1"):
        rules.read_layers_params(layers_config(style_path=styles[0], coherence_features=1.5))


def test_frames_are_the_top_level_layers_bottom_first_without_the_style_layer() -> None:
    a, b, c = (G.Layer(n, 2, 2) for n in "abc")  # GIMP order: a on top, c at the bottom (the first frame)
    assert rules.frame_layers([a, b, c]) == [c, b, a]
    assert rules.frame_layers([a, b, c], style_layer=b) == [c, a]
    assert rules.frame_layers([a, b], style_layer=G.Layer("other image's", 2, 2)) == [b, a]
    with pytest.raises(PluginError, match="no layers to stylise") as caught:
        rules.frame_layers([a], style_layer=a)
    assert caught.value.code == rules.CALLING_ERROR
    name = rules.frame_layer_name("Frame 2 (100ms)", ["/s/castle.png"], "histogram")
    assert name == "Frame 2 (100ms) - castle (AdaIN) histogram"  # the timing tag still leads the name


def test_a_frame_is_the_layer_over_the_whole_canvas() -> None:
    image = G.Image(4, 3)
    layer = image.add(G.Layer("small", 2, 1, offsets=(1, 2), data=b"\x09" * 8))
    frame = plugin.read_frame(image, layer)
    assert len(frame) == 4 * 3 * 4
    px = [frame[i:i + 4] for i in range(0, len(frame), 4)]
    assert px[2 * 4 + 1] == px[2 * 4 + 2] == b"\x09" * 4  # the layer's pixels at its offsets
    assert px.count(bytes(4)) == 12 - 2  # transparent where the layer does not reach


def test_frame_layers_go_on_top_in_frame_order_in_one_undo_group() -> None:
    image = G.Image(2, 1)
    originals = [image.add(G.Layer(n, 2, 1, data=bytes([i]) * 8)) for i, n in enumerate(("f3", "f2", "f1"))]
    made = plugin.add_frame_layers(image, ["f1 - s", "f2 - s", "f3 - s"], [b"\x01" * 8, b"\x02" * 8, b"\x03" * 8])
    assert [x.name for x in image.layers] == ["f3 - s", "f2 - s", "f1 - s", "f3", "f2", "f1"]
    assert [bytes(x.buffer.data) for x in made] == [b"\x01" * 8, b"\x02" * 8, b"\x03" * 8]
    assert image.undo_groups == 1 and image.undo_depth == 0
    assert [bytes(x.buffer.data) for x in originals] == [bytes([i]) * 8 for i in range(3)]
    with pytest.raises(ValueError):  # the second frame fails: the first one is taken away again
        plugin.add_frame_layers(image, ["x1", "x2"], [b"\x01" * 8, b"short"])
    assert [x.name for x in image.layers] == ["f3 - s", "f2 - s", "f1 - s", "f3", "f2", "f1"]
    assert image.undo_depth == 0


class FakeSequenceConnection:
    def __init__(self, answers: list[tuple[bytes, dict]]) -> None:
        self.answers, self.calls = answers, []

    def stylize_sequence(self, frames, styles, **kw):
        self.calls.append((frames, styles, kw))
        return self.answers


def test_stylize_frames_sends_one_sequence_and_checks_every_answer(styles) -> None:
    p = rules.read_layers_params(layers_config(style_path=styles[0], stability=4.0, coherence=0.5))
    ok = {"x-width": "2", "x-height": "1"}
    conn = FakeSequenceConnection([(b"\x01" * 8, ok), (b"\x02" * 8, ok)])
    assert plugin.stylize_frames(conn, p, styles[:1], [b"a" * 8, b"b" * 8], (2, 1), None) == [b"\x01" * 8, b"\x02" * 8]
    frames, sent_styles, kw = conn.calls[0]
    assert frames == [b"a" * 8, b"b" * 8] and kw["size"] == (2, 1) and kw["stability"] == 4.0
    assert kw["coherence"] == 0.5 and kw["coherence_features"] == 0.7
    assert kw["result_format"] == "rgba"
    bad = FakeSequenceConnection([(b"\x01" * 8, ok), (b"\x02" * 12, {"x-width": "3", "x-height": "1"})])
    with pytest.raises(PluginError, match="3x1"):
        plugin.stylize_frames(bad, p, styles[:1], [b"a" * 8, b"b" * 8], (2, 1), None)


def test_run_layers_turns_failures_into_a_status_and_leaves_the_image_alone(styles, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ADASTYLE_HOME", str(tmp_path / "home"))
    image = G.Image(8, 8)
    layer = image.add(G.Layer("frame", 8, 8))

    class Config:
        def __init__(self, **values) -> None:
            self.get_property = layers_config(**values)

    status, message = plugin.run_layers(FakeProcedure(), "NONINTERACTIVE", image, [], Config(stability=-1.0), None)
    assert status is Gimp.CALLING_ERROR and "style image" in message
    from server_fixture import free_port

    down = Config(style_path=styles[0], server_url=f"http://127.0.0.1:{free_port()}")
    status, message = plugin.run_layers(FakeProcedure(), "NONINTERACTIVE", image, [], down, None)
    assert status is Gimp.EXECUTION_ERROR and "adastyle serve --background" in message, message
    assert [x.name for x in image.layers] == ["frame"] and layer.buffer.reads == []


# ---- the library ---------------------------------------------------------------------------------------
ENTRIES = [{"id": "ink-wash", "kind": "style", "name": "Ink wash", "tags": ["ink"]},
           {"id": "mosaic", "kind": "style", "name": "Mosaic", "tags": ["glass"]},
           {"id": "night", "kind": "preset", "name": "Night, blue", "styles": [{"id": "ink-wash", "weight": 0.25},
                                                                          {"id": "mosaic", "weight": 0.75}],
            "alpha": 0.6, "preserve_color": "luminance", "scale": 0.5}]


def test_library_styles_alone_need_no_file_and_count_in_the_weights(styles) -> None:
    p = rules.read_params(config(library=" Ink wash , mosaic "))
    assert p.library == ["Ink wash", "mosaic"] and p.styles == [] and p.weights is None
    assert rules.layer_name(p.style_names, "none") == "Ink wash + mosaic (AdaIN)"  # as given, before the listing
    assert rules.library_request(ENTRIES, p) == (["lib:ink-wash", "lib:mosaic"], None, {})
    assert rules.layer_name(p.style_names, "none") == "Ink wash + Mosaic (AdaIN)"  # the entries' own names
    p = rules.read_params(config(library="mosaic,night"))  # ids, as the dialog's panel writes them
    rules.library_request(ENTRIES, p)
    assert rules.layer_name(p.style_names, "none") == "Mosaic + Night, blue (AdaIN)"
    p = rules.read_params(config(style_path=styles[0], library="mosaic", weights="1,3"))
    ids, weights, settings = rules.library_request(ENTRIES, p)
    assert ids == ["lib:mosaic"] and weights == pytest.approx([0.25, 0.75]) and settings == {}
    with pytest.raises(PluginError, match="2 weights for 3 styles"):
        rules.read_params(config(style_path=styles[0], library="mosaic,ink-wash", weights="1,3"))


def test_a_preset_alone_brings_its_styles_weights_and_settings() -> None:
    p = rules.read_params(config(library="night"))
    ids, weights, settings = rules.library_request(ENTRIES, p)
    assert ids == ["lib:ink-wash", "lib:mosaic"] and weights == pytest.approx([0.25, 0.75])
    assert settings == {"alpha": 0.6, "preserve_color": "luminance", "scale": 0.5}


def test_an_unknown_library_name_is_a_calling_error() -> None:
    p = rules.read_params(config(library="no such style"))
    with pytest.raises(PluginError, match="No library style or preset named") as info:
        rules.library_request(ENTRIES, p)
    assert rules.status_of(info.value) == "CALLING_ERROR"


class RecordingProcedure:
    """Records the procedure's arguments as add_arguments declares them."""

    def __init__(self) -> None:
        self.doubles: dict[str, tuple[float, float, float]] = {}
        self.strings: dict[str, str] = {}
        self.order: list[str] = []

    def add_double_argument(self, name, nick, blurb, minimum, maximum, default, flags) -> None:
        self.doubles[name] = (minimum, maximum, default)
        self.order.append(name)

    def add_string_argument(self, name, nick, blurb, default, flags) -> None:
        self.strings[name] = default
        self.order.append(name)

    def __getattr__(self, name):  # the other kinds of argument
        return lambda *args: self.order.append(args[0])


@pytest.mark.parametrize("frames", [False, True])
def test_the_procedures_numbers_take_the_wire_schemas_ranges_and_defaults(frames: bool) -> None:
    from adastyle_plugin import wire

    procedure = RecordingProcedure()
    plugin.add_arguments(procedure, frames=frames)
    fields = [wire.ALPHA, wire.SCALE] + ([wire.STABILITY, wire.COHERENCE, wire.COHERENCE_FEATURES] if frames else [])
    assert procedure.doubles == {f.name.replace("_", "-"): (f.minimum, f.maximum, f.default) for f in fields}
    if frames:  # added last: positional calls written for the older argument list keep working
        assert procedure.order[-2:] == ["library", "coherence-features"]
    assert procedure.strings["preserve-color"] == wire.PRESERVE_COLOR.default

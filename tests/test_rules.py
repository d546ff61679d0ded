"""The plug-in toolkit's rules, called directly: the check_* functions, weights_to_send and the forms
http.job_fields and http.sequence_fields build (what GIMP and Krita send)."""
from __future__ import annotations

import math
import re

import pytest

from adastyle_plugin import http, rules, wire
from adastyle_plugin.errors import RuleError

NUMBER_CHECKS = [(rules.check_alpha, wire.ALPHA), (rules.check_scale, wire.SCALE),
                 (rules.check_stability, wire.STABILITY), (rules.check_coherence, wire.COHERENCE),
                 (rules.check_coherence_features, wire.COHERENCE_FEATURES)]


@pytest.mark.parametrize("check, field", NUMBER_CHECKS, ids=[f.name for _, f in NUMBER_CHECKS])
def test_a_number_check_takes_its_range_and_nothing_else(check, field: wire.Field) -> None:
    for ok in (field.minimum, field.maximum, field.default, int(field.maximum)):
        assert check(ok) == float(ok) and type(check(ok)) is float
    for bad in (field.minimum - 1e-9, field.maximum + 1e-9, math.nan, math.inf, True, "0.5", None):
        with pytest.raises(RuleError, match=f"^{re.escape(field.named)} must be between"):
            check(bad)


def test_messages_name_the_range_and_what_zero_means() -> None:
    with pytest.raises(RuleError, match=r"^scale must be between 0\.05 and 4, got 9"):
        rules.check_scale(9)
    with pytest.raises(RuleError, match=r"^stability must be between 0 \(frame by frame\) and 100 frames, got -1"):
        rules.check_stability(-1)
    with pytest.raises(RuleError, match=r"^tile must be 0 \(automatic\) or between 128 and 8192 pixels, got 64"):
        rules.check_tile(64)
    with pytest.raises(RuleError, match=r"^style_size must be between 0 \(native\) and 4096, got 5000"):
        rules.check_style_size(5000)


def test_a_size_without_an_upper_limit_says_so() -> None:
    assert wire.WIDTH.check(4000) == 4000
    with pytest.raises(RuleError, match=r"^width must be at least 0, got -1"):
        wire.WIDTH.check(-1)


def test_tile_and_style_size_are_whole_numbers_with_0_for_automatic_and_native() -> None:
    assert rules.check_tile(0) is None and rules.check_tile(None) is None
    assert rules.check_tile(128) == 128 and rules.check_tile(8192) == 8192
    assert rules.check_style_size(0) is None and rules.check_style_size(1) == 1 and rules.check_style_size(4096) == 4096
    for bad in (127, 8193, -128, 256.0, True):
        with pytest.raises(RuleError, match="^tile must be"):
            rules.check_tile(bad)
    for bad in (-1, 4097, 512.0):
        with pytest.raises(RuleError, match="^style_size must be"):
            rules.check_style_size(bad)


def test_colour_modes_are_the_three_named() -> None:
    for mode in rules.COLOR_MODES:
        assert rules.check_color_mode(mode) == mode
    for bad in ("Histogram", "", None, 1):
        with pytest.raises(RuleError, match=r"^preserve_color \(colour preservation\) must be one of none, histogram, luminance"):
            rules.check_color_mode(bad)


def test_clamp_scale_forces_a_stored_value_into_the_range() -> None:
    assert rules.clamp_scale(9) == rules.SCALE_MAX and rules.clamp_scale(0) == rules.SCALE_MIN
    assert rules.clamp_scale(1.5) == 1.5


def test_weights_to_send() -> None:
    assert rules.weights_to_send(None, 3) is None and rules.weights_to_send("  ", 2) is None  # none given: equal
    assert rules.weights_to_send("5", 1) is None and rules.weights_to_send([0.0], 1) is None  # one style: nothing
    assert rules.weights_to_send("1, 3", 2) == [0.25, 0.75]
    assert rules.weights_to_send([2, 2, 4], 3) == [0.25, 0.25, 0.5]
    assert rules.weights_to_send("0,1", 2) == [0.0, 1.0]


@pytest.mark.parametrize("weights, count, words", [
    ("1", 2, "got 1 weight for 2 styles"),
    ([1, 2, 3], 2, "got 3 weights for 2 styles"),
    ("1,-1", 2, "non-negative numbers with a positive sum"),
    ("0,0", 2, "non-negative numbers with a positive sum"),
    ([1, math.nan], 2, "non-negative numbers"),
    ("a,b", 2, "comma-separated numbers"),
    ("1", 0, "add at least one style image"),
])
def test_weights_that_cannot_be_sent(weights, count: int, words: str) -> None:
    with pytest.raises(RuleError, match=words):
        rules.weights_to_send(weights, count)


def test_job_fields_name_every_setting_and_send_the_schemas_defaults() -> None:
    fields = http.job_fields(b"PNG", [b"S1", b"S2"], style_ids=["lib:castle"])
    names = [name for name, _ in fields]
    assert names == ["content", "style", "style", "style_id", *(f.name for f in wire.SETTING_FIELDS)]
    values = dict(fields[4:])
    assert values == {f.name: f.encode(f.default) for f in wire.SETTING_FIELDS}
    assert values["alpha"] == "1.0" and values["tile"] == "0" and values["style_size"] == "512"
    assert fields[0][1] == ("content.png", b"PNG", "application/octet-stream")


def test_job_fields_for_raw_pixels_a_gray_mask_and_weights() -> None:
    fields = http.job_fields(None, [b"S"], rgba=(b"\0" * 24, 3, 2), mask_gray=b"\xff" * 6, weights=[0.25, 0.75],
                             alpha=0.5, tile=256, result_format="rgba")
    values = dict((k, v) for k, v in fields if k != "style")
    assert (values["content_format"], values["width"], values["height"]) == ("rgba", "3", "2")
    assert values["content"] == ("content.rgba", b"\0" * 24, "application/octet-stream")
    assert values["mask_format"] == "gray" and values["mask"][1] == b"\xff" * 6
    assert values["weights"] == "0.25,0.75"
    assert (values["alpha"], values["tile"], values["result_format"]) == ("0.5", "256", "rgba")


def test_a_number_is_sent_so_that_it_reads_back_exactly() -> None:
    for value in (0.1, 1 / 3, 0.05, 1e-7, 4.0):
        assert float(wire.SCALE.encode(value)) == value
        assert wire.SCALE.decode(wire.SCALE.encode(value)) == value
    assert wire.TILE.decode(wire.TILE.encode(8192)) == 8192
    assert wire.ALPHA.decode("") == wire.ALPHA.default and wire.ALPHA.decode(None) == wire.ALPHA.default


def test_sequence_fields_number_the_frames_and_add_stability_and_coherence() -> None:
    fields = http.sequence_fields([b"\0" * 8, b"\1" * 8], [b"S"], size=(2, 1), stability=0, coherence=1,
                                  coherence_features=0)
    names = [name for name, _ in fields]
    assert names[:5] == ["content_format", "width", "height", "frame_0", "frame_1"]
    assert names[-3:] == ["stability", "coherence", "coherence_features"] and dict(fields)["stability"] == "0.0"
    assert "content" not in names and dict(fields)["coherence"] == "1.0"
    assert dict(fields)["coherence_features"] == "0.0"
    assert dict(http.sequence_fields([b"\0"], [b"S"]))["coherence_features"] == repr(wire.COHERENCE_FEATURES.default)


def test_parse_weights_reads_comma_separated_numbers() -> None:
    assert rules.parse_weights(" ") is None and rules.parse_weights("1, 2") == [1.0, 2.0]
    with pytest.raises(ValueError, match="comma-separated"):  # a RuleError is a ValueError: a bad value
        rules.parse_weights("a,b")

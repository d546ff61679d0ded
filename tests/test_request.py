"""StyleOptions and StylizeRequest validate once, with the shared rules; their errors are user errors."""
from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from PIL import Image

from adastyle.errors import UserError
from adastyle.request import MaskError, RequestError, StyleOptions, StylizeRequest
from adastyle_plugin import rules

CONTENT = Image.new("RGB", (40, 30), "gray")
STYLE = Image.new("RGB", (20, 20), "red")


def half_mask(size: tuple[int, int]) -> Image.Image:
    m = Image.new("L", size, 0)
    m.paste(255, (0, 0, size[0] // 2, size[1]))
    return m


# ---- the request -------------------------------------------------------------------------------------
def test_a_request_is_normalised_once_and_frozen() -> None:
    r = StylizeRequest(np.zeros((30, 40, 3), np.uint8), [STYLE, np.zeros((8, 8, 3), np.uint8)], weights=[1, 3],
                       tile=0, style_size=0, preserve_color=None)
    o = r.options
    assert isinstance(r.content, Image.Image) and all(isinstance(s, Image.Image) for s in o.styles)
    assert o.weights == (0.25, 0.75) and o.tile is None and o.style_size is None and o.preserve_color == "none"
    with pytest.raises(AttributeError):
        o.alpha = 0.5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        r.content = CONTENT  # type: ignore[misc]
    assert StylizeRequest(CONTENT, STYLE).options.weights == (1.0,)  # one style, not a list
    assert StylizeRequest(CONTENT, [STYLE, STYLE]).options.weights == (0.5, 0.5)


def test_one_options_object_serves_many_contents_and_travels_pickled() -> None:
    """A batch run or a sequence checks its options once; every frame's request carries the same object, and a
    Ray actor gets them pickled, unchanged."""
    options = StyleOptions([STYLE, STYLE], mask=half_mask((80, 60)), alpha=0.5, style_size=256)
    frames = [StylizeRequest(np.full((30, 40, 3), v, np.uint8), options) for v in (0, 128)]
    assert all(f.options is options for f in frames)
    assert all(f.mask.size == (40, 30) for f in frames), "the mask is fitted to each content"
    back = pickle.loads(pickle.dumps(options))
    assert (back.alpha, back.style_size, back.weights) == (0.5, 256, None)
    assert [s.tobytes() for s in back.styles] == [s.tobytes() for s in options.styles]
    assert back.mask.tobytes() == options.mask.tobytes()
    again = pickle.loads(pickle.dumps(frames[1]))
    assert again.content.tobytes() == frames[1].content.tobytes() and again.options.alpha == 0.5
    with pytest.raises(TypeError, match="not both"):
        StylizeRequest(CONTENT, options, alpha=0.3)


def test_the_defaults_are_the_rules_defaults() -> None:
    o = StyleOptions(STYLE)
    assert (o.alpha, o.preserve_color, o.scale, o.tile, o.mask) == (1.0, "none", 1.0, None, None)
    assert o.style_size == rules.DEFAULT_STYLE_SIZE


def test_the_mask_is_fitted_once_and_chooses_the_style() -> None:
    r = StylizeRequest(CONTENT, [STYLE, STYLE], mask=half_mask((80, 60)))
    assert r.mask.size == CONTENT.size and r.mask.mode == "L" and r.options.weights is None
    painted = Image.new("RGBA", CONTENT.size, (0, 0, 0, 0))
    painted.paste((255, 255, 255, 255), (0, 0, 10, 10))
    assert StylizeRequest(CONTENT, STYLE, mask=painted).mask.getextrema() == (0, 255)  # alpha marks the paint


@pytest.mark.parametrize("kwargs,error,needle", [
    ({"styles": []}, RequestError, "at least one style"),
    ({"alpha": 1.5}, RequestError, "alpha"), ({"alpha": math.nan}, RequestError, "alpha"),
    ({"alpha": True}, RequestError, "alpha"),
    ({"weights": [1.0]}, RequestError, "got 1 weight for 2 styles"), ({"weights": [0, 0]}, RequestError, "positive sum"),
    ({"weights": [-1, 2]}, RequestError, "non-negative"), ({"weights": [math.inf, 1]}, RequestError, "non-negative"),
    ({"preserve_color": "sepia"}, RequestError, "preserve_color"),
    ({"scale": 0.01}, RequestError, "scale"), ({"scale": 5}, RequestError, "scale"),
    ({"tile": 100}, RequestError, "tile"), ({"tile": 128.0}, RequestError, "tile"),
    ({"style_size": 5000}, RequestError, "style_size"), ({"style_size": -1}, RequestError, "style_size"),
    ({"mask": half_mask((40, 30)), "weights": [1, 1]}, RequestError, "weights cannot be combined"),
    ({"mask": half_mask((50, 50))}, MaskError, "50x50"),
])
def test_bad_values_are_user_errors_with_a_clear_message(kwargs, error, needle) -> None:
    args = {"styles": [STYLE, STYLE], **kwargs}
    styles = args.pop("styles")
    with pytest.raises(error, match=needle) as caught:
        StylizeRequest(CONTENT, styles, **args)
    assert isinstance(caught.value, UserError)


def test_mask_rules() -> None:
    with pytest.raises(RequestError, match="one style .* or two"):
        StylizeRequest(CONTENT, [STYLE] * 3, mask=half_mask((40, 30)))
    with pytest.raises(MaskError, match="completely black"):
        StylizeRequest(CONTENT, [STYLE], mask=Image.new("L", (40, 30), 0))
    StylizeRequest(CONTENT, [STYLE, STYLE], mask=Image.new("L", (40, 30), 0))  # black = all second style: fine


def test_work_pixels_is_what_budgets_are_checked_against() -> None:
    assert StylizeRequest(CONTENT, STYLE, scale=0.5).work_pixels == 43 * 32  # 20 x 15, enlarged to 32 across
    assert StylizeRequest(CONTENT, STYLE, scale=2).work_pixels == 80 * 60

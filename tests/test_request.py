"""StylizeRequest validates once, with the shared rules; its errors are user errors."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from adastyle.errors import UserError
from adastyle.request import MaskError, RequestError, StylizeRequest

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
    assert isinstance(r.content, Image.Image) and all(isinstance(s, Image.Image) for s in r.styles)
    assert r.weights == (0.25, 0.75) and r.tile is None and r.style_size is None and r.preserve_color == "none"
    with pytest.raises(AttributeError):
        r.alpha = 0.5  # type: ignore[misc]
    assert StylizeRequest(CONTENT, STYLE).weights == (1.0,)  # one style, not a list
    assert StylizeRequest(CONTENT, [STYLE, STYLE]).weights == (0.5, 0.5)


def test_the_mask_is_fitted_once_and_chooses_the_style() -> None:
    r = StylizeRequest(CONTENT, [STYLE, STYLE], mask=half_mask((80, 60)))
    assert r.mask.size == CONTENT.size and r.mask.mode == "L" and r.weights is None
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
    with pytest.raises(error, match=needle) as caught:
        StylizeRequest(CONTENT, **args)
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

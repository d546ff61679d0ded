"""Small widgets of the docker, kept apart so docker.py holds only behaviour."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Optional

from .qt import ALIGN_CENTER, KEEP_ASPECT, SMOOTH, QPixmap, QtWidgets

W = QtWidgets
THUMB = 40  # px, style thumbnails


class StyleRow(W.QWidget):
    """One style: thumbnail, name, weight (shown only with several styles) and a remove button.

    `path` is an image file, or a library style (`lib:<id>`) shown with the library's `label` and `pixmap`.
    """

    def __init__(self, path: str, weight: float, on_weight: Callable[..., Any],
                 on_remove: Callable[[str], Any], label: Optional[str] = None,
                 pixmap: Optional[QPixmap] = None) -> None:
        super().__init__()
        self.path = path
        lay = W.QHBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        thumb = W.QLabel()
        thumb.setFixedSize(THUMB, THUMB)
        thumb.setAlignment(ALIGN_CENTER)
        pix = pixmap if pixmap is not None else QPixmap(path)
        if pix.isNull():
            thumb.setText("?")  # missing or unreadable: the job will say which
        else:
            thumb.setPixmap(pix.scaled(THUMB, THUMB, KEEP_ASPECT, SMOOTH))
        name = W.QLabel(label or Path(path).stem)
        name.setToolTip(path if label or os.path.isfile(path) else path + " (missing)")
        self.weight = W.QDoubleSpinBox()
        self.weight.setObjectName("adastyle_weight")
        self.weight.setRange(0.0, 10.0)
        self.weight.setSingleStep(0.1)
        self.weight.setDecimals(2)
        self.weight.setValue(weight)
        self.weight.setToolTip("Weight of this style in the mix (weights are normalised)")
        self.weight.valueChanged.connect(on_weight)
        remove = W.QToolButton()
        remove.setText("✕")
        remove.setToolTip("Remove this style")
        remove.clicked.connect(lambda *_: on_remove(self.path))
        lay.addWidget(thumb)
        lay.addWidget(name, 1)
        lay.addWidget(self.weight)
        lay.addWidget(remove)

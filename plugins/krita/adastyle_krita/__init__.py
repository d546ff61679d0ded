"""AdaStyle for Krita: the "AdaIN Style" docker, three menu actions, and `apply_style` /
`apply_style_to_frames` for scripts.

Installed by `adastyle install-plugin krita`, which also puts the standard-library plug-in toolkit
(`adastyle_plugin`) beside this package and a settings file naming the server in it; or from the release
zip with Krita's Tools > Scripts > Import Python Plugin from File..., which copies this package alone, so
the zip carries the toolkit inside it. Nothing here imports the adastyle package.
"""
from __future__ import annotations

import os
import sys
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
if os.path.isdir(os.path.join(_HERE, "adastyle_plugin")) and _HERE not in sys.path:
    sys.path.insert(0, _HERE)  # the toolkit inside this package (the release zip's layout)

from krita import DockWidgetFactory, DockWidgetFactoryBase, Extension, Krita  # noqa: E402

from .docker import DOCKERS, AdaStyleDocker  # noqa: E402
from .layers import apply_style, apply_style_to_frames, make_client  # noqa: E402
from .logic import PREVIEW_NAME, PluginError  # noqa: E402
from .qt import same_qobject  # noqa: E402

__all__ = ["DOCKER_ID", "PREVIEW_NAME", "AdaStyleDocker", "PluginError", "apply_style", "apply_style_to_frames",
           "docker_for", "make_client"]

DOCKER_ID = "adastyle_docker"


def docker_for(window: Any = None) -> "AdaStyleDocker | None":
    """The docker of `window` (default: the active window), for scripts and the menu actions."""
    window = window or Krita.instance().activeWindow()
    qwin = window.qwindow() if window is not None else None
    for docker in list(DOCKERS):
        if qwin is None or same_qobject(docker.window(), qwin):
            return docker
    return None


class AdaStyleExtension(Extension):
    """Menu actions (Tools > Scripts) that drive the docker, so they can get keyboard shortcuts."""

    def setup(self) -> None:
        pass

    def createActions(self, window: Any) -> None:
        for name, text, method in (("adastyle_preview", "AdaIN Style: Preview", "preview"),
                                   ("adastyle_apply", "AdaIN Style: Apply", "apply"),
                                   ("adastyle_apply_frames", "AdaIN Style: Apply to All Frames", "apply_frames")):
            action = window.createAction(name, text, "tools/scripts")
            action.triggered.connect(lambda *_, w=window, m=method: self._run(w, m))

    @staticmethod
    def _run(window: Any, method: str) -> None:
        docker = docker_for(window)
        if docker is not None:
            docker.show()
            docker.raise_()
            getattr(docker, method)()


_app = Krita.instance()
_app.addExtension(AdaStyleExtension(_app))
_app.addDockWidgetFactory(DockWidgetFactory(DOCKER_ID, DockWidgetFactoryBase.DockRight, AdaStyleDocker))

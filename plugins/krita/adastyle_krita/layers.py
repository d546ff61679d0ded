"""Krita side of a job: read the layer and selection into a JobSpec, write the result as a new layer.

Kept apart from the docker so the scripting entry point `apply_style` and the docker share exactly
the same reading and writing; only the waiting differs (synchronous here, a QThread in the docker).
All calls here must run on Krita's UI thread.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple

from adastyle_plugin import rules
from adastyle_plugin.config import SETTINGS_NAME
from adastyle_plugin.http import Client

from .logic import (
    PREVIEW_LONG_SIDE,
    PREVIEW_NAME,
    FramesSpec,
    JobSpec,
    PluginError,
    bgra_to_rgba,
    box_size,
    build_frames_spec,
    build_spec,
    clip_box,
    color_space_problem,
    keyframe_times,
    plan_region,
    run_frames_job,
    run_job,
    selection_bbox,
)
from .qt import QByteArray, QTimer, to_bytes

SETTINGS_FILE = Path(__file__).with_name(SETTINGS_NAME)


def make_client(url: Optional[str] = None) -> Client:
    """A client configured by the settings file install-plugin wrote (ADASTYLE_URL/TOKEN override it)."""
    return Client(url=url or None, settings_path=SETTINGS_FILE)


def check_layer(node: Any) -> None:
    """PluginError unless `node` is a paint layer the plug-in can read (8-bit RGBA)."""
    if node is None:
        raise PluginError("no active layer: select the paint layer to stylise")
    if node.type() != "paintlayer":
        raise PluginError(f"'{node.name()}' is a {node.type()}; select a paint layer")
    if node.name() == PREVIEW_NAME:
        raise PluginError("the preview layer is selected; select the layer to stylise")
    problem = color_space_problem(node.colorModel(), node.colorDepth())
    if problem:
        raise PluginError(problem)


def read_spec(document: Any, node: Any, style_paths: Sequence[str], *, weights: Optional[Sequence[float]] = None,
              alpha: float = 1.0, preserve_color: str = "none", use_selection: bool = True, scale: float = 1.0,
              preview: bool = False, preview_side: int = PREVIEW_LONG_SIDE,
              library_names: Optional[Mapping[str, str]] = None) -> JobSpec:
    """The request for `node` of `document`: the selection's box plus context (or the image), as RGBA."""
    if document is None:
        raise PluginError("no open document")
    check_layer(node)
    width, height = document.width(), document.height()
    selection = document.selection() if use_selection else None
    sel_box = None
    if selection is not None:
        bounds = clip_box((selection.x(), selection.y(), selection.x() + selection.width(),
                           selection.y() + selection.height()), width, height)
        if bounds is None:
            raise PluginError("the selection lies outside the image")
        bw, bh = box_size(bounds)
        sel_box = selection_bbox(to_bytes(selection.pixelData(bounds[0], bounds[1], bw, bh)), bw, bh,
                                 (bounds[0], bounds[1]))
        if sel_box is None:
            raise PluginError("the selection is empty (deselect to stylise the whole layer)")
    box = plan_region(width, height, sel_box)
    x, y = box[0], box[1]
    w, h = box_size(box)
    mask = to_bytes(selection.pixelData(x, y, w, h)) if selection is not None else None
    rgba = bgra_to_rgba(to_bytes(node.pixelData(x, y, w, h)))
    return build_spec(rgba, box, mask, style_paths, weights=weights, alpha=alpha, preserve_color=preserve_color,
                      scale=scale, preview=preview, preview_side=preview_side, library_names=library_names)


def read_layer(document: Any, node: Any) -> Tuple[bytes, int, int]:
    """(B,G,R,A pixels, width, height) of a paint layer's painted part inside the image, to use as a style."""
    if document is None:
        raise PluginError("open an image first")
    check_layer(node)
    b = node.bounds()
    box = clip_box((b.x(), b.y(), b.x() + b.width(), b.y() + b.height()), document.width(), document.height())
    if box is None:
        raise PluginError(f"layer '{node.name()}' is empty")
    w, h = box_size(box)
    return to_bytes(node.pixelData(box[0], box[1], w, h)), w, h


def find_preview(document: Any) -> Any:
    """The top-level preview layer, or None."""
    for child in document.rootNode().childNodes():
        if child.name() == PREVIEW_NAME:
            return child
    return None


def update_preview(document: Any, source: Any, spec: JobSpec, bgra: bytes) -> Any:
    """Live mode: the preview layer's pixels replaced in place (made, as for Preview, when there is none).

    In place so that the layer stack does not churn at every stroke; what the last preview painted is cleared
    first (the selection, and so the box, may have changed). Only the preview layer is written.
    """
    layer = find_preview(document)
    if layer is None:
        return write_result(document, source, spec, bgra)
    layer.setLocked(False)
    try:
        old = layer.bounds()
        if old.width() > 0 and old.height() > 0:
            layer.setPixelData(QByteArray(bytes(old.width() * old.height() * 4)), old.x(), old.y(), old.width(),
                               old.height())
        layer.setPixelData(QByteArray(bgra), spec.box[0], spec.box[1], spec.width, spec.height)
    finally:
        layer.setLocked(True)
    document.refreshProjection()
    return layer


def remove_previews(document: Any) -> int:
    """Delete every top-level preview layer; returns how many (a new preview replaces the old one)."""
    removed = 0
    for child in list(document.rootNode().childNodes()):
        if child.name() == PREVIEW_NAME:
            child.setLocked(False)
            child.remove()
            removed += 1
    return removed


def write_result(document: Any, source: Any, spec: JobSpec, bgra: bytes) -> Any:
    """A new paint layer with `bgra` at `spec.box`: above `source` (Apply) or on top, locked (Preview).

    The source layer is never written. Blocks until Krita has applied the change, so callers (and
    tests) can read the pixels back at once.
    """
    remove_previews(document)
    layer = document.createNode(spec.name, "paintlayer")
    if layer is None:
        raise PluginError("Krita could not create a layer")
    if (layer.colorModel(), layer.colorDepth()) != (source.colorModel(), source.colorDepth()):
        layer.setColorSpace(source.colorModel(), source.colorDepth(), source.colorProfile())
    elif layer.colorProfile() != source.colorProfile():
        layer.setColorProfile(source.colorProfile())
    x, y = spec.box[0], spec.box[1]
    layer.setPixelData(QByteArray(bgra), x, y, spec.width, spec.height)
    if spec.preview:
        root = document.rootNode()
        children = root.childNodes()
        root.addChildNode(layer, children[-1] if children else None)  # childNodes is bottom to top
        layer.setLocked(True)
    else:
        parent = source.parentNode() or document.rootNode()
        parent.addChildNode(layer, source)
    document.refreshProjection()
    document.waitForDone()
    if spec.preview:
        # Krita activates a new layer once its GUI catches up (after this returns); a locked preview
        # must not stay active, so the source is re-activated after that. An applied layer stays
        # active, as any new layer in Krita.
        QTimer.singleShot(0, lambda: _activate(document, source))
    return layer


def _activate(document: Any, node: Any) -> None:
    try:
        if document.nodeByUniqueID(node.uniqueId()) is not None:
            document.setActiveNode(node)
    except RuntimeError:  # the document or node went away meanwhile
        pass


def apply_style(document: Any, node: Any, style_paths: Sequence[str], *, weights: Optional[Sequence[float]] = None,
                alpha: float = 1.0, preserve_color: str = "none", use_selection: bool = True, scale: float = 1.0,
                preview: bool = False, url: Optional[str] = None,
                progress: Optional[Callable[[float], None]] = None) -> Any:
    """Stylise `node` and return the new layer; blocks (a scripting call: the request runs right here).

    Raises PluginError for a layer/selection problem and PluginError with the HTTP status for server ones.
    """
    spec = read_spec(document, node, style_paths, weights=weights, alpha=alpha, preserve_color=preserve_color,
                     use_selection=use_selection, scale=scale, preview=preview)
    bgra = run_job(make_client(url), spec, progress=progress)
    return write_result(document, node, spec, bgra)


# ---- animation: every keyframe ---------------------------------------------------------------------------
def read_frames_spec(document: Any, node: Any, style_paths: Sequence[str], *,
                     weights: Optional[Sequence[float]] = None, alpha: float = 1.0, preserve_color: str = "none",
                     scale: float = 1.0, stability: float = rules.DEFAULT_STABILITY,
                     coherence: float = rules.DEFAULT_COHERENCE,
                     coherence_features: float = rules.DEFAULT_COHERENCE_FEATURES,
                     library_names: Optional[Mapping[str, str]] = None) -> FramesSpec:
    """Every keyframe of the animated paint layer `node`, whole (the canvas), in time order."""
    if document is None:
        raise PluginError("no open document")
    check_layer(node)
    if not node.animated():
        raise PluginError(f"'{node.name()}' is not animated: Apply to all frames stylises the keyframes of an "
                          "animated paint layer (use Apply for a still layer)")
    last = max(document.fullClipRangeEndTime(), document.playBackEndTime(), document.currentTime())
    times = keyframe_times(node.hasKeyframeAtTime, last)
    width, height = document.width(), document.height()
    frames = [bgra_to_rgba(to_bytes(node.pixelDataAtTime(0, 0, width, height, t))) for t in times]
    return build_frames_spec(frames, times, (width, height), style_paths, weights=weights, alpha=alpha,
                             preserve_color=preserve_color, scale=scale, stability=stability,
                             coherence=coherence, coherence_features=coherence_features, layer_name=node.name(),
                             library_names=library_names)


def write_frames(document: Any, source: Any, spec: FramesSpec, frames_bgra: Sequence[bytes]) -> Any:
    """A new animated layer directly above `source` with a keyframe at each of the source's keyframe times.

    Made as a duplicate of the source (Krita's scripting API cannot add a keyframe to a layer; a duplicate
    has the source's keyframes at the same times), then each keyframe's pixels replaced with the stylised
    frame: at each time the document is switched to, the layer's pixels are that keyframe's. The source is
    never written; the document's time is set back afterwards. Blocks until Krita has applied it all.
    """
    if len(frames_bgra) != len(spec.times):
        raise PluginError(f"{len(frames_bgra)} stylised frames for {len(spec.times)} keyframes")
    remove_previews(document)
    layer = source.duplicate()
    if layer is None:
        raise PluginError("Krita could not duplicate the layer")
    layer.setName(spec.name)
    now = document.currentTime()
    try:
        for t, bgra in zip(spec.times, frames_bgra):
            document.setCurrentTime(t)
            document.waitForDone()
            layer.setPixelData(QByteArray(bgra), 0, 0, spec.width, spec.height)
    finally:
        document.setCurrentTime(now)
        document.waitForDone()
    # Added only once it is complete: adding it is the last step, so one Undo takes the whole layer away.
    parent = source.parentNode() or document.rootNode()
    parent.addChildNode(layer, source)
    document.refreshProjection()
    document.waitForDone()
    return layer


def apply_style_to_frames(document: Any, node: Any, style_paths: Sequence[str], *,
                          weights: Optional[Sequence[float]] = None, alpha: float = 1.0,
                          preserve_color: str = "none", scale: float = 1.0, stability: float = rules.DEFAULT_STABILITY,
                          coherence: float = rules.DEFAULT_COHERENCE,
                          coherence_features: float = rules.DEFAULT_COHERENCE_FEATURES, url: Optional[str] = None,
                          progress: Optional[Callable[[float], None]] = None) -> Any:
    """Stylise every keyframe of `node` into a new animated layer and return it; blocks (a scripting call)."""
    spec = read_frames_spec(document, node, style_paths, weights=weights, alpha=alpha, preserve_color=preserve_color,
                            scale=scale, stability=stability, coherence=coherence,
                            coherence_features=coherence_features)
    return write_frames(document, node, spec, run_frames_job(make_client(url), spec, progress=progress))

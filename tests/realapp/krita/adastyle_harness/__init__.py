"""Test-only Krita plug-in: drives the real AdaStyle plug-in inside a real Krita, writes a JSON report, exits.

Does nothing unless $ADASTYLE_HARNESS names a JSON config {content, style, selection: [x, y, w, h],
feather, out}.
Krita is started with the content image on its command line; once the main window shows it, the
harness selects a rectangle, checks the docker is
there, calls adastyle_krita.apply_style, clicks the docker's Preview twice and Apply once, lists the style
library, searches it, chooses a starter style and applies it, turns live mode on and paints strokes
through the API (one while a preview job runs), compares the last preview with a plain job, imports 3 frames
as an animated layer and clicks Apply to all frames (after a cancelled try), points the
docker at a dead server, takes screenshots, writes out/result.json and leaves with os._exit (quitting
Krita properly hangs or asks to save). A watchdog writes what it has and exits if anything hangs.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from typing import Any, Callable, Dict, List, Tuple

from krita import Extension, Krita, Selection
from PyQt5.QtCore import QByteArray, QEventLoop, QTimer
from PyQt5.QtGui import QImage
from PyQt5.QtWidgets import QApplication, QDockWidget, QLabel, QProgressBar, QPushButton

CONFIG = os.environ.get("ADASTYLE_HARNESS", "")
WATCHDOG_S = float(os.environ.get("ADASTYLE_HARNESS_WATCHDOG", "240"))


class Report:
    """Collects steps, checks and exceptions; written as JSON whatever happens."""

    def __init__(self, out: str) -> None:
        self.out = out
        self.data: Dict[str, Any] = {"steps": [], "checks": {}, "exceptions": [], "error": None,
                                     "timings": {}, "finished": False}
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    def step(self, name: str) -> None:
        self.data["steps"].append(f"{time.monotonic() - self._t0:6.1f}s {name}")
        print(f"[harness] {name}", file=sys.stderr, flush=True)

    def check(self, name: str, value: Any) -> None:
        self.data["checks"][name] = value

    def write(self) -> None:
        with self._lock:
            tmp = os.path.join(self.out, "result.json.tmp")
            with open(tmp, "w") as f:
                json.dump(self.data, f, indent=1, default=str)
            os.replace(tmp, os.path.join(self.out, "result.json"))


def pump(seconds: float) -> None:
    """Let Krita work (paint, deliver queued signals) for a while."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents(QEventLoop.AllEvents, 50)
        time.sleep(0.01)


def wait_for(cond: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            return False
        QApplication.processEvents(QEventLoop.AllEvents, 50)
        time.sleep(0.02)
    return True


Rect = Tuple[int, int, int, int]  # x, y, w, h


def _inside(px: int, py: int, rect: Rect) -> bool:
    return rect[0] <= px < rect[0] + rect[2] and rect[1] <= py < rect[1] + rect[3]


def rect_stats(new: bytes, ref: bytes, width: int, height: int, inner: Rect, outer: Rect) -> Dict[str, Any]:
    """Compare `new` with `ref` around a (feathered) selection.

    inner: surely selected (opaque share, mean |RGB difference|); outside outer: surely not selected
    (max alpha, changed bytes); between them the soft edge (pixels with 0 < alpha < 255 counted).
    """
    opaque = count = diff = 0
    outside_alpha = outside_changed = soft = 0
    for py in range(height):
        row = py * width * 4
        for px in range(width):
            i = row + px * 4
            a = new[i + 3]
            if 0 < a < 255:
                soft += 1
            if _inside(px, py, inner):
                count += 1
                opaque += a == 255
                diff += abs(new[i] - ref[i]) + abs(new[i + 1] - ref[i + 1]) + abs(new[i + 2] - ref[i + 2])
            elif not _inside(px, py, outer):
                outside_alpha = max(outside_alpha, a)
                if new[i:i + 4] != ref[i:i + 4]:
                    outside_changed += 1
    return {"inside_opaque_share": opaque / max(1, count), "inside_mean_abs_diff": diff / max(1, count * 3),
            "outside_max_alpha": outside_alpha, "outside_changed_pixels": outside_changed, "soft_pixels": soft}


def projection_bgra(doc: Any) -> bytes:
    img = doc.projection(0, 0, doc.width(), doc.height()).convertToFormat(QImage.Format_ARGB32)
    ptr = img.constBits()
    ptr.setsize(img.bytesPerLine() * img.height())
    raw = bytes(ptr)
    w = doc.width() * 4
    return b"".join(raw[r * img.bytesPerLine():r * img.bytesPerLine() + w] for r in range(img.height()))


def save_bgra(data: bytes, width: int, height: int, path: str) -> None:
    QImage(data, width, height, width * 4, QImage.Format_ARGB32).copy().save(path, "PNG")


def app_setting(key: str) -> str:
    return Krita.instance().readSetting("adastyle", key, "")


def dead_url() -> str:
    """A localhost port nobody listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


class Harness(Extension):
    def setup(self) -> None:
        if not CONFIG:
            return
        with open(CONFIG) as f:
            self.cfg = json.load(f)
        os.makedirs(self.cfg["out"], exist_ok=True)
        self.report = Report(self.cfg["out"])
        self.report.step("harness loaded")
        self._orig_hook = sys.excepthook
        sys.excepthook = self._excepthook  # record instead of Krita's modal dialog
        timer = threading.Timer(WATCHDOG_S, self._watchdog)
        timer.daemon = True
        timer.start()
        Krita.instance().notifier().windowCreated.connect(self._on_window)

    def createActions(self, window: Any) -> None:
        pass

    def _excepthook(self, etype: Any, value: Any, tb: Any) -> None:
        self.report.data["exceptions"].append("".join(traceback.format_exception(etype, value, tb))[-2000:])

    def _watchdog(self) -> None:
        self.report.data["error"] = f"watchdog: still running after {WATCHDOG_S:.0f} s"
        self.report.write()
        os._exit(3)

    def _on_window(self) -> None:
        # Phases run from Krita's own event loop, one after another: some GUI updates (the Layers
        # docker, deferred deletes) only happen once control returns there, not in nested processEvents.
        self._phases: List[Callable[[], None]] = [self._phase_main, self._phase_library, self._phase_live,
                                                  self._phase_frames_import, self._phase_frames,
                                                  self._phase_screenshot, self._phase_frames_undo,
                                                  self._phase_dead_server, self._phase_dead_screenshot,
                                                  self._phase_end]
        QTimer.singleShot(500, self._next)

    def _next(self) -> None:
        phase = self._phases.pop(0)
        try:
            phase()
        except BaseException:  # noqa: BLE001 - reported to pytest
            self.report.data["error"] = traceback.format_exc()[-4000:]
            self._phases = [self._phase_end]
        if phase != self._phase_end:
            QTimer.singleShot(1500, self._next)

    def _phase_end(self) -> None:
        if self.report.data["error"] is None:
            self.report.data["finished"] = True
        self.report.write()
        sys.stderr.flush()
        os._exit(0)

    # ---- the scenario ----------------------------------------------------------------------------------
    def _phase_main(self) -> None:
        r, cfg = self.report, self.cfg
        out = cfg["out"]
        app = Krita.instance()
        win = app.activeWindow()
        qwin = win.qwindow()
        qwin.setGeometry(0, 0, 1280, 1000)
        # The image is opened by Krita itself (command line), like a user's File > Open. Opened with
        # app.openDocument + win.addView instead, Krita 5.2.9 gives the view no active node, an empty
        # Layers docker and a failed assert in setActiveNode, so the docker could not be driven.
        if not wait_for(lambda: bool(app.documents()) and win.activeView() is not None, 240):
            qwin.grab().save(os.path.join(out, "no-document-grab.png"), "PNG")
            modal = QApplication.activeModalWidget()
            raise RuntimeError("Krita opened no document from its command line (documents: "
                               f"{len(app.documents())}, modal window: {modal.windowTitle() if modal else None})")
        doc = app.documents()[0]
        r.check("opened_by", "command line")
        pump(1.0)
        r.step("document open")
        W, H = doc.width(), doc.height()
        layer = next(n for n in doc.topLevelNodes() if n.type() == "paintlayer")
        r.check("document", {"size": [W, H], "layer": layer.name(), "model": layer.colorModel(),
                             "depth": layer.colorDepth()})
        x, y, w, h = cfg["selection"]
        f = int(cfg.get("feather", 0))
        sel = Selection()
        sel.select(x, y, w, h, 255)
        if f:
            sel.feather(f)  # soft edges must survive: partial alpha in the new layer
        inner, outer = (x + 2 * f, y + 2 * f, w - 4 * f, h - 4 * f), (x - 2 * f, y - 2 * f, w + 4 * f, h + 4 * f)
        doc.setSelection(sel)
        r.check("active_after_selection", doc.activeNode().type() if doc.activeNode() else None)
        doc.setActiveNode(layer)  # setSelection may make the selection mask active
        pump(0.5)
        source_before = bytes(layer.pixelData(0, 0, W, H))

        # -- the docker is registered and shown
        dock = qwin.findChild(QDockWidget, "adastyle_docker")
        import adastyle_krita  # the real plug-in, already loaded by Krita
        r.check("docker", {"found": dock is not None, "title": dock.windowTitle() if dock else None,
                           "class": type(dock).__name__ if dock else None,
                           "in_krita_dockers": any(d.objectName() == "adastyle_docker" for d in app.dockers()),
                           "actions": [a for a in ("adastyle_preview", "adastyle_apply") if app.action(a)]})
        via_api = adastyle_krita.docker_for(win)
        r.check("docker_for_window", via_api is not None)
        dock = via_api or dock
        dock.show()
        dock.raise_()
        r.check("docker_is_plugin_instance", isinstance(dock, adastyle_krita.AdaStyleDocker))
        wait_for(lambda: dock.connected is not None, 60)
        r.check("connection_initial", dock.connection_text())
        r.step("docker found")

        # -- scripting entry point
        t = time.monotonic()
        new = adastyle_krita.apply_style(doc, layer, [cfg["style"]], alpha=1.0)
        r.data["timings"]["apply_style"] = time.monotonic() - t
        names = [n.name() for n in doc.topLevelNodes()]
        new_px = bytes(new.pixelData(0, 0, W, H))
        proj = projection_bgra(doc)
        r.check("apply_style", {
            "name": new.name(), "type": new.type(), "layers": names,
            "directly_above_source": names.index(new.name()) == names.index(layer.name()) + 1,
            "new_layer": rect_stats(new_px, source_before, W, H, inner, outer),
            "projection": rect_stats(proj, source_before, W, H, inner, outer),
            "source_unchanged": bytes(layer.pixelData(0, 0, W, H)) == source_before})
        save_bgra(proj, W, H, os.path.join(out, "result.png"))
        save_bgra(new_px, W, H, os.path.join(out, "result-layer.png"))
        r.step("apply_style done")

        # -- docker: Preview twice (replaced), then Apply
        dock.set_styles([cfg["style"]])
        preview_button = dock.findChild(QPushButton, "adastyle_preview")
        apply_button = dock.findChild(QPushButton, "adastyle_apply")
        previews: List[Dict[str, Any]] = []
        doc.setActiveNode(layer)
        for _ in range(2):  # the second one without re-selecting: the source must still be active
            t = time.monotonic()
            preview_button.click()
            started = dock.is_busy()
            done = wait_for(lambda: not dock.is_busy(), 120)
            pump(0.3)
            top = doc.topLevelNodes()
            pv = [n for n in top if n.name() == adastyle_krita.PREVIEW_NAME]
            active = doc.activeNode()
            info: Dict[str, Any] = {"started": started, "done": done, "seconds": time.monotonic() - t,
                                    "status": dock.status_text(), "count": len(pv),
                                    "top_is_preview": bool(top) and top[-1].name() == adastyle_krita.PREVIEW_NAME,
                                    "active_after": active.name() if active else None}
            if pv:
                info["locked"] = pv[0].locked()
                info["id"] = pv[0].uniqueId().toString()
                info["stats"] = rect_stats(bytes(pv[0].pixelData(0, 0, W, H)), source_before, W, H,
                                           inner, outer)
            previews.append(info)
        r.check("previews", previews)
        save_bgra(projection_bgra(doc), W, H, os.path.join(out, "preview.png"))
        r.step("previews done")

        # -- a second style taken from the layer: weight spins appear; a weighted two-style preview runs
        doc.setActiveNode(layer)
        dock.add_from_layer()
        spins = dock.weight_spins()
        for spin, value in zip(spins, (0.3, 0.7)):
            spin.setValue(value)
        preview_button.click()
        wait_for(lambda: not dock.is_busy(), 120)
        pump(0.3)
        styles = json.loads(app.readSetting("adastyle", "styles", "[]"))
        r.check("two_styles", {"styles": styles, "weights": app.readSetting("adastyle", "weights", ""),
                               "layer_style_saved": len(styles) == 2 and os.path.isfile(styles[1]),
                               "spins_shown": [not spin.isHidden() for spin in spins],
                               "status": dock.status_text(),
                               "previews": sum(n.name() == adastyle_krita.PREVIEW_NAME for n in doc.topLevelNodes())})

        # -- Cancel right after Preview: nothing is written, the docker says so
        before = [n.uniqueId().toString() for n in doc.topLevelNodes()]
        preview_button.click()
        dock.findChild(QPushButton, "adastyle_cancel").click()
        wait_for(lambda: not dock.is_busy(), 60)
        pump(0.3)
        r.check("cancel", {"status": dock.status_text(),
                           "layers_unchanged": [n.uniqueId().toString() for n in doc.topLevelNodes()] == before})
        dock.set_styles([cfg["style"]])
        r.step("two styles and cancel done")

        doc.setActiveNode(layer)
        apply_button.click()
        wait_for(lambda: not dock.is_busy(), 180)
        pump(0.3)
        names = [n.name() for n in doc.topLevelNodes()]
        active = doc.activeNode()
        r.check("docker_apply", {"status": dock.status_text(), "layers": names,
                                 "active_after": active.name() if active else None,
                                 "above_source": names[names.index(layer.name()) + 1],
                                 "source_unchanged": bytes(layer.pixelData(0, 0, W, H)) == source_before})
        r.check("settings_saved", app.readSetting("adastyle", "styles", ""))
        r.step("docker apply done")

        self.win, self.doc, self.layer, self.dock = win, doc, layer, dock

    def _phase_library(self) -> None:
        """The library grid: listed with thumbnails, the search filters it, a click chooses a starter style,
        Apply uses it (the source unchanged)."""
        r, doc, layer, dock, out = self.report, self.doc, self.layer, self.dock, self.cfg["out"]
        W, H = doc.width(), doc.height()
        grid = dock.grid
        listed = wait_for(lambda: len(grid.entries) > 0, 60)
        thumbs = wait_for(lambda: len(dock.library.thumbs) >= len(grid.entries), 120)
        pump(0.5)
        total = len(grid.shown_ids())
        grid.search.setText("ink")
        pump(0.2)
        found = grid.shown_ids()
        found_text = [" ".join([e["name"], *e.get("tags", [])]).lower()
                      for e in grid.entries if e["id"] in found]
        grid.search.setText("")
        pump(0.2)
        style = next(e for e in grid.entries if e.get("kind") == "style")
        dock.set_styles([])
        clicked = grid.select(style["id"])
        chosen = list(dock.settings.styles)
        grid.favourite.emit(style["id"])  # the star button's signal
        pump(0.2)
        favourites = app_setting("favourites")
        grid.favourites_only.setChecked(True)
        pump(0.2)
        only_favourites = grid.shown_ids()
        grid.favourites_only.setChecked(False)
        dock.grab().save(os.path.join(out, "krita-docker-library.png"), "PNG")
        before = bytes(layer.pixelData(0, 0, W, H))
        doc.setActiveNode(layer)
        dock.apply_button.click()
        wait_for(lambda: not dock.is_busy(), 240)
        pump(0.3)
        names = [n.name() for n in doc.topLevelNodes()]
        new = doc.topLevelNodes()[names.index(layer.name()) + 1]
        r.check("library", {"listed": listed, "thumbnails": thumbs, "entries": len(grid.entries), "shown": total,
                            "thumbnail_count": len(dock.library.thumbs), "search_ink": found,
                            "search_ink_text": found_text, "style": style, "clicked": clicked, "chosen": chosen,
                            "favourites": favourites, "only_favourites": only_favourites,
                            "status": dock.status_text(), "applied_name": new.name(),
                            "applied_diff": sum(a != b for a, b in zip(bytes(new.pixelData(0, 0, W, H)), before)),
                            "source_unchanged": bytes(layer.pixelData(0, 0, W, H)) == before})
        r.step("library done")

    def _phase_live(self) -> None:
        """Live mode on: a first preview; three strokes (pixels painted through the API) each update the same
        preview layer in place, the server re-rendering only what each changed; the last preview is compared with
        a plain job for the same canvas; a stroke while a job runs cancels that job on the server; the painted
        layer holds exactly the strokes; live mode off takes the preview away."""
        import adastyle_krita  # the real plug-in, already loaded by Krita
        from adastyle_krita.layers import read_spec
        from adastyle_krita.logic import finish_pixels

        r, doc, layer, dock, out = self.report, self.doc, self.layer, self.dock, self.cfg["out"]
        W, H = doc.width(), doc.height()
        original = bytes(layer.pixelData(0, 0, W, H))
        ids_before = [n.uniqueId().toString() for n in doc.topLevelNodes()]
        live = dock.live
        doc.setActiveNode(layer)
        dock.use_selection.setChecked(False)  # the whole canvas: strokes anywhere reach the preview
        dock.live_side.setValue(512)
        dock.live_toggle.setChecked(True)
        first = wait_for(lambda: live.scheduler is not None and len(live.scheduler.latencies) >= 1, 240)
        pump(0.5)

        def preview() -> Any:
            return next((n for n in doc.topLevelNodes() if n.name() == adastyle_krita.PREVIEW_NAME), None)

        def paint(x: int, y: int, w: int, h: int, bgra: bytes) -> None:
            layer.setPixelData(QByteArray(bgra * (w * h)), x, y, w, h)  # as a brush would leave it
            doc.refreshProjection()

        def newest_job() -> Dict[str, Any]:
            return live._api.job(next(iter(live._specs)))

        pv = preview()
        pv_id = pv.uniqueId().toString() if pv else None
        state_first = dock.live_state.text()
        strokes: List[Dict[str, Any]] = []
        for x, y, colour in ((150, 110, b"\x00\x00\xff\xff"), (300, 200, b"\x30\xa0\x30\xff"),
                             (60, 300, b"\xf0\xf0\xf0\xff")):
            shown = bytes(preview().pixelData(0, 0, W, H))
            done = len(live.scheduler.latencies)
            paint(x, y, 40, 12, colour)
            t0 = time.monotonic()
            followed = wait_for(lambda n=done: len(live.scheduler.latencies) > n, 240)
            seconds = time.monotonic() - t0
            pump(0.3)
            info = newest_job()
            after = bytes(preview().pixelData(0, 0, W, H))
            strokes.append({"followed": followed, "seconds": seconds, "live": info.get("live"),
                            "live_share": info.get("live_share"),
                            "preview_changed_pixels": sum(a != b for a, b in zip(after[0::4], shown[0::4]))})
        stroked = bytes(layer.pixelData(0, 0, W, H))
        # -- the last preview against a plain job (no live key) for the same canvas and settings
        s = live.settings
        spec = read_spec(doc, layer, s.styles, weights=s.weights if len(s.styles) > 1 else None, alpha=s.alpha,
                         preserve_color=s.preserve_color, use_selection=s.use_selection, scale=s.scale,
                         preview=True, preview_side=s.live_side)
        direct_id = live._api.submit(None, spec.style_paths, **spec.request_kwargs())
        end = time.monotonic() + 240
        while live._api.job(direct_id)["state"] not in ("done", "failed", "cancelled") and time.monotonic() < end:
            pump(0.2)
        direct = finish_pixels(spec, *live._api.result(direct_id))
        x0, y0 = spec.box[0], spec.box[1]
        shown = bytes(preview().pixelData(x0, y0, spec.width, spec.height))
        diffs = [abs(a - b) for i, (a, b) in enumerate(zip(shown, direct)) if i % 4 != 3]
        alpha_same = shown[3::4] == direct[3::4]
        # -- a stroke while a job runs: the stale job is cancelled on the server
        done = len(live.scheduler.latencies)
        paint(0, 100, W, 200, b"\x80\x20\x60\xff")  # most of the canvas: a full render, seconds long
        submitted = wait_for(lambda: live.scheduler.job_id is not None, 60)
        stale = live.scheduler.job_id
        paint(200, 40, 40, 12, b"\x00\xff\xff\xff")
        followed = wait_for(lambda: len(live.scheduler.latencies) > done, 240)
        stale_state = live._api.job(stale)["state"] if stale else None
        pump(0.3)
        save_bgra(projection_bgra(doc), W, H, os.path.join(out, "live.png"))
        last = bytes(layer.pixelData(0, 0, W, H))
        pv2 = preview()
        info: Dict[str, Any] = {
            "first": first, "state_first": state_first, "strokes": strokes,
            "direct": {"mean_abs_diff": sum(diffs) / max(1, len(diffs)), "max_abs_diff": max(diffs, default=-1),
                       "alpha_same": alpha_same, "box": list(spec.box)},
            "cancel": {"submitted": submitted, "followed": followed, "stale_state": stale_state},
            "state_after": dock.live_state.text(), "started": live.scheduler.started,
            "cancelled": live.scheduler.cancelled, "latencies": list(live.scheduler.latencies),
            "preview_count": sum(n.name() == adastyle_krita.PREVIEW_NAME for n in doc.topLevelNodes()),
            "same_preview_layer": pv2 is not None and pv2.uniqueId().toString() == pv_id,
            "locked": pv2.locked() if pv2 else None,
            "layer_is_the_strokes": stroked != original and last != stroked}
        dock.live_toggle.setChecked(False)
        pump(0.5)
        info["after_off"] = {"ids_as_before": [n.uniqueId().toString() for n in doc.topLevelNodes()] == ids_before,
                             "state": dock.live_state.text(), "layer_is_the_strokes":
                             bytes(layer.pixelData(0, 0, W, H)) == last}
        r.check("live", info)
        layer.setPixelData(QByteArray(original), 0, 0, W, H)  # the later phases start from the photo
        doc.refreshProjection()
        dock.set_styles([self.cfg["style"]])
        dock.use_selection.setChecked(True)
        r.step("live done")

    def _phase_frames_import(self) -> None:
        """3 frames imported as an animated layer, as a user imports frames (File > Import Animation Frames).

        A phase of its own: Krita's layer model takes the new layer in only once control is back in its own
        event loop, and until then the layer cannot be made the active one.
        """
        doc = self.doc
        before = {n.uniqueId().toString() for n in doc.topLevelNodes()}
        imported = doc.importAnimation(self.cfg["frames"], 0, self.cfg["frame_step"])
        doc.waitForDone()
        added = [n for n in doc.topLevelNodes() if n.uniqueId().toString() not in before]
        self.report.check("frames_import", {"ok": imported, "added": [n.name() for n in added]})
        self.frames_source = added[0]

    def _phase_frames(self) -> None:
        """Apply to all frames: the animated layer of 3 keyframes gets a new animated layer with keyframes at
        the same times; the source keeps its pixels. Cancel first."""
        r, cfg, doc, dock, source = self.report, self.cfg, self.doc, self.dock, self.frames_source
        out = cfg["out"]
        W, H = doc.width(), doc.height()
        last = max(doc.fullClipRangeEndTime(), 12)

        def keys(node: Any) -> List[int]:
            return [t for t in range(0, last + 1) if node.hasKeyframeAtTime(t)]

        src_keys = keys(source)
        src_frames = {t: bytes(source.pixelDataAtTime(0, 0, W, H, t)) for t in src_keys}
        for t, data in src_frames.items():
            with open(os.path.join(out, f"frames-source-{t}.bgra"), "wb") as f:
                f.write(data)

        def activate() -> bool:
            """The imported layer as the active one (Krita's view catches up with an import later)."""
            def active() -> bool:
                node = doc.activeNode()
                return node is not None and node.uniqueId() == source.uniqueId()
            for _ in range(25):
                doc.setActiveNode(source)
                if wait_for(active, 0.2):
                    return True
            return False

        was = doc.activeNode()
        r.check("frames_source_active", {"ok": activate(), "before": was.name() if was else None,
                                         "now": [doc.activeNode().name(), doc.activeNode().type()]
                                         if doc.activeNode() else None,
                                         "source": [source.name(), source.type(), source.animated()]})
        frames_button = dock.findChild(QPushButton, "adastyle_apply_frames")

        # -- Cancel right after the click: no new layer
        ids = [n.uniqueId().toString() for n in doc.topLevelNodes()]
        frames_button.click()
        dock.findChild(QPushButton, "adastyle_cancel").click()
        wait_for(lambda: not dock.is_busy(), 60)
        pump(0.3)
        cancel = {"status": dock.status_text(),
                  "layers_unchanged": [n.uniqueId().toString() for n in doc.topLevelNodes()] == ids}

        # -- the run, with the docker's Feature coherence set by its spin box
        dock.coherence_features.setValue(0.5)
        activate()
        progress = dock.findChild(QProgressBar, "adastyle_progress")
        seen: List[int] = []
        progress.valueChanged.connect(seen.append)
        t0 = time.monotonic()
        frames_button.click()
        started = dock.is_busy()
        done = wait_for(lambda: not dock.is_busy(), 240)
        pump(0.5)
        top = doc.topLevelNodes()
        names = [n.name() for n in top]
        i = [n.uniqueId().toString() for n in top].index(source.uniqueId().toString())
        new = top[i + 1] if i + 1 < len(top) else None
        info: Dict[str, Any] = {"started": started, "done": done, "seconds": time.monotonic() - t0,
                                "status": dock.status_text(), "layers": names, "cancel": cancel,
                                "source_keys": src_keys, "progress_seen": sorted(set(seen)),
                                "source_unchanged": all(bytes(source.pixelDataAtTime(0, 0, W, H, t)) == px
                                                        for t, px in src_frames.items()),
                                "time_after": doc.currentTime()}
        if new is not None:
            info.update(new_name=new.name(), new_type=new.type(), new_animated=new.animated(), new_keys=keys(new))
            for t in keys(new):
                with open(os.path.join(out, f"frames-new-{t}.bgra"), "wb") as f:
                    f.write(bytes(new.pixelDataAtTime(0, 0, W, H, t)))
        r.check("all_frames", info)
        r.step("all frames done")
        self.frames_new = new

    def _phase_frames_undo(self) -> None:
        """Edit > Undo after Apply to all frames: is the new layer there after 0, 1, 2, 3 undos?"""
        doc, new = self.doc, self.frames_new
        ids = lambda: [n.uniqueId().toString() for n in doc.topLevelNodes()]  # noqa: E731
        if new is None:
            return
        present = [new.uniqueId().toString() in ids()]
        for _ in range(3):
            Krita.instance().action("edit_undo").trigger()
            pump(0.5)
            present.append(new.uniqueId().toString() in ids())
        self.report.check("all_frames_undo", {"present_after_undos": present})

    def _screenshot(self, name: str, with_screen: bool) -> None:
        """The main window as Qt paints it (grab) and, if asked, the whole X screen (ImageMagick import)."""
        out = self.cfg["out"]
        self.win.qwindow().grab().save(os.path.join(out, f"{name}-grab.png"), "PNG")
        if with_screen:
            shot = subprocess.run(["import", "-window", "root", os.path.join(out, f"{name}-screen.png")],
                                  capture_output=True, text=True, timeout=30)
            self.report.check(f"{name}_import_rc", [shot.returncode, shot.stderr[-300:]])

    def _phase_screenshot(self) -> None:
        self.report.check("layers_at_screenshot", [n.name() for n in self.doc.topLevelNodes()])
        self._screenshot("krita", with_screen=True)
        self.report.step("screenshots")

    def _phase_dead_screenshot(self) -> None:
        self._screenshot("krita-dead-server", with_screen=False)
        dock = self.dock
        dock.url.setText("")
        dock.url.editingFinished.emit()
        wait_for(lambda: dock.connected is True, 20)
        self.report.check("reconnected", dock.connection_text())
        self.report.step("dead server done")

        # -- a 16-bit image is refused with a clear message (last: it converts the document)
        self.doc.setColorSpace("RGBA", "U16", "")
        self.doc.waitForDone()
        self.doc.setActiveNode(self.layer)
        pump(0.5)
        dock.findChild(QPushButton, "adastyle_preview").click()
        wait_for(lambda: not dock.is_busy(), 30)
        self.report.check("sixteen_bit", {"depth": self.layer.colorDepth(), "status": dock.status_text()})

    def _phase_dead_server(self) -> None:
        r, doc, layer, dock = self.report, self.doc, self.layer, self.dock
        preview_button = dock.findChild(QPushButton, "adastyle_preview")
        # -- dead server: the docker says so, nothing raises
        status_label = dock.findChild(QLabel, "adastyle_status")
        dead = dead_url()
        dock.url.setText(dead)
        dock.url.editingFinished.emit()
        doc.setActiveNode(layer)
        preview_button.click()
        wait_for(lambda: not dock.is_busy(), 60)
        wait_for(lambda: dock.connected is False, 20)
        pump(0.5)
        r.check("dead_server", {"url": dead, "status": status_label.text(), "connection": dock.connection_text(),
                                "connected": dock.connected, "start_visible": dock.start_button.isVisible()})


Krita.instance().addExtension(Harness(Krita.instance()))

"""Test-only Krita plug-in: drives the real AdaStyle plug-in inside a real Krita, writes a JSON report, exits.

Does nothing unless $ADASTYLE_HARNESS names a JSON config {content, style, selection: [x, y, w, h], out}.
After the main window exists it opens the content image, selects a rectangle, checks the docker is
there, calls adastyle_krita.apply_style, clicks the docker's Preview twice and Apply once, points the
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
from PyQt5.QtCore import QEventLoop, QTimer
from PyQt5.QtGui import QImage
from PyQt5.QtWidgets import QApplication, QDockWidget, QLabel, QPushButton

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


def rect_stats(new: bytes, ref: bytes, width: int, height: int, rect: Tuple[int, int, int, int]) -> Dict[str, Any]:
    """Inside rect: opaque share and mean |RGB difference|; outside: max alpha and changed bytes."""
    x, y, w, h = rect
    stride = width * 4
    inside_opaque = inside_px = diff_sum = 0
    outside_alpha = outside_changed = 0
    for row in range(height):
        a, b = new[row * stride:(row + 1) * stride], ref[row * stride:(row + 1) * stride]
        if y <= row < y + h:
            seg_a, seg_b = a[x * 4:(x + w) * 4], b[x * 4:(x + w) * 4]
            alphas = seg_a[3::4]
            inside_opaque += alphas.count(255)
            inside_px += w
            diff_sum += sum(abs(p - q) for i, (p, q) in enumerate(zip(seg_a, seg_b)) if i % 4 != 3)
            outside = [(a[:x * 4], b[:x * 4]), (a[(x + w) * 4:], b[(x + w) * 4:])]
        else:
            outside = [(a, b)]
        for oa, ob in outside:
            if oa:
                outside_alpha = max(outside_alpha, max(oa[3::4]))
                if oa != ob:
                    outside_changed += sum(1 for p, q in zip(oa, ob) if p != q)
    return {"inside_opaque_share": inside_opaque / max(1, inside_px),
            "inside_mean_abs_diff": diff_sum / max(1, inside_px * 3),
            "outside_max_alpha": outside_alpha, "outside_changed_bytes": outside_changed}


def projection_bgra(doc: Any) -> bytes:
    img = doc.projection(0, 0, doc.width(), doc.height()).convertToFormat(QImage.Format_ARGB32)
    ptr = img.constBits()
    ptr.setsize(img.bytesPerLine() * img.height())
    raw = bytes(ptr)
    w = doc.width() * 4
    return b"".join(raw[r * img.bytesPerLine():r * img.bytesPerLine() + w] for r in range(img.height()))


def save_bgra(data: bytes, width: int, height: int, path: str) -> None:
    QImage(data, width, height, width * 4, QImage.Format_ARGB32).copy().save(path, "PNG")


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
        QTimer.singleShot(500, self._run)

    def _run(self) -> None:
        try:
            self._drive()
            self.report.data["finished"] = True
        except BaseException:  # noqa: BLE001 - reported to pytest
            self.report.data["error"] = traceback.format_exc()[-4000:]
        finally:
            self.report.write()
            sys.stderr.flush()
            os._exit(0)

    # ---- the scenario ----------------------------------------------------------------------------------
    def _drive(self) -> None:
        r, cfg = self.report, self.cfg
        out = cfg["out"]
        app = Krita.instance()
        win = app.activeWindow()
        qwin = win.qwindow()
        qwin.setGeometry(0, 0, 1280, 1000)
        doc = app.openDocument(cfg["content"])
        win.addView(doc)
        app.setActiveDocument(doc)
        pump(1.0)
        r.step("document open")
        W, H = doc.width(), doc.height()
        layer = next(n for n in doc.topLevelNodes() if n.type() == "paintlayer")
        r.check("document", {"size": [W, H], "layer": layer.name(), "model": layer.colorModel(),
                             "depth": layer.colorDepth()})
        x, y, w, h = cfg["selection"]
        sel = Selection()
        sel.select(x, y, w, h, 255)
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
        dock = adastyle_krita.docker_for(win) or dock
        dock.show()
        dock.raise_()
        r.check("docker_is_plugin_instance", isinstance(dock, adastyle_krita.AdaStyleDocker))
        wait_for(lambda: dock.connected is not None, 15)
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
            "new_layer": rect_stats(new_px, source_before, W, H, (x, y, w, h)),
            "projection": rect_stats(proj, source_before, W, H, (x, y, w, h)),
            "source_unchanged": bytes(layer.pixelData(0, 0, W, H)) == source_before})
        save_bgra(proj, W, H, os.path.join(out, "result.png"))
        save_bgra(new_px, W, H, os.path.join(out, "result-layer.png"))
        r.step("apply_style done")

        # -- docker: Preview twice (replaced), then Apply
        dock.set_styles([cfg["style"]])
        preview_button = dock.findChild(QPushButton, "adastyle_preview")
        apply_button = dock.findChild(QPushButton, "adastyle_apply")
        previews: List[Dict[str, Any]] = []
        for i in range(2):
            doc.setActiveNode(layer)
            t = time.monotonic()
            preview_button.click()
            started = dock.is_busy()
            done = wait_for(lambda: not dock.is_busy(), 120)
            pump(0.3)
            top = doc.topLevelNodes()
            pv = [n for n in top if n.name() == adastyle_krita.PREVIEW_NAME]
            info: Dict[str, Any] = {"started": started, "done": done, "seconds": time.monotonic() - t,
                                    "status": dock.status_text(), "count": len(pv),
                                    "top_is_preview": bool(top) and top[-1].name() == adastyle_krita.PREVIEW_NAME}
            if pv:
                info["locked"] = pv[0].locked()
                info["id"] = pv[0].uniqueId().toString()
                info["stats"] = rect_stats(bytes(pv[0].pixelData(0, 0, W, H)), source_before, W, H, (x, y, w, h))
            previews.append(info)
        r.check("previews", previews)
        save_bgra(projection_bgra(doc), W, H, os.path.join(out, "preview.png"))
        r.step("previews done")

        doc.setActiveNode(layer)
        apply_button.click()
        wait_for(lambda: not dock.is_busy(), 180)
        pump(0.3)
        names = [n.name() for n in doc.topLevelNodes()]
        r.check("docker_apply", {"status": dock.status_text(), "layers": names,
                                 "above_source": names[names.index(layer.name()) + 1],
                                 "source_unchanged": bytes(layer.pixelData(0, 0, W, H)) == source_before})
        r.check("settings_saved", app.readSetting("adastyle", "styles", ""))
        r.step("docker apply done")

        # -- screenshot while connected, docker open
        pump(1.5)
        qwin.grab().save(os.path.join(out, "krita-grab.png"), "PNG")
        shot = subprocess.run(["import", "-window", "root", os.path.join(out, "krita-screen.png")],
                              capture_output=True, text=True, timeout=30)
        r.check("import_rc", [shot.returncode, shot.stderr[-300:]])
        r.step("screenshots")

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
        qwin.grab().save(os.path.join(out, "krita-dead-server.png"), "PNG")
        dock.url.setText("")
        dock.url.editingFinished.emit()
        wait_for(lambda: dock.connected is True, 20)
        r.check("reconnected", dock.connection_text())
        r.step("dead server done")

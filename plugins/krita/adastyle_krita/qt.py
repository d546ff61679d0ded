"""The one place the plug-in imports PyQt, so moving to Krita 6 (PyQt6) touches only this file.

Krita has already imported its binding before plug-ins load; that one is used (importing the other
would load a second Qt into the process). Enum members are looked up scoped first (PyQt6 needs
`Qt.AlignmentFlag.AlignTop`), then unscoped (old PyQt5).
"""
from __future__ import annotations

import sys
from typing import Any

if "PyQt6" in sys.modules and "PyQt5" not in sys.modules:
    from PyQt6 import QtCore, QtGui, QtWidgets, sip  # type: ignore[import-not-found]
    QT_API = "PyQt6"
else:
    try:
        from PyQt5 import QtCore, QtGui, QtWidgets, sip
        QT_API = "PyQt5"
    except ImportError:  # Krita 6
        from PyQt6 import QtCore, QtGui, QtWidgets, sip  # type: ignore[import-not-found,no-redef]  # noqa: F401
        QT_API = "PyQt6"

Signal = QtCore.pyqtSignal
Slot = QtCore.pyqtSlot
Qt = QtCore.Qt
QByteArray = QtCore.QByteArray
QImage = QtGui.QImage
QPixmap = QtGui.QPixmap
QIcon = QtGui.QIcon
QThread = QtCore.QThread
QTimer = QtCore.QTimer
QObject = QtCore.QObject
QSize = QtCore.QSize


def enum(owner: Any, scope: str, name: str) -> Any:
    """`owner.scope.name` (PyQt6 and recent PyQt5) or `owner.name` (older PyQt5)."""
    group = getattr(owner, scope, None)
    if group is not None and hasattr(group, name):
        return getattr(group, name)
    return getattr(owner, name)


FORMAT_BGRA = enum(QImage, "Format", "Format_ARGB32")  # B,G,R,A bytes on little-endian: Krita's order
FORMAT_RGBA = enum(QImage, "Format", "Format_RGBA8888")
KEEP_ASPECT = enum(Qt, "AspectRatioMode", "KeepAspectRatio")
SMOOTH = enum(Qt, "TransformationMode", "SmoothTransformation")
HORIZONTAL = enum(Qt, "Orientation", "Horizontal")
ALIGN_CENTER = enum(Qt, "AlignmentFlag", "AlignCenter")
TEXT_SELECTABLE = enum(Qt, "TextInteractionFlag", "TextSelectableByMouse")
ICON_MODE = enum(QtWidgets.QListView, "ViewMode", "IconMode")
ADJUST = enum(QtWidgets.QListView, "ResizeMode", "Adjust")
STATIC = enum(QtWidgets.QListView, "Movement", "Static")
USER_ROLE = enum(Qt, "ItemDataRole", "UserRole")


def qimage_from_bgra(data: bytes, width: int, height: int) -> "QtGui.QImage":
    """A QImage that owns a copy of Krita-order pixels (the bytes object may go away)."""
    return QImage(bytes(data), width, height, width * 4, FORMAT_BGRA).copy()


def bgra_from_qimage(image: "QtGui.QImage") -> bytes:
    """Krita-order pixels of any QImage (converted to ARGB32, rows without padding)."""
    img = image.convertToFormat(FORMAT_BGRA)
    w, h, stride = img.width(), img.height(), img.bytesPerLine()
    ptr = img.constBits()
    if hasattr(ptr, "setsize"):
        ptr.setsize(stride * h)
    raw = bytes(ptr)
    if stride == w * 4:
        return raw[:w * h * 4]
    return b"".join(raw[y * stride:y * stride + w * 4] for y in range(h))


def pixmap_from_bytes(data: bytes) -> "QtGui.QPixmap":
    """A pixmap of an encoded image (a JPEG thumbnail); a null pixmap when it cannot be read."""
    pix = QPixmap()
    pix.loadFromData(QByteArray(bytes(data)))
    return pix


def to_bytes(value: Any) -> bytes:
    """bytes of a QByteArray (or anything bytes-like) returned by the Krita API."""
    return bytes(value.data()) if hasattr(value, "data") and not isinstance(value, (bytes, bytearray)) else bytes(value)


def same_qobject(a: Any, b: Any) -> bool:
    """Whether two wrappers point at the same C++ object (wrappers of C++-owned objects may differ)."""
    if a is None or b is None:
        return a is b
    return sip.unwrapinstance(a) == sip.unwrapinstance(b)


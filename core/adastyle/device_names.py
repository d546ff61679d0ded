"""Device names the command line and the settings accept, checked without torch.

Why apart from device.py: the CLI checks `--device` while it parses its arguments, before torch (seconds to
import) and the model load, so a typo is reported at once.
"""
from __future__ import annotations

from adastyle.errors import UserError

DEVICE_NAMES = ("auto", "cpu", "cuda", "mps")


class DeviceError(UserError, ValueError):
    """An explicit device that this machine does not have (or a name that is no device)."""


def check_device_name(name: str) -> str:
    """The name if it can name a device (auto, cpu, cuda, cuda:N, mps), else DeviceError; needs no hardware."""
    lowered = (name or "auto").strip().lower()
    if lowered in DEVICE_NAMES or (lowered.startswith("cuda:") and lowered[5:].isdigit()):
        return lowered
    raise DeviceError(f"unknown device {name!r} (use auto, cpu, cuda, cuda:N or mps)")

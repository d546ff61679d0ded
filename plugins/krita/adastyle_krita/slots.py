"""Slots that never raise into Krita: whatever fails becomes one line in the docker's status label.

Why: an exception leaving a Qt slot reaches Krita's Python exception dialog, which a painter should never
see for a refused layer or a server that went away. Every class with a `report(text, error)` method can
guard its slots with this.
"""
from __future__ import annotations

import functools
import sys
import traceback
from typing import Any, Callable

from .logic import PluginError, friendly_error


def guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    """Run a slot; any exception becomes `self.report(message, True)` (and a traceback on stderr for a bug)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any) -> Any:
        try:
            return method(self, *args)
        except Exception as exc:  # noqa: BLE001 - the whole point
            if not isinstance(exc, PluginError):
                traceback.print_exc(file=sys.stderr)
            self.report(friendly_error(exc), True)
            return None

    return wrapper

"""The one error root of AdaStyle, and the error the plug-ins show.

Every error AdaStyle raises on purpose derives from `AdaStyleError` (the core's user errors too), so a
caller can tell "AdaStyle refused this, with a message for the user" from a bug in one `except`.
"""
from __future__ import annotations


class AdaStyleError(Exception):
    """Root of every error AdaStyle raises on purpose; `message` is fit to show a user."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message


class PluginError(AdaStyleError):
    """A problem a plug-in reports to its user (a bad value, an unusable layer, what the server said).

    `status` is the HTTP status when the server answered (0 otherwise) and `code` its error code.
    """

    def __init__(self, message: str, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RuleError(PluginError, ValueError):
    """A value that breaks one of the shared rules (also a ValueError: it is a bad value)."""


class ServerUnavailable(PluginError):
    """The server is not running or not reachable."""


class JobCancelled(PluginError):
    """The job was cancelled."""

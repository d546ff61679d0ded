"""The error classes of the core, under the one root `AdaStyleError`, and how an error reaches a user.

Why a `UserError` type of its own: what is the user's fault (a bad value, an unreadable image, a wrong
file) is shown to them as it is, in our words; anything else (a torch or PIL error deep inside, a bug)
is not theirs to fix, so it is logged with its traceback and shown as INTERNAL_ERROR instead of a
misleading message. `user_message` is the one place that decides: the server's jobs and its error
handler, the batch run's failed frames and the command line all ask it.
"""
from __future__ import annotations

import logging

from adastyle_plugin.errors import AdaStyleError

__all__ = ["AdaStyleError", "UserError", "Cancelled", "INTERNAL_ERROR", "OUT_OF_MEMORY", "user_message"]

INTERNAL_ERROR = "internal error (the log has the details)"
OUT_OF_MEMORY = "out of memory: try a smaller tile size or a smaller image"


class UserError(AdaStyleError):
    """A problem with what the user asked for, with a message fit to show them."""


class Cancelled(AdaStyleError):
    """The user cancelled the work (raised between tiles when the cancel callback says so)."""


def is_out_of_memory(exc: BaseException) -> bool:
    """MemoryError, or torch's OutOfMemoryError (a RuntimeError), without importing torch."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"


def user_message(exc: BaseException, log: logging.Logger, what: str = "request") -> str:
    """The text a user sees for `exc`; anything that is not a UserError is logged with its traceback."""
    if isinstance(exc, UserError):  # shown where it happened; the log keeps it for debugging only
        log.debug("%s refused: %s", what, exc)
        return exc.message or str(exc)
    if is_out_of_memory(exc):
        log.warning("%s ran out of memory: %s", what, exc)
        return OUT_OF_MEMORY
    log.error("%s failed with an internal error", what, exc_info=exc)
    return INTERNAL_ERROR

"""API errors: every failure answers JSON {"error": code, "message": text} with a fitting status."""
from __future__ import annotations

from adastyle.errors import AdaStyleError, UserError


class ApiError(UserError):
    """A request the API refuses, with its HTTP status, error code and message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers or {}


class BodyTooLarge(AdaStyleError):
    """Raised from the receive channel when a request body passes the size limit."""


class BodyTimeout(AdaStyleError):
    """Raised from the receive channel when a request body stops arriving for too long."""

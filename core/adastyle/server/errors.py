"""API errors: every failure answers JSON {"error": code, "message": text} with a fitting status."""
from __future__ import annotations


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


class BodyTooLarge(Exception):
    """Raised from the receive channel when a request body passes the size limit."""


class BodyTimeout(Exception):
    """Raised from the receive channel when a request body stops arriving for too long."""

"""Typed errors: every failure the client raises is a ``MemoryServiceError``."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class MemoryServiceError(Exception):
    """Base of every error this package raises."""


class APIConnectionError(MemoryServiceError):
    """No answer from the server (refused, reset, timed out), after any retries."""


class APIStatusError(MemoryServiceError):
    """The server answered 4xx or 5xx.

    ``body`` is the decoded JSON body (the service sends ``{"error", "detail"}``) or the
    raw text when it is not JSON; ``request_id`` is the ``x-request-id`` header, if any.
    """

    def __init__(self, message: str, *, response: httpx.Response, body: Any) -> None:
        super().__init__(message)
        self.response = response
        self.status_code = response.status_code
        self.body = body
        self.request_id: str | None = response.headers.get("x-request-id")

    @property
    def error(self) -> str | None:
        """The server's error name, e.g. ``"NotFound"``."""
        value = self.body.get("error") if isinstance(self.body, dict) else None
        return value if isinstance(value, str) else None

    @property
    def detail(self) -> Any:
        """The server's explanation: a string, or a list of field errors for 422."""
        return self.body.get("detail") if isinstance(self.body, dict) else self.body


class AuthenticationError(APIStatusError):
    """401: no API key, or an unknown or revoked one."""


class NotFoundError(APIStatusError):
    """404: no such memory, episode, job or user in this tenant."""


class ConflictError(APIStatusError):
    """409: e.g. an Idempotency-Key reused with another body, or no LLM for ``answer``."""


class ValidationError(APIStatusError):
    """422 (the request is invalid) or 413 (the body is too large)."""


class RateLimitError(APIStatusError):
    """429: the API key's rate limit; ``retry_after`` is in seconds, when the server says."""

    @property
    def retry_after(self) -> float | None:
        return _parse_retry_after(self.response.headers.get("retry-after"))


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())

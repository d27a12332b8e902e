"""Errors of the core. The API maps each class to one status code; no HTTP here."""

from __future__ import annotations

from typing import Any


class MemoryServiceError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, detail: Any = None) -> None:
        super().__init__(detail)
        self.detail = detail if detail is not None else self.__class__.__name__


class NotFound(MemoryServiceError):
    """The thing asked for does not exist in the caller's tenant."""


class Conflict(MemoryServiceError):
    """The request contradicts the current state (reused idempotency key, ...)."""


class InvalidInput(MemoryServiceError):
    """The caller sent something the service will not store or answer."""


class Unauthorized(MemoryServiceError):
    """Missing, unknown or revoked API key."""


class RateLimited(MemoryServiceError):
    """Too many requests for this key; ``retry_after_s`` says when to try again."""

    def __init__(self, detail: Any = None, *, retry_after_s: float = 1.0) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class UpstreamUnavailable(MemoryServiceError):
    """A dependency (database, LLM, broker) failed in a way worth retrying."""


class DatabaseUnavailable(UpstreamUnavailable):
    """The database cannot be reached (restarting, network, the connection lost): retry
    shortly. Lost before the commit, the transaction committed nothing; lost during it,
    the outcome is unknown, and a retry with the same idempotency key settles it."""


class ConfigurationError(MemoryServiceError):
    """The service was configured in a way it cannot run with."""


class EmbedderMismatch(ConfigurationError):
    """The service's embedder is not the one that made the tenant's stored vectors:
    searching or writing would compare or mix vectors of two models."""

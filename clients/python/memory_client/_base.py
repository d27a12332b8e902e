"""The request core both clients share: configuration, requests, retries, parsing, errors.

Nothing here does I/O. A client describes each operation as a ``Call`` (built in
``_routes``), then its own small driver sends it, asking ``ClientCore`` whether and when
to retry and how to turn the answer into a model or a typed error.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx
from pydantic import TypeAdapter

from memory_client._version import __version__
from memory_client.errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    RateLimitError,
    ValidationError,
    _parse_retry_after,
)

T = TypeVar("T")

ENV_URL = "MEMORY_SERVICE_URL"
ENV_API_KEY = "MEMORY_SERVICE_API_KEY"
DEFAULT_BASE_URL = "http://127.0.0.1:8080"
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

STATUS_ERRORS: Mapping[int, type[APIStatusError]] = {
    401: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    413: ValidationError,
    422: ValidationError,
    429: RateLimitError,
}


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how long to wait before sending a request again.

    A 429 is always retried (the server rejects it before doing any work). A 5xx or a
    connection error is retried only for idempotent requests: GET, PUT, DELETE, reads
    sent as POST (search, context, answer), import (idempotent by design) and any
    POST carrying an Idempotency-Key (``add`` and ``feedback`` send one).
    """

    max_retries: int = 2
    """Retries after the first attempt; 0 turns retrying off."""
    base_delay: float = 0.5
    """Seconds before the first retry; doubled for each further one (then jittered)."""
    max_delay: float = 8.0
    """Cap, in seconds, on the exponential backoff."""
    max_retry_after: float = 60.0
    """A longer ``Retry-After`` (seconds) is not waited for: the error is raised."""

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number ``attempt + 1``: in [d/2, d], d = base * 2**attempt."""
        ceiling = min(self.max_delay, self.base_delay * 2.0**attempt)
        return ceiling * (0.5 + random.random() / 2)


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One operation: the request to send and the type its JSON answer parses into.

    For a ``stream`` call, ``response`` is the type of each line (JSON Lines).
    """

    method: str
    path: str
    response: type[T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    content: bytes | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    idempotent: bool = False
    """Safe to repeat even though the method is POST or PATCH."""
    stream: bool = False
    finish: Callable[[T], T] | None = None
    """Applied to the parsed answer (a client-side step, such as Mem0's ``threshold``)."""

    @property
    def retryable(self) -> bool:
        """Whether a 5xx or a lost connection may be retried."""
        return (
            self.idempotent
            or self.method in IDEMPOTENT_METHODS
            or IDEMPOTENCY_HEADER in self.headers
        )

    def parse(self, content: bytes | str) -> T:
        parsed = TypeAdapter(self.response).validate_json(content)
        return parsed if self.finish is None else self.finish(parsed)


class ClientCore:
    """Configuration and decisions shared by ``MemoryClient`` and ``AsyncMemoryClient``."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        *,
        timeout: float | None,
        retry: RetryPolicy | None,
        headers: Mapping[str, str] | None,
    ) -> None:
        self.base_url = (base_url or os.environ.get(ENV_URL) or DEFAULT_BASE_URL).rstrip("/")
        self.api_key = api_key or os.environ.get(ENV_API_KEY) or None
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.headers = {"User-Agent": f"memory-client/{__version__}", **(headers or {})}
        if self.api_key:
            self.headers["Authorization"] = f"Bearer {self.api_key}"

    def http_options(self) -> dict[str, Any]:
        """Keyword arguments for ``httpx.Client`` or ``httpx.AsyncClient``."""
        return {"base_url": self.base_url, "headers": self.headers, "timeout": self.timeout}

    def build(self, http: httpx.Client | httpx.AsyncClient, call: Call[Any]) -> httpx.Request:
        """The request for ``call``; built once, so every retry sends the same bytes."""
        return http.build_request(
            call.method,
            call.path,
            params=call.params,
            json=call.json,
            content=call.content,
            headers=dict(call.headers),
        )

    def retry_delay(
        self, call: Call[Any], attempt: int, outcome: httpx.Response | httpx.TransportError
    ) -> float | None:
        """Seconds to wait before sending ``call`` again, or None to stop here.

        ``attempt`` counts from 0 (the first send); ``outcome`` is what it got.
        """
        if attempt >= self.retry.max_retries:
            return None
        if isinstance(outcome, httpx.TransportError):
            return self.retry.backoff(attempt) if call.retryable else None
        status = outcome.status_code
        if status != 429 and not (status >= 500 and call.retryable):
            return None
        wait = _parse_retry_after(outcome.headers.get("retry-after"))
        if wait is None:
            return self.retry.backoff(attempt)
        return wait if wait <= self.retry.max_retry_after else None

    def check(self, response: httpx.Response) -> httpx.Response:
        """``response`` when it is a success; raise its typed error otherwise."""
        if response.is_success:
            return response
        raise status_error(response)


def status_error(response: httpx.Response) -> APIStatusError:
    """The typed error for a 4xx or 5xx answer (its body must have been read)."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = response.text
    error_class = STATUS_ERRORS.get(response.status_code, APIStatusError)
    summary = body.get("detail", body) if isinstance(body, dict) else body
    message = f"{response.status_code} {response.reason_phrase}: {summary}"
    return error_class(message, response=response, body=body)


def connection_error(exc: httpx.TransportError) -> APIConnectionError:
    return APIConnectionError(f"{type(exc).__name__}: {exc}")

"""The drivers under both clients: own the HTTP client, send a ``Call``, retry, check.

``SyncDriver`` and ``AsyncDriver`` are the only code that differs by I/O model; every
decision (what to send, whether and when to retry, how to read the answer) is asked
of ``ClientCore``. The clients add one public method per operation on top.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

import httpx

from memory_client._base import Call, ClientCore, RetryPolicy, connection_error

T = TypeVar("T")


class _Closable(Protocol):
    def close(self) -> None: ...


class _AsyncClosable(Protocol):
    async def close(self) -> None: ...


class SyncDriver:
    """Blocking I/O for ``MemoryClient``, which adds ``close`` and the operations."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | None = 60.0,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._core = ClientCore(base_url, api_key, timeout=timeout, retry=retry, headers=headers)
        self._http = httpx.Client(transport=transport, **self._core.http_options())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self: _Closable,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, call: Call[Any]) -> httpx.Response:
        request = self._core.build(self._http, call)
        attempt = 0
        while True:
            try:
                response = self._http.send(request, stream=call.stream)
            except httpx.TransportError as exc:
                delay = self._core.retry_delay(call, attempt, exc)
                if delay is None:
                    raise connection_error(exc) from exc
            else:
                if not response.is_success:
                    response.read()
                delay = self._core.retry_delay(call, attempt, response)
                if delay is None:
                    return self._core.check(response)
                response.close()
            time.sleep(delay)
            attempt += 1

    def _request(self, call: Call[T]) -> T:
        return call.parse(self._send(call).content)

    @contextmanager
    def _stream(self, call: Call[Any]) -> Iterator[httpx.Response]:
        response = self._send(call)
        try:
            yield response
        except httpx.TransportError as exc:  # the stream broke after it began
            raise connection_error(exc) from exc
        finally:
            response.close()


class AsyncDriver:
    """Asyncio I/O for ``AsyncMemoryClient``, which adds ``close`` and the operations."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | None = 60.0,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._core = ClientCore(base_url, api_key, timeout=timeout, retry=retry, headers=headers)
        self._http = httpx.AsyncClient(transport=transport, **self._core.http_options())

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self: _AsyncClosable,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _send(self, call: Call[Any]) -> httpx.Response:
        request = self._core.build(self._http, call)
        attempt = 0
        while True:
            try:
                response = await self._http.send(request, stream=call.stream)
            except httpx.TransportError as exc:
                delay = self._core.retry_delay(call, attempt, exc)
                if delay is None:
                    raise connection_error(exc) from exc
            else:
                if not response.is_success:
                    await response.aread()
                delay = self._core.retry_delay(call, attempt, response)
                if delay is None:
                    return self._core.check(response)
                await response.aclose()
            await asyncio.sleep(delay)
            attempt += 1

    async def _request(self, call: Call[T]) -> T:
        return call.parse((await self._send(call)).content)

    @asynccontextmanager
    async def _stream(self, call: Call[Any]) -> AsyncIterator[httpx.Response]:
        response = await self._send(call)
        try:
            yield response
        except httpx.TransportError as exc:  # the stream broke after it began
            raise connection_error(exc) from exc
        finally:
            await response.aclose()

"""Retries, against httpx.MockTransport: what is retried, how long it waits, and the key.

Waits are recorded instead of slept: ``time.sleep`` and ``asyncio.sleep`` are replaced.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest

from memory_client import (
    APIConnectionError,
    APIStatusError,
    AsyncMemoryClient,
    MemoryClient,
    RateLimitError,
    RetryPolicy,
)

MEMORY: dict[str, Any] = {
    "id": str(uuid4()),
    "user_id": "u",
    "agent_id": None,
    "session_id": None,
    "text": "a fact",
    "metadata": {},
    "source_episode_ids": [],
    "valid_from": None,
    "valid_to": None,
    "status": "active",
    "utility": 0.0,
    "created_at": "2024-01-01T00:00:00Z",
    "updated_at": "2024-01-01T00:00:00Z",
}
ADDED = {"episode_ids": [str(uuid4())], "job_id": str(uuid4())}


class Script:
    """Answers requests with the given responses in turn, recording each request."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def ok(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def failure(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": "Oops", "detail": "x"}, headers=headers)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waited: list[float] = []

    async def async_sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(time, "sleep", waited.append)
    monkeypatch.setattr(asyncio, "sleep", async_sleep)
    return waited


@pytest.fixture
def mock(sleeps: list[float]) -> Iterator[Callable[..., MemoryClient]]:
    clients: list[MemoryClient] = []

    def make(script: Script, retry: RetryPolicy | None = None) -> MemoryClient:
        transport = httpx.MockTransport(script)
        clients.append(MemoryClient("http://mock", "k", retry=retry, transport=transport))
        return clients[-1]

    yield make
    for c in clients:
        c.close()


def test_429_waits_for_retry_after(mock: Callable[..., MemoryClient], sleeps: list[float]) -> None:
    script = Script(failure(429, **{"Retry-After": "3"}), ok(MEMORY))
    assert mock(script).get(MEMORY["id"]).text == "a fact"
    assert sleeps == [3.0]
    assert len(script.requests) == 2


def test_429_is_retried_even_for_a_post_without_key(
    mock: Callable[..., MemoryClient], sleeps: list[float]
) -> None:
    script = Script(failure(429, **{"Retry-After": "1"}), ok(MEMORY, 201))
    assert mock(script).add_memory("a fact", user_id="u").text == "a fact"
    assert sleeps == [1.0]


def test_503_twice_then_200_backs_off_exponentially(
    mock: Callable[..., MemoryClient], sleeps: list[float]
) -> None:
    script = Script(failure(503), failure(503), ok(MEMORY))
    retry = RetryPolicy(max_retries=2, base_delay=1.0)
    assert mock(script, retry).get(MEMORY["id"]).id
    assert len(script.requests) == 3
    first, second = sleeps
    assert 0.5 <= first <= 1.0
    assert 1.0 <= second <= 2.0


def test_gives_up_after_max_retries(mock: Callable[..., MemoryClient], sleeps: list[float]) -> None:
    script = Script(failure(502), failure(502), failure(502))
    with pytest.raises(APIStatusError) as raised:
        mock(script, RetryPolicy(max_retries=2)).get(MEMORY["id"])
    assert raised.value.status_code == 502
    assert len(script.requests) == 3
    assert len(sleeps) == 2


def test_add_resends_the_same_idempotency_key(
    mock: Callable[..., MemoryClient], sleeps: list[float]
) -> None:
    script = Script(failure(503), httpx.ConnectError("reset"), ok(ADDED, 201))
    assert mock(script).add("hello", user_id="u").job_id
    keys = [r.headers["Idempotency-Key"] for r in script.requests]
    assert len(keys) == 3
    assert len(set(keys)) == 1
    assert keys[0].startswith("mc-")
    assert script.requests[0].content == script.requests[2].content


def test_each_add_gets_its_own_key_unless_given(mock: Callable[..., MemoryClient]) -> None:
    script = Script(ok(ADDED, 201), ok(ADDED, 201), ok(ADDED, 201))
    client = mock(script)
    client.add("a", user_id="u")
    client.add("a", user_id="u")
    client.add("a", user_id="u", idempotency_key="mine")
    keys = [r.headers["Idempotency-Key"] for r in script.requests]
    assert keys[0] != keys[1]
    assert keys[2] == "mine"


def test_post_without_key_is_not_retried_on_5xx(
    mock: Callable[..., MemoryClient], sleeps: list[float]
) -> None:
    script = Script(failure(503), ok(MEMORY, 201))
    with pytest.raises(APIStatusError):
        mock(script).add_memory("a fact", user_id="u")
    assert len(script.requests) == 1
    assert sleeps == []


def test_connection_errors(mock: Callable[..., MemoryClient], sleeps: list[float]) -> None:
    flaky = Script(httpx.ConnectError("refused"), ok(MEMORY))
    assert mock(flaky).get(MEMORY["id"]).id
    down = Script(*[httpx.ReadTimeout("slow")] * 3)
    with pytest.raises(APIConnectionError, match="ReadTimeout"):
        mock(down).get(MEMORY["id"])
    assert len(down.requests) == 3
    unsafe = Script(httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError):
        mock(unsafe).update(MEMORY["id"], text="x")
    assert len(unsafe.requests) == 1


def test_retry_after_beyond_the_cap_raises_at_once(
    mock: Callable[..., MemoryClient], sleeps: list[float]
) -> None:
    script = Script(failure(429, **{"Retry-After": "3600"}))
    with pytest.raises(RateLimitError) as raised:
        mock(script).get(MEMORY["id"])
    assert raised.value.retry_after == 3600.0
    assert sleeps == []


def test_retry_after_as_http_date(mock: Callable[..., MemoryClient], sleeps: list[float]) -> None:
    script = Script(failure(429, **{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}), ok(MEMORY))
    mock(script).get(MEMORY["id"])
    assert sleeps == [0.0]  # a date in the past: retry now


def test_no_retries_when_turned_off(mock: Callable[..., MemoryClient]) -> None:
    script = Script(failure(429, **{"Retry-After": "1"}))
    with pytest.raises(RateLimitError):
        mock(script, RetryPolicy(max_retries=0)).get(MEMORY["id"])
    assert len(script.requests) == 1


async def test_async_client_retries_the_same_way(sleeps: list[float]) -> None:
    script = Script(failure(429, **{"Retry-After": "2"}), failure(500), ok(ADDED, 201))

    async def handler(request: httpx.Request) -> httpx.Response:
        return script(request)

    transport = httpx.MockTransport(handler)
    async with AsyncMemoryClient("http://mock", "k", transport=transport) as client:
        assert (await client.add([{"content": "hi"}], user_id="u")).episode_ids
    assert sleeps[0] == 2.0
    assert len({r.headers["Idempotency-Key"] for r in script.requests}) == 1
    assert len(script.requests) == 3


async def test_async_stream_is_retried_before_it_starts(sleeps: list[float]) -> None:
    lines = b'{"type": "header"}\n\n{"type": "episode", "id": "e1"}\n'
    script = Script(failure(503), httpx.Response(200, content=lines))

    async def handler(request: httpx.Request) -> httpx.Response:
        return script(request)

    async with AsyncMemoryClient("http://m", "k", transport=httpx.MockTransport(handler)) as c:
        records = [r async for r in c.export(user_id="u")]
    assert records == [{"type": "header"}, {"type": "episode", "id": "e1"}]
    assert script.requests[0].url.params["user_id"] == "u"

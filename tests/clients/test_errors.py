"""Error mapping, configuration and request shapes, against httpx.MockTransport."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pydantic
import pytest

from memory_client import (
    APIStatusError,
    AsyncMemoryClient,
    AuthenticationError,
    ConflictError,
    MemoryClient,
    MemoryServiceError,
    Message,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ValidationError,
)

NO_RETRY = RetryPolicy(max_retries=0)


def answering(response: httpx.Response, seen: list[httpx.Request] | None = None) -> MemoryClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return response

    return MemoryClient("http://m", "k", retry=NO_RETRY, transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("status", "error_class"),
    [
        (400, APIStatusError),
        (401, AuthenticationError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, ValidationError),
        (422, ValidationError),
        (429, RateLimitError),
        (500, APIStatusError),
        (503, APIStatusError),
    ],
)
def test_status_maps_to_error_class(status: int, error_class: type[APIStatusError]) -> None:
    body = {"error": "Something", "detail": [{"loc": ["body", "limit"], "msg": "too big"}]}
    response = httpx.Response(status, json=body, headers={"x-request-id": "req-42"})
    with answering(response) as client, pytest.raises(error_class) as raised:
        client.get("m1")
    error = raised.value
    assert type(error) is error_class
    assert isinstance(error, MemoryServiceError)
    assert (error.status_code, error.body, error.request_id) == (status, body, "req-42")
    assert (error.error, error.detail) == ("Something", body["detail"])
    assert str(status) in str(error)
    assert "too big" in str(error)


def test_non_json_error_body_is_kept_as_text() -> None:
    bad_gateway = httpx.Response(502, text="<html>bad gateway</html>")
    with answering(bad_gateway) as client, pytest.raises(APIStatusError) as raised:
        client.job("j1")
    assert raised.value.body == "<html>bad gateway</html>"
    assert raised.value.request_id is None
    assert raised.value.error is None


def test_rate_limit_error_carries_retry_after() -> None:
    response = httpx.Response(429, json={"error": "RateLimited"}, headers={"Retry-After": "7"})
    with answering(response) as client, pytest.raises(RateLimitError) as raised:
        client.get("m1")
    assert raised.value.retry_after == 7.0


def test_url_and_key_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMORY_SERVICE_URL", "http://from-env:9000/")
    monkeypatch.setenv("MEMORY_SERVICE_API_KEY", "msk_env")
    seen: list[httpx.Request] = []
    with answering(httpx.Response(404, json={}), seen) as client, pytest.raises(NotFoundError):
        client.job("j1")
    # ``answering`` passes its own URL and key: explicit arguments win.
    assert str(seen[0].url) == "http://m/v1/jobs/j1"
    assert seen[0].headers["Authorization"] == "Bearer k"

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(404, json={})

    client = MemoryClient(transport=httpx.MockTransport(handler), retry=NO_RETRY)
    monkeypatch.setenv("MEMORY_SERVICE_API_KEY", "msk_changed_later")
    with client, pytest.raises(NotFoundError):
        client.job("j1")
    assert client.base_url == "http://from-env:9000"
    assert str(seen[1].url) == "http://from-env:9000/v1/jobs/j1"
    assert seen[1].headers["Authorization"] == "Bearer msk_env"  # read once, at construction
    assert seen[1].headers["User-Agent"].startswith("memory-client/")


async def test_async_client_reads_the_environment_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMORY_SERVICE_URL", "http://async-env")
    monkeypatch.delenv("MEMORY_SERVICE_API_KEY", raising=False)
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, json={"error": "Unauthorized"})

    async with AsyncMemoryClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(AuthenticationError):
            await client.get_all(user_id="u")
    assert seen[0].url.host == "async-env"
    assert "Authorization" not in seen[0].headers


def test_messages_are_normalised_and_times_sent_as_iso() -> None:
    seen: list[httpx.Request] = []
    added = {"episode_ids": [], "job_id": "00000000-0000-0000-0000-000000000001"}
    with answering(httpx.Response(201, json=added), seen) as client:
        client.add("just text", user_id="u")
        when = datetime(2024, 5, 1, 12, tzinfo=UTC)
        client.add(
            [{"role": "assistant", "content": "hi", "occurred_at": when}, Message(content="yo")],
            agent_id="a",
            metadata={"src": "chat"},
        )
    first, second = (json.loads(r.content) for r in seen)
    only = {"role": "user", "content": "just text", "metadata": {}}
    assert first == {"user_id": "u", "messages": [only]}
    assert second == {
        "agent_id": "a",
        "messages": [
            {
                "role": "assistant",
                "content": "hi",
                "occurred_at": "2024-05-01T12:00:00Z",
                "metadata": {"src": "chat"},
            },
            {"role": "user", "content": "yo", "metadata": {"src": "chat"}},
        ],
    }


def test_unknown_message_fields_fail_before_sending() -> None:
    seen: list[httpx.Request] = []
    client = answering(httpx.Response(201, json={}), seen)
    with client, pytest.raises(pydantic.ValidationError):
        client.add([{"content": "x", "mood": "happy"}])
    assert seen == []


def test_query_parameters_leave_out_unset_values() -> None:
    seen: list[httpx.Request] = []
    page: dict[str, Any] = {"items": [], "next_cursor": None}
    with answering(httpx.Response(200, json=page), seen) as client:
        client.episodes(user_id="u", since=datetime(2024, 1, 1, tzinfo=UTC))
        client.get_all(session_id="s", cursor="c1", limit=5)
    assert dict(seen[0].url.params) == {
        "user_id": "u",
        "since": "2024-01-01T00:00:00Z",
        "limit": "50",
        "order": "asc",
    }
    assert dict(seen[1].url.params) == {
        "session_id": "s",
        "cursor": "c1",
        "limit": "5",
        "include_inactive": "false",
    }


def test_export_raises_the_typed_error_when_iteration_starts() -> None:
    response = httpx.Response(401, json={"error": "Unauthorized", "detail": "no key"})
    with answering(response) as client:
        records = client.export(user_id="u")
        with pytest.raises(AuthenticationError) as raised:
            next(records)
    assert raised.value.detail == "no key"

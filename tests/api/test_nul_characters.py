"""A NUL character (U+0000) anywhere PostgreSQL would get it is a 422 naming the field.

PostgreSQL ``text`` and ``jsonb`` cannot hold NUL: before the check, each of these was a
500 from asyncpg (found by the schemathesis fuzz test with ``allow-x00``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from memory_service.bootstrap import Components
from tests.api.helpers import add_memory, episode_record

NUL = "a\u0000b"
TABLES = ("episodes", "memories", "memory_history", "entities", "retrievals", "jobs")
MESSAGE = {"content": "fine"}

# (name, method, url, JSON body, headers, the error's loc)
CASES: list[tuple[str, str, str, Any, dict[str, str], list[Any]]] = [
    (
        "message content",
        "POST",
        "/v1/messages",
        {"user_id": "u", "messages": [MESSAGE, {"content": NUL}]},
        {},
        ["body", "messages", 1, "content"],
    ),
    (
        "message speaker",
        "POST",
        "/v1/messages",
        {"user_id": "u", "messages": [{"content": "x", "speaker": NUL}]},
        {},
        ["body", "messages", 0, "speaker"],
    ),
    (
        "message metadata value",
        "POST",
        "/v1/messages",
        {"user_id": "u", "messages": [{"content": "x", "metadata": {"k": [1, {"x": NUL}]}}]},
        {},
        ["body", "messages", 0, "metadata"],
    ),
    (
        "message metadata key",
        "POST",
        "/v1/messages",
        {"user_id": "u", "messages": [{"content": "x", "metadata": {NUL: 1}}]},
        {},
        ["body", "messages", 0, "metadata"],
    ),
    (
        "idempotency key",
        "POST",
        "/v1/messages",
        {"user_id": "u", "messages": [MESSAGE]},
        {"Idempotency-Key": NUL},
        ["header", "Idempotency-Key"],
    ),
    ("memory text", "POST", "/v1/memories", {"user_id": "u", "text": NUL}, {}, ["body", "text"]),
    (
        "memory metadata",
        "POST",
        "/v1/memories",
        {"user_id": "u", "text": "x", "metadata": {"k": NUL}},
        {},
        ["body", "metadata"],
    ),
    ("search query", "POST", "/v1/search", {"user_id": "u", "query": NUL}, {}, ["body", "query"]),
    (
        "search preset",
        "POST",
        "/v1/search",
        {"user_id": "u", "query": "x", "preset": NUL},
        {},
        ["body", "preset"],
    ),
    ("context query", "POST", "/v1/context", {"user_id": "u", "query": NUL}, {}, ["body", "query"]),
    (
        "answer question",
        "POST",
        "/v1/answer",
        {"user_id": "u", "question": NUL},
        {},
        ["body", "question"],
    ),
    (
        "feedback id",
        "POST",
        "/v1/feedback",
        {"retrieval_id": "00000000-0000-0000-0000-000000000001", "reward": 1, "feedback_id": NUL},
        {},
        ["body", "feedback_id"],
    ),
]


async def row_counts(components: Components) -> dict[str, int]:
    async with components.uow() as uow:  # no tenant: every tenant's rows
        return {
            t: (await uow.session.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()
            for t in TABLES
        }


@pytest.mark.parametrize(
    ("method", "url", "body", "headers", "loc"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
async def test_nul_is_422_naming_the_field_and_stores_nothing(
    client: AsyncClient,
    components: Components,
    method: str,
    url: str,
    body: Any,
    headers: dict[str, str],
    loc: list[Any],
) -> None:
    before = await row_counts(components)
    r = await client.request(method, url, json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "InvalidInput"
    [error] = r.json()["detail"]
    assert error["loc"] == loc
    assert "NUL character" in error["msg"]
    assert await row_counts(components) == before


async def test_nul_in_metadata_says_where(client: AsyncClient) -> None:
    body = {"user_id": "u", "text": "x", "metadata": {"tags": ["ok", NUL]}}
    r = await client.post("/v1/memories", json=body)
    assert r.status_code == 422, r.text
    assert "['tags'][1]" in r.json()["detail"][0]["msg"]


async def test_nul_in_a_patch_is_422_and_changes_nothing(client: AsyncClient) -> None:
    fact = await add_memory(client, "Pixel is a greyhound", user_id="u")
    for body in ({"text": NUL}, {"metadata": {"k": NUL}}):
        r = await client.patch(f"/v1/memories/{fact['id']}", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", next(iter(body))]
    history = (await client.get(f"/v1/memories/{fact['id']}/history")).json()
    assert [h["op"] for h in history] == ["ADD"]


@pytest.mark.parametrize(
    ("field", "value"), [("text", NUL), ("metadata", {"k": [NUL]}), ("speaker", NUL)]
)
async def test_nul_in_an_import_line_is_422_naming_line_and_field(
    client: AsyncClient, components: Components, field: str, value: Any
) -> None:
    record = episode_record()
    fine = json.dumps({**record, "id": "00000000-0000-0000-0000-0000000000ab"})
    before = await row_counts(components)
    r = await client.post("/v1/import", content=f"{fine}\n{json.dumps({**record, field: value})}")
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail["line"] == 2
    [error] = detail["errors"]
    assert error["loc"] == [field]
    assert "NUL character" in error["msg"]
    assert await row_counts(components) == before

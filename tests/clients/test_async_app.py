"""AsyncMemoryClient against the real app in process (ASGITransport, test database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from memory_client import (
    AsyncMemoryClient,
    AuthenticationError,
    ConflictError,
    Message,
    NotFoundError,
    ValidationError,
)
from memory_service.bootstrap import Components, build_consolidator
from workers.dispatch import InProcessWorker

T0 = datetime(2024, 5, 1, 12, tzinfo=UTC)


async def test_add_stores_turns_once_per_idempotency_key(async_client: AsyncMemoryClient) -> None:
    turns: list[Message | dict[str, Any]] = [
        {"content": "I adopted a greyhound named Pixel", "speaker": "Caroline", "occurred_at": T0},
        Message(role="assistant", content="Congratulations!", occurred_at=T0 + timedelta(1)),
    ]
    first = await async_client.add(turns, user_id="u", idempotency_key="turn-1")
    again = await async_client.add(turns, user_id="u", idempotency_key="turn-1")
    assert (again.replayed, again.episode_ids) == (True, first.episode_ids)

    page = await async_client.episodes(user_id="u")
    assert [e.content for e in page.items] == [
        "I adopted a greyhound named Pixel",
        "Congratulations!",
    ]
    assert page.items[0].speaker == "Caroline"
    assert page.next_cursor is None
    assert (await async_client.job(first.job_id)).state == "queued"


async def test_add_takes_a_string_and_shared_metadata(async_client: AsyncMemoryClient) -> None:
    await async_client.add("plain text turn", session_id="s", metadata={"app": "demo"})
    await async_client.add(
        [Message(content="tagged", metadata={"app": "mine", "k": 1})],
        session_id="s",
        metadata={"app": "demo"},
    )
    items = (await async_client.episodes(session_id="s", order="desc", limit=1)).items
    assert [(e.content, e.role, e.metadata) for e in items] == [
        ("tagged", "user", {"app": "mine", "k": 1})
    ]
    first = (await async_client.episodes(session_id="s", limit=1)).items[0]
    assert (first.content, first.metadata) == ("plain text turn", {"app": "demo"})


async def test_memory_life_cycle(async_client: AsyncMemoryClient) -> None:
    fact = await async_client.add_memory("Pixel is a greyhound", user_id="u", metadata={"n": 1})
    assert (await async_client.get(fact.id)) == fact
    updated = await async_client.update(fact.id, text="Pixel is a calm greyhound")
    assert updated.text == "Pixel is a calm greyhound"
    assert [c.op for c in await async_client.history(fact.id)] == ["ADD", "UPDATE"]

    retired = await async_client.delete(str(fact.id))
    assert retired.status != "active"
    assert (await async_client.get_all(user_id="u")).items == []
    page = await async_client.get_all(user_id="u", include_inactive=True)
    assert [m.id for m in page.items] == [fact.id]


async def test_search_context_feedback(async_client: AsyncMemoryClient) -> None:
    fact = await async_client.add_memory("Pixel is a greyhound", user_id="u")
    await async_client.add("Melanie paints sunsets", user_id="u")

    found = await async_client.search("greyhound", user_id="u", limit=5, mode="fast")
    assert fact.id in [hit.id for hit in found.results]
    assert found.results[0].score > 0

    block = await async_client.context(user_id="u", query="greyhound", token_budget=200)
    assert "greyhound" in block.context
    assert block.tokens <= 200

    reward = await async_client.feedback(found.retrieval_id, 1.0, memory_ids=[fact.id])
    assert reward.applied
    assert reward.utilities[fact.id] > 0
    same = await async_client.feedback(
        found.retrieval_id, 1.0, memory_ids=[fact.id], feedback_id="f-1"
    )
    twice = await async_client.feedback(
        found.retrieval_id, 1.0, memory_ids=[fact.id], feedback_id="f-1"
    )
    assert (same.applied, twice.applied) == (True, False)


async def test_consolidation_job_runs(
    async_client: AsyncMemoryClient, components: Components
) -> None:
    added = await async_client.add("Caroline adopted a greyhound named Pixel", user_id="u")
    worker = InProcessWorker(
        components, build_consolidator(components.settings, components.embedder)
    )
    await worker.drain()
    assert (await async_client.job(added.job_id)).state == "done"


async def test_delete_all_forgets_the_user(async_client: AsyncMemoryClient) -> None:
    await async_client.add("to be forgotten", user_id="gone")
    await async_client.add("to be kept", user_id="kept")
    forgotten = await async_client.delete_all(user_id="gone")
    assert forgotten.user_id == "gone"
    assert forgotten.deleted["episodes"] == 1
    assert (await async_client.episodes(user_id="gone")).items == []
    assert len((await async_client.episodes(user_id="kept")).items) == 1


async def test_export_then_import_restores_a_user(
    async_client: AsyncMemoryClient, tmp_path: Path
) -> None:
    await async_client.add(["first turn", "second turn"], user_id="u")
    await async_client.add_memory("a fact", user_id="u")
    records = [r async for r in async_client.export(user_id="u")]
    assert records[0]["type"] == "header"
    assert {r["type"] for r in records[1:]} >= {"episode", "memory"}

    unchanged = await async_client.import_(records)
    assert all(c.added == 0 for c in unchanged.imported.values())

    await async_client.delete_all(user_id="u")
    path = tmp_path / "u.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    restored = await async_client.import_(path)
    assert restored.imported["episode"].added == 2
    assert restored.imported["memory"].added == 1
    turns = {e.content for e in (await async_client.episodes(user_id="u")).items}
    assert turns == {"first turn", "second turn"}


async def test_errors_are_typed(async_client: AsyncMemoryClient, app: Any) -> None:
    with pytest.raises(NotFoundError) as missing:
        await async_client.get(uuid4())
    assert (missing.value.status_code, missing.value.error) == (404, "NotFound")

    with pytest.raises(ValidationError) as invalid:
        await async_client.search("anything", user_id="u", limit=100_000)
    assert invalid.value.status_code == 422
    assert "limit" in json.dumps(invalid.value.detail)

    with pytest.raises(ConflictError):  # the test app has no LLM to answer with
        await async_client.answer("what is Pixel?", user_id="u")

    transport = httpx.ASGITransport(app=app)
    async with AsyncMemoryClient("http://app", "msk_wrong", transport=transport) as stranger:
        with pytest.raises(AuthenticationError) as denied:
            await stranger.get_all(user_id="u")
    assert denied.value.status_code == 401

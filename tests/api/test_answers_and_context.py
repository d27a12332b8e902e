"""Answers and context blocks through the API: the audit's fallback, token budgets,
whole passages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from httpx import AsyncClient

from memory_service.bootstrap import Components
from memory_service.testing import ScriptedLLM
from tests.api.helpers import add_memory, add_messages
from tests.api.scripted_deliberation import TURNS, scripted
from tests.conftest import api_client


@pytest.fixture
async def llm_client(components: Components) -> AsyncIterator[tuple[AsyncClient, ScriptedLLM]]:
    llm = scripted(audit_passes=False)
    async with api_client(replace(components, llm=llm), "llm") as c:
        yield c, llm


async def test_answer_needs_an_llm(client: AsyncClient) -> None:
    r = await client.post("/v1/answer", json={"user_id": "u", "question": "What necklace?"})
    assert r.status_code == 409
    assert "MEMORY_LLM_MODEL" in r.json()["detail"]


async def test_failed_audit_falls_back_to_deliberation(
    llm_client: tuple[AsyncClient, ScriptedLLM],
) -> None:
    client, llm = llm_client
    llm.calls.clear()
    await add_messages(client, TURNS, user_id="u")
    r = await client.post(
        "/v1/answer", json={"user_id": "u", "question": "What did Caroline's grandmother give her?"}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["answer"] == "a silver necklace"
    assert [a["route"] for a in body["attempts"]] == ["fast", "deliberate"]
    assert body["route"] == "deliberate"
    assert body["evidence"][0]["kind"] == "fact"
    assert "silver necklace" in body["evidence"][0]["text"]
    assert body["cost"]["llm_calls"] == 5  # answer+audit twice, one deliberation chunk
    assert len(llm.calls) == 5
    assert body["audit"]["completeness"] is False


async def test_context_block_fits_the_budget(client: AsyncClient) -> None:
    await add_messages(client, TURNS, user_id="u")
    fact = await add_memory(client, "Caroline owns a silver necklace from Sweden", user_id="u")
    r = await client.post(
        "/v1/context", json={"user_id": "u", "query": "silver necklace", "token_budget": 60}
    )
    body = r.json()
    assert r.status_code == 200, r.text
    assert body["tokens"] <= 60
    assert body["retrieval_id"]
    # chosen in rank order: the search's first hit fits, and is in
    ranked = await client.post("/v1/search", json={"user_id": "u", "query": "silver necklace"})
    first = ranked.json()["results"][0]["id"]
    assert first in body["memory_ids"] + body["episode_ids"]
    big = await client.post(
        "/v1/context", json={"user_id": "u", "query": "silver necklace", "token_budget": 2000}
    )
    assert big.json()["context"].startswith("## Facts")  # facts first, whatever their rank
    assert fact["id"] in big.json()["memory_ids"]
    assert len(big.json()["episode_ids"]) > len(body["episode_ids"])
    no_query = await client.post("/v1/context", json={"user_id": "u", "token_budget": 200})
    assert no_query.json()["memory_ids"] == [fact["id"]]
    bad = await client.post("/v1/context", json={"user_id": "u", "token_budget": 5})
    assert bad.status_code == 422


async def test_context_blocks_and_evidence_show_whole_passages(components: Components) -> None:
    texts = ["hello there", "what did you eat?", "a bowl of ramen", "sounds tasty", "bye"]
    times = [f"2024-01-01T00:00:0{i}Z" for i in range(5)]
    windowed = components.settings.model_copy(update={"default_preset": "hybrid-window"})
    async with api_client(replace(components, settings=windowed), "window") as client:
        ids = await add_messages(client, texts, session_id="s", times=times)
        r = await client.post(
            "/v1/context", json={"session_id": "s", "query": "ramen bowl", "token_budget": 2000}
        )
    block = r.json()
    assert r.status_code == 200, r.text
    # the hits come with the turns around them; overlapping passages merge, so the
    # five turns show once each, in time order (before: the hits' own lines only),
    # the day written once
    assert block["context"].splitlines() == [
        "## Conversation excerpts",
        f"- [2024-01-01] {texts[0]}",
        *(f"- {t}" for t in texts[1:]),
    ]
    assert ids[2] in block["episode_ids"]

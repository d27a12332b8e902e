"""Per-request extraction instructions: validated, kept with the job, shown to the model."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from httpx import AsyncClient
from sqlalchemy import select

from memory_service.adapters.llm_extractor import INSTRUCTIONS_HEADING
from memory_service.bootstrap import Components, build_consolidator
from memory_service.db.models import JobRow
from memory_service.testing import ScriptedLLM
from tests.workers.test_consolidation import TURNS, job_state
from workers.dispatch import InProcessWorker

EMPTY = '{"facts": [], "messages": []}'
FOOD = "Remember food preferences; ignore small talk"


async def job_payload(components: Components, job_id: str) -> dict[str, Any]:
    async with components.uow() as uow:
        stmt = select(JobRow.payload).where(JobRow.id == UUID(job_id))
        payload: dict[str, Any] = (await uow.session.execute(stmt)).scalar_one()
    return payload


async def test_instructions_reach_the_extractor_prompt(
    client: AsyncClient, components: Components
) -> None:
    body = {"user_id": "u", "messages": TURNS[:2], "instructions": FOOD}
    r = await client.post("/v1/messages", json=body)
    assert r.status_code == 201, r.text
    job_id = r.json()["job_id"]
    assert (await job_payload(components, job_id))["instructions"] == FOOD
    llm = ScriptedLLM(rules=[(r"^Conversation:", EMPTY)])
    consolidator = build_consolidator(components.settings, components.embedder, llm)

    await InProcessWorker(components, consolidator).drain()

    assert (await job_state(client, job_id))["state"] == "done"
    (messages,) = llm.calls
    system = messages[0].content
    assert f"{INSTRUCTIONS_HEADING}\n" in system
    assert f"<<<INSTRUCTIONS\n{FOOD}\nINSTRUCTIONS>>>" in system


async def test_without_instructions_the_payload_and_prompt_have_none(
    client: AsyncClient, components: Components
) -> None:
    r = await client.post("/v1/messages", json={"user_id": "u", "messages": TURNS[:1]})
    assert "instructions" not in await job_payload(components, r.json()["job_id"])
    llm = ScriptedLLM(rules=[(r"^Conversation:", EMPTY)])
    await InProcessWorker(
        components, build_consolidator(components.settings, components.embedder, llm)
    ).drain()
    assert INSTRUCTIONS_HEADING not in llm.calls[0][0].content


@pytest.mark.parametrize(
    "instructions", ["x" * 2001, "   ", "", 42], ids=["too-long", "blank", "empty", "not-text"]
)
async def test_bad_instructions_are_a_422(client: AsyncClient, instructions: object) -> None:
    body = {"user_id": "u", "messages": TURNS[:1], "instructions": instructions}
    r = await client.post("/v1/messages", json=body)
    assert r.status_code == 422, r.text
    assert "instructions" in r.text


async def test_longest_instructions_are_accepted(client: AsyncClient) -> None:
    body = {"user_id": "u", "messages": TURNS[:1], "instructions": "y" * 2000}
    assert (await client.post("/v1/messages", json=body)).status_code == 201


async def test_instructions_are_part_of_the_idempotent_request(client: AsyncClient) -> None:
    headers = {"Idempotency-Key": "k-instructions"}
    body: dict[str, Any] = {"user_id": "u", "messages": TURNS[:1]}
    first = await client.post("/v1/messages", json=body, headers=headers)
    assert first.status_code == 201
    again = await client.post("/v1/messages", json=body, headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = await client.post("/v1/messages", json={**body, "instructions": FOOD}, headers=headers)
    assert other.status_code == 409

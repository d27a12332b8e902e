"""The SDK's add(..., instructions=...): sent in the body, kept with the job; and the
tenant's standing instructions."""

from __future__ import annotations

import json
from uuid import UUID

import httpx
from sqlalchemy import select

from memory_client import AsyncMemoryClient, MemoryClient, RetryPolicy
from memory_service.bootstrap import Components
from memory_service.db.models import JobRow

ADDED: dict[str, object] = {"episode_ids": [], "job_id": None, "replayed": False}


def test_instructions_are_sent_only_when_given() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=ADDED)

    transport = httpx.MockTransport(handler)
    with MemoryClient("http://m", "k", retry=RetryPolicy(max_retries=0), transport=transport) as c:
        c.add("hi", user_id="u", instructions="ignore greetings")
        c.add("hi", user_id="u")
    with_it, without = (json.loads(r.content) for r in seen)
    assert with_it["instructions"] == "ignore greetings"
    assert "instructions" not in without


async def test_instructions_reach_the_job(
    async_client: AsyncMemoryClient, components: Components
) -> None:
    added = await async_client.add("I love ramen", user_id="u", instructions="food only")
    async with components.uow() as uow:
        stmt = select(JobRow.payload).where(JobRow.id == UUID(str(added.job_id)))
        payload = (await uow.session.execute(stmt)).scalar_one()
    assert payload["instructions"] == "food only"


async def test_standing_instructions_round_trip(async_client: AsyncMemoryClient) -> None:
    assert (await async_client.instructions()).instructions is None
    saved = await async_client.set_instructions("never remember payment details")
    assert saved.instructions == "never remember payment details"
    assert (await async_client.instructions()).instructions == saved.instructions
    assert (await async_client.set_instructions(None)).instructions is None
    assert (await async_client.instructions()).instructions is None

"""A tenant's standing extraction instructions: set and cleared over REST, one tenant's
never another's, and shown to the extractor before a request's own."""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from memory_service.bootstrap import Components, build_consolidator
from memory_service.services.consolidate import joined_instructions
from memory_service.testing import ScriptedLLM
from tests.workers.test_consolidation import TURNS
from workers.dispatch import InProcessWorker

EMPTY = '{"facts": [], "messages": []}'
STANDING = "Remember allergies and diets; never remember payment details"
REQUEST = "Remember food preferences"


async def test_set_read_and_clear(client: AsyncClient, other_client: AsyncClient) -> None:
    assert (await client.get("/v1/instructions")).json() == {"instructions": None}
    r = await client.put("/v1/instructions", json={"instructions": STANDING})
    assert r.status_code == 200, r.text
    assert r.json() == {"instructions": STANDING}
    assert (await client.get("/v1/instructions")).json() == {"instructions": STANDING}
    assert (await other_client.get("/v1/instructions")).json() == {"instructions": None}
    assert (await client.put("/v1/instructions", json={"instructions": None})).status_code == 200
    assert (await client.get("/v1/instructions")).json() == {"instructions": None}


@pytest.mark.parametrize(
    "body",
    [{"instructions": "x" * 2001}, {"instructions": "  "}, {"instructions": 3}, {}, {"x": 1}],
    ids=["too-long", "blank", "not-text", "missing", "unknown-field"],
)
async def test_bad_instructions_are_a_422_and_keep_what_was_set(
    client: AsyncClient, body: object
) -> None:
    await client.put("/v1/instructions", json={"instructions": STANDING})
    r = await client.put("/v1/instructions", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]
    assert (await client.get("/v1/instructions")).json() == {"instructions": STANDING}


async def test_standing_then_request_instructions_reach_the_prompt(
    client: AsyncClient, other_client: AsyncClient, components: Components
) -> None:
    await client.put("/v1/instructions", json={"instructions": STANDING})
    body = {"user_id": "u", "messages": TURNS[:1], "instructions": REQUEST}
    assert (await client.post("/v1/messages", json=body)).status_code == 201
    r = await other_client.post("/v1/messages", json={"user_id": "u", "messages": TURNS[:1]})
    assert r.status_code == 201
    llm = ScriptedLLM(rules=[(r"^Conversation:", EMPTY)])
    await InProcessWorker(
        components, build_consolidator(components.settings, components.embedder, llm)
    ).drain()

    prompts = [messages[0].content for messages in llm.calls]
    assert len(prompts) == 2
    ours = [p for p in prompts if STANDING in p]
    assert len(ours) == 1, "the other tenant's job must not see these instructions"
    assert f"<<<INSTRUCTIONS\n{STANDING}\n\n{REQUEST}\nINSTRUCTIONS>>>" in ours[0]


def test_joined_instructions() -> None:
    assert joined_instructions(None, None) is None
    assert joined_instructions(" a ", None) == "a"
    assert joined_instructions(None, "b") == "b"
    assert joined_instructions("a", "b") == "a\n\nb"
    assert joined_instructions("  ", "") is None

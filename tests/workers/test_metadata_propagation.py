"""Consolidated facts carry their episodes' metadata: merged, the newest episode winning;
an UPDATE merges the replaced memory's metadata under the new fact's; a NOOP leaves it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from httpx import AsyncClient

from memory_service.bootstrap import Components
from memory_service.domain.consolidation import (
    Decision,
    EpisodeText,
    ExistingMemory,
    ExtractedFact,
    Extraction,
    merged_metadata,
)
from memory_service.services.consolidate import Consolidator
from workers.jobs import run_job


class EveryTurnOneFact:
    """One fact per batch, drawn from all of its turns."""

    name = "scripted"

    async def extract(
        self, episodes: Sequence[EpisodeText], *, instructions: str | None = None
    ) -> Extraction:
        text = " / ".join(e.text for e in episodes)
        return Extraction(facts=[ExtractedFact(text, tuple(e.id for e in episodes))])


@dataclass
class ScriptedDecider:
    """ADD when nothing similar is stored, else ``op`` on the most similar memory."""

    op: str = "UPDATE"
    name: str = "scripted"
    seen: list[Sequence[ExistingMemory]] = field(default_factory=list)

    async def decide(self, fact: ExtractedFact, similar: Sequence[ExistingMemory]) -> Decision:
        self.seen.append(similar)
        if not similar:
            return Decision("ADD", fact.text)
        return Decision(self.op, fact.text, similar[0].id)  # type: ignore[arg-type]


async def consolidate(
    client: AsyncClient, components: Components, decider: ScriptedDecider, turns: list[Any]
) -> None:
    r = await client.post("/v1/messages", json={"user_id": "u", "messages": turns})
    assert r.status_code == 201, r.text
    parts = Consolidator(components.embedder, EveryTurnOneFact(), decider)
    outcome = await run_job(components, parts, UUID(r.json()["job_id"]))
    assert outcome.state == "done", outcome


async def active(client: AsyncClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await client.get("/v1/memories", params={"user_id": "u"})
    ).json()["items"]
    return items


def test_merge_rule() -> None:
    assert merged_metadata([{"a": 1, "b": {"x": 1}}, {"b": {"y": 2}, "c": 3}]) == {
        "a": 1,
        "b": {"y": 2},
        "c": 3,
    }
    assert merged_metadata([]) == {}


async def test_facts_carry_their_episodes_metadata(
    client: AsyncClient, components: Components
) -> None:
    decider = ScriptedDecider()
    await consolidate(
        client,
        components,
        decider,
        [
            {
                "content": "I moved to Porto",
                "occurred_at": "2024-01-02T00:00:00Z",
                "metadata": {"topic": "new", "source": "chat"},
            },
            {
                "content": "I love the river",
                "occurred_at": "2024-01-01T00:00:00Z",  # older, though sent second
                "metadata": {"topic": "old", "mood": "happy"},
            },
        ],
    )
    [fact] = await active(client)
    assert fact["metadata"] == {"topic": "new", "source": "chat", "mood": "happy"}
    # the fact is found by its metadata
    r = await client.post(
        "/v1/search",
        json={"user_id": "u", "query": "Porto", "kinds": ["memory"], "filters": {"mood": "happy"}},
    )
    assert [h["id"] for h in r.json()["results"]] == [fact["id"]]

    # an UPDATE: the new memory holds the old one's metadata under the new fact's
    await consolidate(
        client,
        components,
        decider,
        [{"content": "I moved to Lisbon", "metadata": {"topic": "latest", "city": "Lisbon"}}],
    )
    [updated] = await active(client)
    assert updated["id"] != fact["id"]
    assert updated["metadata"] == {
        "topic": "latest",
        "source": "chat",
        "mood": "happy",
        "city": "Lisbon",
    }

    # a NOOP adds provenance only
    await consolidate(
        client,
        components,
        ScriptedDecider(op="NOOP"),
        [{"content": "I moved to Lisbon", "metadata": {"topic": "again"}}],
    )
    [same] = await active(client)
    assert same["id"] == updated["id"]
    assert same["metadata"] == updated["metadata"]
    assert len(same["source_episode_ids"]) == len(updated["source_episode_ids"]) + 1

"""Consolidation through the jobs table, in process: facts, hypergraph, idempotency, failures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, text

from memory_service.bootstrap import Components, build_consolidator
from memory_service.db.models import JobRow, MemoryRow
from memory_service.domain.consolidation import EpisodeText, Extraction
from memory_service.domain.errors import UpstreamUnavailable
from memory_service.services.consolidate import Consolidator
from memory_service.testing import ScriptedLLM
from workers.dispatch import InProcessWorker
from workers.jobs import run_job

TURNS = [
    {
        "speaker": "Caroline",
        "content": "I went to an LGBTQ support group yesterday in Boston.",
        "occurred_at": "2023-05-08T13:56:00Z",
    },
    {
        "speaker": "Melanie",
        "content": "That's great! I painted a sunrise with my kids last week.",
        "occurred_at": "2023-05-08T13:57:00Z",
    },
    {
        "speaker": "Caroline",
        "content": "I am researching adoption agencies with Melanie.",
        "occurred_at": "2023-05-08T13:58:00Z",
    },
]


async def post(
    client: AsyncClient, turns: Sequence[dict[str, Any]], user: str = "u"
) -> dict[str, Any]:
    r = await client.post("/v1/messages", json={"user_id": user, "messages": list(turns)})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def job_state(client: AsyncClient, job_id: str) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get(f"/v1/jobs/{job_id}")).json()
    return body


@pytest.fixture
def embedder(real_embedder: Any) -> Any:
    """The API's embedder is the worker's: one tenant's vectors come from one model."""
    return real_embedder


@pytest.fixture
def worker(components: Components, real_embedder: Any) -> InProcessWorker:
    consolidator = build_consolidator(components.settings, real_embedder)
    return InProcessWorker(components, consolidator)


async def active_memories(components: Components) -> list[Any]:
    async with components.uow() as uow:
        rows = await uow.session.execute(
            select(MemoryRow.text, MemoryRow.source_episode_ids).where(MemoryRow.status == "active")
        )
        return list(rows.all())


async def test_messages_become_facts_and_hyperedges(
    client: AsyncClient, components: Components, worker: InProcessWorker
) -> None:
    posted = await post(client, TURNS)
    assert (await job_state(client, posted["job_id"]))["state"] == "queued"
    assert await worker.drain() == 1
    job = await job_state(client, posted["job_id"])
    assert job["state"] == "done", job
    assert job["attempts"] == 1
    facts = await active_memories(components)
    assert facts, "consolidation made facts"
    episode_ids = set(posted["episode_ids"])
    assert all({str(e) for e in sources} <= episode_ids for _, sources in facts)
    support = [t for t, _ in facts if "support group" in t]
    assert support
    assert "Caroline" in support[0]
    assert "7 May 2023" in support[0], "yesterday is resolved against the episode's time"
    graph = (await client.get("/v1/graph/export", params={"user_id": "u"})).json()
    names = {e["name"] for e in graph["entities"]}
    assert {"Caroline", "Melanie"} <= names
    kinds = {h["kind"] for h in graph["hyperedges"]}
    assert kinds == {"episode", "memory"}
    adoption = [h for h in graph["hyperedges"] if h["text"] and "adoption" in h["text"]]
    by_id = {e["id"]: e["name"] for e in graph["entities"]}
    assert any(
        {"Caroline", "Melanie"} <= {by_id[m["entity_id"]] for m in h["members"]} for h in adoption
    )
    assert graph["components"]
    listed = await client.get("/v1/memories", params={"user_id": "u"})
    memory = listed.json()["items"][0]
    history = (await client.get(f"/v1/memories/{memory['id']}/history")).json()
    assert history[0]["op"] == "ADD"
    assert history[0]["cause"].startswith("consolidation job")


async def test_running_a_job_twice_changes_nothing(
    client: AsyncClient, components: Components, worker: InProcessWorker
) -> None:
    posted = await post(client, TURNS)
    await worker.drain()
    before = sorted(t for t, _ in await active_memories(components))
    consolidator = build_consolidator(components.settings, components.embedder)
    outcome = await run_job(components, consolidator, posted["job_id"])
    assert outcome.state == "skipped"
    # The same messages again (a client retry without an idempotency key): no new facts.
    again = await post(client, TURNS)
    await worker.drain()
    assert (await job_state(client, again["job_id"]))["state"] == "done"
    assert sorted(t for t, _ in await active_memories(components)) == before


async def test_poison_job_fails_and_the_others_go_on(
    client: AsyncClient, components: Components, worker: InProcessWorker
) -> None:
    good = await post(client, TURNS[:1])
    async with components.uow() as uow:
        tenant = (await uow.session.execute(text("SELECT tenant_id FROM jobs LIMIT 1"))).scalar()
        poison = uuid4()
        await uow.session.execute(
            JobRow.__table__.insert().values(
                id=poison,
                tenant_id=tenant,
                user_id="u",
                kind="consolidate",
                payload={"episode_ids": ["not-a-uuid"]},
            )
        )
    await worker.drain()
    assert (await job_state(client, good["job_id"]))["state"] == "done"
    failed = await job_state(client, str(poison))
    assert failed["state"] == "failed"
    assert "malformed payload" in failed["last_error"]
    metrics = (await client.get("/metrics")).text
    assert 'memory_jobs{state="failed"} 1.0' in metrics
    assert 'memory_jobs{state="done"} 1.0' in metrics


class FlakyExtractor:
    name = "flaky"

    async def extract(
        self, episodes: Sequence[EpisodeText], *, instructions: str | None = None
    ) -> Extraction:
        raise UpstreamUnavailable("model overloaded")


async def test_transient_failure_retries_then_fails_with_its_error(
    client: AsyncClient, components: Components
) -> None:
    posted = await post(client, TURNS[:1])
    base = build_consolidator(components.settings, components.embedder)
    flaky = Consolidator(components.embedder, FlakyExtractor(), base.decider)
    first = await run_job(components, flaky, posted["job_id"])
    assert first.state == "retry"
    job = await job_state(client, posted["job_id"])
    assert (job["state"], job["attempts"]) == ("queued", 1)
    assert "model overloaded" in job["last_error"]
    for _ in range(components.settings.job_max_attempts - 1):
        async with components.uow() as uow:  # make the retry due now
            await uow.session.execute(text("UPDATE jobs SET run_after = now()"))
        last = await run_job(components, flaky, posted["job_id"])
    assert last.state == "failed"
    job = await job_state(client, posted["job_id"])
    assert (job["state"], job["attempts"]) == ("failed", components.settings.job_max_attempts)


EXTRACTION = """{"facts": [{"text": "Caroline went to an LGBTQ support group on 7 May 2023",
  "message_ids": [1], "entities": [{"name": "Caroline", "type": "person"}],
  "valid_from": "2023-05-07"}],
 "messages": [{"id": 1, "entities": [{"name": "Caroline", "type": "person"}]}]}"""


async def test_llm_path_with_a_scripted_llm(client: AsyncClient, components: Components) -> None:
    llm = ScriptedLLM(
        rules=[
            (
                r"New fact:",
                '{"op": "UPDATE", "id": 1, "text": '
                '"Caroline went to an LGBTQ support group on 7 May 2023", "reason": "newer"}',
            ),
            (r"^Conversation:", EXTRACTION),
        ]
    )
    consolidator = build_consolidator(components.settings, components.embedder, llm)
    assert consolidator.extractor.name == "llm"
    first = await post(client, TURNS[:1])
    await InProcessWorker(components, consolidator).drain()
    assert (await job_state(client, first["job_id"]))["state"] == "done"
    [(fact, sources)] = await active_memories(components)
    assert fact == "Caroline went to an LGBTQ support group on 7 May 2023"
    assert [str(s) for s in sources] == first["episode_ids"]
    # The same fact again: the decider says UPDATE, the old one is closed, not erased.
    await post(client, TURNS[:1])
    await InProcessWorker(components, consolidator).drain()
    async with components.uow() as uow:
        states = (
            await uow.session.execute(
                select(MemoryRow.status, func.count()).group_by(MemoryRow.status)
            )
        ).all()
    assert dict(states) == {"active": 1, "superseded": 1}


async def test_hypergraph_list_finds_facts_joining_the_named_entities(
    client: AsyncClient, worker: InProcessWorker
) -> None:
    await post(client, TURNS)
    await worker.drain()
    r = await client.post(
        "/v1/search",
        json={
            "user_id": "u",
            "query": "What are Caroline and Melanie researching together?",
            "preset": "hybrid-graph",
            "kinds": ["memory"],
        },
    )
    hits = r.json()["results"]
    graph_hits = [h for h in hits if "graph" in h["scores"]]
    assert graph_hits, hits
    best = min(graph_hits, key=lambda h: h["scores"]["graph_rank"])
    assert "adoption" in best["text"]

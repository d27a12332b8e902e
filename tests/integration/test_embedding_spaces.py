"""One embedding space per tenant, refusals that name both models, and ``reembed``:
resumable, catching up on rows written meanwhile, to any width, the HNSW index kept."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select, text

from memory_service.bootstrap import Components, build_consolidator, migrate
from memory_service.cli import main
from memory_service.config import Settings
from memory_service.db.embedded import asyncpg_url
from memory_service.db.models import EmbeddingSpaceRow, EpisodeRow, JobRow, MemoryRow, Tenant
from memory_service.db.reembed import SqlReembed
from memory_service.db.session import make_engine, make_sessionmaker
from memory_service.domain.errors import Conflict, EmbedderMismatch
from memory_service.domain.models import NewEpisode, NewMemory, Scope, SearchQuery
from memory_service.services import ingest, memories
from memory_service.services.reembed import Step, reembed
from memory_service.services.spaces import require_space
from memory_service.testing import HashEmbedder
from tests.conftest import ROOT, api_client
from tests.statements import statements_sent
from workers.jobs import run_job

SCOPE = Scope(user_id="u")
NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Negated(HashEmbedder):
    """Another model: the hash vectors turned around (so every vector changes)."""

    def __init__(self, dim: int = 384) -> None:
        super().__init__(dim, name="hash-negated")
        self.texts = 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.texts += len(texts)
        return [[-x for x in v] for v in self.embed_sync(texts)]


def turns(*texts: str) -> list[NewEpisode]:
    return [NewEpisode(role="user", text=t, occurred_at=NOW, speaker="Ann") for t in texts]


async def space(parts: Components, tenant: UUID) -> tuple[str, int] | None:
    async with parts.uow() as uow:
        found = await uow.tenants.embedding_space(tenant)
    return (found.model, found.dim) if found else None


async def tenant_id(parts: Components, name: str) -> UUID:
    async with parts.uow() as uow:
        found = await uow.tenants.tenant_by_name(name)
    assert found is not None
    return found


# --- the record and the refusal, on the shared test database ---------------------


async def test_a_tenant_records_the_model_of_its_first_write(components: Components) -> None:
    async with api_client(components, "alpha") as client:
        assert (await client.post("/v1/search", json={"query": "x", "user_id": "u"})).is_success
        alpha = await tenant_id(components, "alpha")
        assert await space(components, alpha) is None  # a search records nothing
        body = {"user_id": "u", "messages": [{"content": "I live in Lisbon"}]}
        assert (await client.post("/v1/messages", json=body)).status_code == 201
    assert await space(components, alpha) == ("hash", 384)


async def test_first_writes_of_a_tenant_racing_all_succeed(components: Components) -> None:
    """Many first writes at once: each reads the unrecorded space, one claims it, none
    deadlocks (reading in share mode and then claiming did, a 500 under load)."""
    async with api_client(components, "racing") as client:

        async def write(i: int) -> int:
            body = {"user_id": f"u{i}", "messages": [{"content": f"turn {i}"}]}
            return (await client.post("/v1/messages", json=body)).status_code

        statuses = await asyncio.gather(*(write(i) for i in range(16)))
    assert statuses == [201] * 16
    assert await space(components, await tenant_id(components, "racing")) == ("hash", 384)


async def test_another_model_is_refused_naming_both(components: Components) -> None:
    async with api_client(components, "alpha") as client:
        body = {"user_id": "u", "messages": [{"content": "I live in Lisbon"}]}
        assert (await client.post("/v1/messages", json=body)).status_code == 201
    other = replace(components, embedder=HashEmbedder(name="hash-b"))
    async with api_client(other, "alpha") as client:
        for r in (
            await client.post("/v1/search", json={"query": "Lisbon", "user_id": "u"}),
            await client.post("/v1/messages", json=body),
            await client.post("/v1/memories", json={"text": "a fact", "user_id": "u"}),
        ):
            assert r.status_code == 503, r.text
            assert r.json()["error"] == "EmbedderMismatch"
            detail = r.json()["detail"]
            assert "hash (384-d)" in detail, detail
            assert "hash-b (384-d)" in detail, detail
            assert "memory-service reembed" in detail
        # what needs no vectors is served
        listed = await client.get("/v1/episodes", params={"user_id": "u"})
        assert listed.status_code == 200
        assert len(listed.json()["items"]) == 1


async def test_tenants_of_two_models_share_one_store(components: Components) -> None:
    """The property the test suite itself needs: a hash tenant and a MiniLM tenant (here
    two hash models) in one database never refuse each other."""
    other = replace(components, embedder=HashEmbedder(name="hash-b"))
    for parts, name in ((components, "alpha"), (other, "beta"), (components, "alpha")):
        async with api_client(parts, name) as client:
            body = {"user_id": "u", "messages": [{"content": f"{name} likes tea"}]}
            assert (await client.post("/v1/messages", json=body)).status_code == 201
            r = await client.post("/v1/search", json={"query": "tea", "user_id": "u"})
            assert r.status_code == 200, r.text
            found = {h["text"] for h in r.json()["results"]}
            assert found == {f"{name} likes tea"}
    assert await space(components, await tenant_id(components, "beta")) == ("hash-b", 384)


async def test_a_store_of_another_width_refuses_the_embedder(components: Components) -> None:
    wide = replace(components, embedder=HashEmbedder(768))
    async with api_client(wide, "gamma") as client:
        body = {"user_id": "u", "messages": [{"content": "hello"}]}
        r = await client.post("/v1/messages", json=body)
        assert r.status_code == 503, r.text
        assert "the store holds 384-d vectors" in r.json()["detail"]
        assert "hash (768-d)" in r.json()["detail"]
        r = await client.post("/v1/search", json={"query": "hello", "user_id": "u"})
        assert r.status_code == 503, r.text


async def test_a_job_of_another_model_waits_for_a_worker_that_has_it(
    components: Components,
) -> None:
    async with components.uow() as uow:
        tenant = await uow.tenants.create_tenant("jobs")
        result = await ingest.add_messages(
            uow, components.embedder, tenant, SCOPE, turns("Ann met Bob in Paris"), now=NOW
        )
    assert result.job_id is not None
    consolidator = build_consolidator(components.settings, HashEmbedder(name="hash-b"))
    outcome = await run_job(components, consolidator, result.job_id)
    assert outcome.state == "retry"
    async with components.uow() as uow:
        job = (
            await uow.session.execute(select(JobRow).where(JobRow.id == result.job_id))
        ).scalar_one()
    assert job.state == "queued", job.last_error  # waiting, not failed
    assert str(job.last_error).startswith("EmbedderMismatch: the stored vectors were made with")
    # the right worker takes it
    right = build_consolidator(components.settings, components.embedder)
    async with components.uow() as uow:
        await uow.session.execute(text("UPDATE jobs SET run_after = now() WHERE true"))
    assert (await run_job(components, right, result.job_id)).state == "done"


# --- reembed, each test on a database of its own (it changes the schema) -----------


@pytest.fixture
async def store(pg_server: Any) -> AsyncIterator[Components]:
    name = f"memory_reembed_{uuid.uuid4().hex[:8]}"
    pg_server.psql(f"CREATE DATABASE {name};")
    url = asyncpg_url(pg_server.get_uri(), name)
    await asyncio.to_thread(migrate, url)
    engine = make_engine(url, pool_size=4)
    yield Components(
        settings=Settings(database_url=url, data_dir=ROOT / ".memory-data-test"),
        engine=engine,
        sessions=make_sessionmaker(engine),
        embedder=HashEmbedder(),
        database_url=url,
    )
    await engine.dispose()
    pg_server.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE);")


async def fill(parts: Components, name: str, n: int) -> UUID:
    """A tenant with ``n`` episodes, ``n // 2`` memories and two entities (one never
    embedded), written with ``parts.embedder``."""
    async with parts.uow() as uow:
        tenant = await uow.tenants.create_tenant(name)
    async with parts.uow(tenant) as uow:
        texts = [f"{name} turn {i} about topic{i % 7}" for i in range(n)]
        await ingest.add_messages(uow, parts.embedder, tenant, SCOPE, turns(*texts), now=NOW)
        for i in range(n // 2):
            new = NewMemory(text=f"{name} fact {i}", scope=SCOPE)
            await memories.add_memory(uow, parts.embedder, tenant, new)
        [vector] = await parts.embedder.embed(["Lisbon"])
        await uow.entities.add(tenant, SCOPE, "Lisbon", "place", vector)
        await uow.session.execute(
            text(
                "INSERT INTO entities (tenant_id, id, user_id, name, type) "
                "VALUES (:t, gen_random_uuid(), 'u', 'Nobody', 'person')"
            ),
            {"t": tenant},
        )
    return tenant


async def vectors_match(parts: Components, embedder: Any) -> None:
    """Every stored vector is ``embedder``'s of its row's text."""
    async with parts.uow() as uow:
        for sql in (
            "SELECT speaker || ': ' || text AS body, embedding::text AS e FROM episodes",
            "SELECT text AS body, embedding::text AS e FROM memories",
            "SELECT name AS body, embedding::text AS e FROM entities",
        ):
            rows = (await uow.session.execute(text(sql))).all()
            assert rows
            for row in rows:
                if row.e is None:
                    assert row.body == "Nobody"
                    continue
                got = [float(x) for x in row.e.strip("[]").split(",")]
                [want] = await embedder.embed([row.body])
                assert len(got) == len(want)
                assert max(abs(a - b) for a, b in zip(got, want, strict=True)) < 1e-5


async def test_reembed_switches_every_tenant_and_search_follows(store: Components) -> None:
    a = await fill(store, "a", 12)
    b = await fill(store, "b", 7)
    steps: list[Step] = []
    new = Negated()
    switched = await reembed(SqlReembed(store.engine), new, batch=5, report=steps.append)
    assert str(switched) == "hash-negated (384-d)"
    assert {(s.table, s.done, s.total) for s in steps if s.done == s.total} >= {
        ("episodes", 19, 19),
        ("memories", 9, 9),
        ("entities", 2, 2),
    }
    assert await space(store, a) == await space(store, b) == ("hash-negated", 384)
    await vectors_match(store, new)
    async with store.uow() as uow:
        leftovers = await uow.session.execute(
            text(
                "SELECT (SELECT count(*) FROM reembed_progress), "
                "(SELECT count(*) FROM pg_attribute WHERE attname = 'embedding_next' "
                "AND NOT attisdropped AND attrelid IN "
                "('episodes'::regclass, 'memories'::regclass, 'entities'::regclass)), "
                "(SELECT count(*) FROM pg_trigger WHERE tgname = 'reembed_stale')"
            )
        )
        assert tuple(leftovers.one()) == (0, 0, 0)
    # the new model searches; the old one is refused
    query = SearchQuery(text="a turn 3", scope=SCOPE, limit=3)
    async with store.uow(a) as uow:
        [vector] = await new.embed([query.text])
        hits = await uow.episodes.vector_search(a, query, vector, 3)
        assert hits[0].text == "a turn 3 about topic3"
        await require_space(uow, a, new, write=True)
        with pytest.raises(EmbedderMismatch, match=r"made with hash-negated \(384-d\)"):
            await require_space(uow, a, HashEmbedder(), write=False)
    async with store.uow() as uow:
        await uow.tenants.create_tenant("empty")  # no vectors: nothing to re-embed
    assert await reembed(SqlReembed(store.engine), new) is None  # nothing left to do


class Dies(Negated):
    """Killed after ``calls`` calls (as a SIGKILL would leave it: the batch in flight
    is not committed)."""

    def __init__(self, calls: int) -> None:
        super().__init__()
        self.calls = calls

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if self.calls == 0:
            raise KeyboardInterrupt
        self.calls -= 1
        return await super().embed(texts)


async def test_a_killed_reembed_resumes_where_it_stopped(store: Components) -> None:
    await fill(store, "a", 30)  # 30 episodes, 15 memories, 1 embedded entity
    with pytest.raises(KeyboardInterrupt):
        await reembed(SqlReembed(store.engine), Dies(calls=4), batch=5)  # 20 episodes done
    async with store.uow() as uow:
        progress = await uow.session.execute(
            text("SELECT table_name, done, finished FROM reembed_progress ORDER BY 1")
        )
        assert [tuple(r) for r in progress] == [
            ("entities", 0, False),
            ("episodes", 20, False),
            ("memories", 0, False),
        ]
    again = Negated()
    assert await reembed(SqlReembed(store.engine), again, batch=5) is not None
    assert again.texts == 10 + 15 + 1  # what was left, each row once
    await vectors_match(store, again)


async def test_rows_written_during_a_run_are_caught_up(store: Components) -> None:
    tenant = await fill(store, "a", 10)
    old = store.embedder

    class Busy(Negated):
        """The service writes while the run is on: a new turn, an edited memory."""

        written = False

        async def embed(self, texts: Sequence[str]) -> list[list[float]]:
            if not self.written:
                self.written = True
                async with store.uow(tenant) as uow:
                    await ingest.add_messages(
                        uow, old, tenant, SCOPE, turns("a0 late turn"), now=NOW
                    )
                    first = (
                        (
                            await uow.session.execute(
                                select(MemoryRow.id).order_by(MemoryRow.tenant_id, MemoryRow.id)
                            )
                        )
                        .scalars()
                        .first()
                    )
                    assert first is not None
                    await memories.update_memory(uow, old, tenant, first, text="a edited fact")
            return await super().embed(texts)

    busy = Busy()
    await reembed(SqlReembed(store.engine), busy, batch=4)
    await vectors_match(store, busy)


async def test_reembed_to_another_width_keeps_the_hnsw_search(store: Components) -> None:
    """The width is the store's: after a reembed to 32-d, the columns are vector(32),
    the HNSW indexes are rebuilt on them, and the search's own statement still reads
    ``ix_episodes_embedding`` (EXPLAIN of the statement ``vector_search`` sends)."""
    tenant = await fill(store, "a", 3000)
    before = await explain_search(store, tenant, store.embedder)
    assert "ix_episodes_embedding" in before, before
    narrow = Negated(32)
    await reembed(SqlReembed(store.engine), narrow, batch=500)
    async with store.uow() as uow:
        widths = await uow.session.execute(
            text(
                "SELECT attrelid::regclass::text, atttypmod FROM pg_attribute "
                "WHERE attname = 'embedding' AND NOT attisdropped AND attrelid IN "
                "('episodes'::regclass, 'memories'::regclass, 'entities'::regclass)"
            )
        )
        assert {r[1] for r in widths} == {32}
        indexes = await uow.session.execute(
            text(
                "SELECT c.relname, i.indisvalid, pg_get_indexdef(c.oid) FROM pg_index i "
                "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'ix_%_embedding'"
            )
        )
        found = {r[0]: (r[1], r[2]) for r in indexes}
        assert set(found) == {f"ix_{t}_embedding" for t in ("episodes", "memories", "entities")}
        for valid, definition in found.values():
            assert valid
            assert "hnsw (embedding vector_cosine_ops)" in definition
        nulls = await uow.session.execute(
            text(
                "SELECT is_nullable FROM information_schema.columns WHERE column_name = "
                "'embedding' AND table_name IN ('episodes', 'memories') "
            )
        )
        assert {r[0] for r in nulls} == {"NO"}
    after = await explain_search(store, tenant, narrow)
    assert "ix_episodes_embedding" in after, after
    await vectors_match(store, narrow)
    # a service still on 384-d is refused, with what to do
    async with store.uow(tenant) as uow:
        with pytest.raises(EmbedderMismatch, match="memory-service reembed"):
            await require_space(uow, tenant, HashEmbedder(), write=True)
        fresh = await uow.tenants.create_tenant("new")
        with pytest.raises(EmbedderMismatch, match="the store holds 32-d vectors"):
            await require_space(uow, fresh, HashEmbedder(), write=True)


async def explain_search(parts: Components, tenant: UUID, embedder: Any) -> str:
    """EXPLAIN of the statement ``episodes.vector_search`` runs, with its parameters."""
    async with parts.engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.execute(text("ANALYZE episodes"))
    query = SearchQuery(text="a turn 3", scope=SCOPE, limit=10)
    async with parts.uow(tenant) as uow:
        [vector] = await embedder.embed([query.text])
        with statements_sent(parts.engine) as sent:
            await uow.episodes.vector_search(tenant, query, vector, 10)
        statement, params = [s for s in sent if "<=>" in s.statement][-1]
        plan = await uow.session.connection()
        rows = await plan.exec_driver_sql("EXPLAIN " + statement, params)
        return "\n".join(r[0] for r in rows)


async def test_the_command_reembeds_with_progress_and_says_when_done(
    store: Components, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = await fill(store, "a", 6)
    for key in ("MEMORY_EMBED_DIM", "MEMORY_EMBED_MODEL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("MEMORY_DATABASE_URL", store.database_url)
    monkeypatch.setenv("MEMORY_EMBEDDER", "hash")
    monkeypatch.setenv("MEMORY_EMBED_DIMENSIONS", "48")
    monkeypatch.setenv("MEMORY_SPARSE_ENCODER", "none")
    assert await asyncio.to_thread(main, ["reembed", "--batch", "2"]) == 0
    out = capsys.readouterr()
    assert "episodes keyset: 6/6 (100%)" in out.err
    assert "re-embedded with hash (48-d)" in out.out
    assert await space(store, tenant) == ("hash", 48)
    assert await asyncio.to_thread(main, ["reembed"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    async with store.uow() as uow:
        models = (await uow.session.execute(select(EmbeddingSpaceRow.model))).scalars().all()
        assert sorted(models) == ["hash", "hash"]  # 384-d and 48-d
        assert (await uow.session.execute(select(Tenant.space_id))).scalar() is not None
        assert (await uow.session.execute(select(EpisodeRow.id))).first() is not None


async def test_one_run_at_a_time(store: Components) -> None:
    await fill(store, "a", 2)
    async with SqlReembed(store.engine).exclusive():
        with pytest.raises(Conflict, match="another `memory-service reembed` is running"):
            await reembed(SqlReembed(store.engine), Negated())
    assert await reembed(SqlReembed(store.engine), Negated()) is not None

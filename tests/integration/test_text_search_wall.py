"""Full text through the GIN index under row-level security (migration 0005): the
search functions keep the tenant wall themselves and use the index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import text

from memory_service.bootstrap import Components
from memory_service.domain.models import NewEpisode, Scope, SearchQuery

CALL = (
    "SELECT id FROM episode_text_hits(:tenant, to_tsquery('english', 'harbour'), "
    "NULL, NULL, NULL, NULL, NULL, 10, 20000)"
)


async def _tenant_with(components: Components, name: str, texts: list[str]) -> UUID:
    async with components.uow() as uow:
        tenant = await uow.tenants.create_tenant(name)
        vectors = await components.embedder.embed(texts)
        now = datetime.now(UTC)
        items = [
            NewEpisode("user", t, occurred_at=now - timedelta(minutes=len(texts) - i))
            for i, t in enumerate(texts)
        ]
        await uow.episodes.add_many(tenant, Scope("u"), items, vectors, now=now)
    return tenant


SCANS = "SELECT pg_stat_get_xact_numscans('ix_episodes_tsv'::regclass)"


async def test_text_search_keeps_to_its_tenant_and_ranks(components: Components) -> None:
    a = await _tenant_with(
        components, "text-wall-a", ["the harbour at dawn", "harbour harbour lights", "a quiet lane"]
    )
    b = await _tenant_with(components, "text-wall-b", ["the harbour of tenant b"])
    query = SearchQuery(text="harbour lights", scope=Scope("u"), limit=10)
    async with components.uow(tenant=a) as uow:
        hits = await uow.episodes.text_search(a, query, 10)
    assert [h.text for h in hits] == ["harbour harbour lights", "the harbour at dawn"]
    async with components.uow(tenant=a) as uow:  # another tenant asked for by name: nothing
        assert await uow.episodes.text_search(b, query, 10) == []
        assert (await uow.session.execute(text(CALL), {"tenant": str(b)})).all() == []
    async with components.uow() as uow:  # system work names its tenant
        hits = await uow.episodes.text_search(b, query, 10)
    assert [h.text for h in hits] == ["the harbour of tenant b"]


async def test_text_search_keeps_to_scope_and_period(components: Components) -> None:
    a = await _tenant_with(components, "text-wall-c", ["harbour one", "harbour two"])
    async with components.uow(tenant=a) as uow:
        other = Scope("someone-else")
        assert await uow.episodes.text_search(a, SearchQuery("harbour", other), 10) == []
        later = datetime.now(UTC) + timedelta(days=1)
        assert (
            await uow.episodes.text_search(a, SearchQuery("harbour", Scope("u"), since=later), 10)
            == []
        )
        hits = await uow.episodes.text_search(a, SearchQuery("harbour", Scope("u")), 1)
    assert len(hits) == 1


async def test_text_search_reads_the_gin_index_under_the_wall(components: Components) -> None:
    """Under row-level security PostgreSQL would scan the tenant's rows for ``@@``;
    through the function it reads the GIN index (counted in this transaction)."""
    filler = [f"filler line number {i}" for i in range(1500)]
    a = await _tenant_with(components, "text-wall-d", ["harbour", *filler])
    async with components.uow() as uow:
        await uow.session.execute(text("ANALYZE episodes"))
    async with components.uow(tenant=a) as uow:
        before = (await uow.session.execute(text(SCANS))).scalar_one()
        hits = await uow.episodes.text_search(a, SearchQuery("harbour", Scope("u")), 10)
        after = (await uow.session.execute(text(SCANS))).scalar_one()
    assert [h.text for h in hits] == ["harbour"]
    assert after > before


async def test_the_functions_are_not_public(components: Components) -> None:
    async with components.uow() as uow:
        rows = await uow.session.execute(
            text(
                "SELECT p.proname, p.prosecdef, "
                "has_function_privilege('public', p.oid, 'EXECUTE') AS public_may, "
                "has_function_privilege('memory_app', p.oid, 'EXECUTE') AS app_may "
                "FROM pg_proc p WHERE p.proname IN ('episode_text_hits', 'memory_text_hits')"
            )
        )
        found = {r.proname: (r.prosecdef, r.public_may, r.app_may) for r in rows}
    assert found == {
        "episode_text_hits": (True, False, True),
        "memory_text_hits": (True, False, True),
    }


async def test_a_large_scope_leaves_out_its_commonest_terms(components: Components) -> None:
    """Above the match budget, a term most rows hold is left out (by the planner's
    statistics), so ranking reads the rare term's rows only; within the budget every
    term counts, as before."""
    from memory_service.db.filters import SearchTuning
    from memory_service.db.uow import transaction

    texts = ["a harbour walk, weather permitting", *(f"weather note {i}" for i in range(60))]
    a = await _tenant_with(components, "text-budget", texts)
    async with components.uow() as uow:
        await uow.session.execute(text("ANALYZE episodes"))
    query = SearchQuery("harbour weather", Scope("u"), limit=10)
    # A budget of 0 keeps the rarest term only, whatever else the test table holds.
    rarest, roomy = SearchTuning(text_budget=0), SearchTuning(text_budget=1000)
    async with transaction(components.sessions, tenant=a, tuning=rarest) as uow:
        pruned = await uow.episodes.text_search(a, query, 10)
    async with transaction(components.sessions, tenant=a, tuning=roomy) as uow:
        every = await uow.episodes.text_search(a, query, 10)
    assert [h.text for h in pruned] == ["a harbour walk, weather permitting"]
    assert len(every) == 10
    assert every[0].text == "a harbour walk, weather permitting"

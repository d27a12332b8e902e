"""The orchestrator end to end over the fake unit of work: presets built as the
composition root builds them, run through ``search`` (which logs the search)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from uuid import UUID

import pytest

from memory_service.adapters.cross_encoder import OverlapScorer
from memory_service.adapters.hash_sparse import HashSparseEncoder
from memory_service.domain.models import Candidate, Episode, HitKind, Memory, SearchQuery
from memory_service.fake_store import FakeUnitOfWork
from memory_service.ports import Encoding, Pool, Search
from memory_service.services.recall import search
from memory_service.services.recall.parts import Parts
from memory_service.services.recall.presets import PRESETS
from memory_service.services.sparse import encode_episodes
from memory_service.testing import ScriptedLLM
from tests.unit.recall.factories import ALICE, EMBEDDER, NOW, TENANT, add_fact, add_turns

SAID = (
    "We went hiking in the Alps",
    "I adopted a puppy named Rex",
    "Rex chews every shoe in the house",
    "My sister lives in Paris",
    "The weather was rainy all week",
)
LISTS = {"episodes.vector", "episodes.text", "memories.vector", "memories.text"}


@pytest.fixture
async def turns(uow: FakeUnitOfWork) -> list[Episode]:
    return await add_turns(uow, SAID)


@pytest.fixture
async def fact(uow: FakeUnitOfWork) -> Memory:
    return await add_fact(uow, "Alice has a puppy named Rex")


def query(
    text: str = "puppy named Rex",
    limit: int = 3,
    kinds: tuple[HitKind, ...] = ("episode", "memory"),
) -> SearchQuery:
    return SearchQuery(text, ALICE, limit=limit, kinds=kinds)


async def test_hybrid_search_end_to_end_is_logged(
    uow: FakeUnitOfWork, turns: list[Episode], fact: Memory
) -> None:
    pipeline = PRESETS["hybrid"].build(EMBEDDER, Parts())
    result = await search(uow, pipeline, TENANT, query(), now=NOW)
    assert result.route == "fast"
    assert result.gate is None
    assert [(h.kind, h.id) for h in result.hits[:2]] == [
        ("episode", turns[1].id),
        ("memory", fact.id),
    ]
    assert len(result.hits) == 3
    assert set(result.hits[0].scores) >= {"rrf", "episodes.vector", "episodes.text_rank"}
    assert set(result.timings_ms) == {*LISTS, "embed", "rerank", "context", "log", "total"}
    # the embedding runs beside the full-text lists: the stages may add up to more
    staged = sum(v for k, v in result.timings_ms.items() if k != "total")
    assert 0 < result.timings_ms["total"] <= staged + 50
    [record] = uow.retrievals.records
    assert record.id == result.retrieval_id
    assert (record.tenant, record.scope, record.query) == (TENANT, ALICE, "puppy named Rex")
    assert record.route == "fast"
    assert record.gate is None
    assert record.request == {
        "limit": 3,
        "since": None,
        "until": None,
        "kinds": ["episode", "memory"],
        "preset": "hybrid",
        "mode": "auto",
        "now": NOW.isoformat(),
    }
    assert record.results == [
        {"kind": h.kind, "id": str(h.id), "score": h.score} for h in result.hits
    ]
    assert set(record.stages["timings_ms"]) == {*LISTS, "embed", "rerank", "context"}
    assert record.stages["candidates"] == 6  # five turns and one fact, each proposed once
    assert record.stages["deliberation"] is None
    assert record.stages["cost"] == {"llm_calls": 0, "input_tokens": 0, "output_tokens": 0}


async def test_lists_of_an_excluded_kind_are_skipped(
    uow: FakeUnitOfWork, turns: list[Episode], fact: Memory
) -> None:
    pipeline = PRESETS["hybrid"].build(EMBEDDER, Parts())
    result = await search(uow, pipeline, TENANT, query(kinds=("memory",)), now=NOW, log=False)
    assert [h.id for h in result.hits] == [fact.id]
    assert "episodes.vector" not in result.timings_ms
    assert result.retrieval_id == UUID(int=0)
    assert uow.retrievals.records == []


async def test_forced_deliberation_runs_the_gate_and_system_2(
    uow: FakeUnitOfWork, turns: list[Episode], fact: Memory
) -> None:
    pipeline = PRESETS["hybrid-window"].build(EMBEDDER, Parts())
    result = await search(uow, pipeline, TENANT, query(), mode="deliberate", now=NOW)
    assert result.route == "deliberate"
    assert result.gate is not None
    assert result.gate["reasons"][0] == "forced deliberate"
    assert {"gate", "deliberation"} <= set(result.timings_ms)
    # System 2 replaced System 1 (the fact is gone); its hits, a turn apart, were then
    # windowed and merged into one passage around the best
    [passage] = result.hits
    assert passage.id == turns[1].id
    assert [(t.id, t.position) for t in passage.context] == [
        (turns[0].id, -1),
        (turns[2].id, 1),
        (turns[3].id, 2),
        (turns[4].id, 3),
    ]
    assert set(passage.merged) == {turns[i].id for i in (0, 2, 3, 4)}
    assert result.cost["chunks_read"] == 1
    [record] = uow.retrievals.records
    assert record.route == "deliberate"
    assert record.gate == json.loads(json.dumps(result.gate))
    assert record.stages["deliberation"] == {"runner": None, "truncated": False, "errors": []}


async def test_the_gated_preset_audits_with_the_llm(
    uow: FakeUnitOfWork, turns: list[Episode], fact: Memory
) -> None:
    verdict = {"answer": "Rex", "relevance": True, "faithfulness": True, "completeness": True}
    llm = ScriptedLLM(default=json.dumps(verdict))
    pipeline = PRESETS["gated"].build(EMBEDDER, Parts(llm=llm))
    result = await search(uow, pipeline, TENANT, query(), now=NOW)
    assert result.route == "fast"
    assert result.gate is not None
    assert result.gate["audit"]["answer"] == "Rex"
    assert result.cost["llm_calls"] == 1
    assert {"gate", "audit"} <= set(result.timings_ms)
    assert "deliberation" not in result.timings_ms
    assert all("memrl" in h.scores for h in result.hits)


@pytest.mark.parametrize("name", sorted(PRESETS))
async def test_every_preset_runs_over_the_fake(
    uow: FakeUnitOfWork, turns: list[Episode], fact: Memory, name: str
) -> None:
    sparse = HashSparseEncoder()
    await encode_episodes(uow, sparse, TENANT, turns)
    pipeline = PRESETS[name].build(EMBEDDER, Parts(sparse=sparse, reranker=OverlapScorer()))
    result = await search(uow, pipeline, TENANT, query(limit=2), now=NOW)
    assert 1 <= len(result.hits) <= 2
    assert uow.retrievals.records[-1].request["preset"] == name


@dataclass(frozen=True)
class Reverse:
    """A test-only reranker: the pool backwards; it notes each pool it is given."""

    seen: list[int] = field(default_factory=list)

    def create(self, parts: Parts) -> Reverse:
        return self

    async def rerank(self, search: Search, pool: Pool, limit: int) -> Pool:
        self.seen.append(len(pool.hits))
        return Pool(list(reversed(pool.hits))[:limit], pool.exact)


async def test_a_new_stage_needs_no_change_to_the_orchestrator(
    uow: FakeUnitOfWork, turns: list[Episode], fact: Memory
) -> None:
    plain = PRESETS["hybrid"].build(EMBEDDER, Parts())
    reverse = Reverse()
    backwards = replace(PRESETS["hybrid"], rerankers=(reverse,)).build(EMBEDDER, Parts())
    wide = query(limit=10)
    before = await search(uow, plain, TENANT, wide, now=NOW)
    after = await search(uow, backwards, TENANT, wide, now=NOW)
    assert len(before.hits) == 6
    assert [h.id for h in after.hits] == [h.id for h in reversed(before.hits)]
    assert reverse.seen == [6]


class SlowEmbedder:
    """The test embedder, taking 50 ms a call and noting when each call ended."""

    dim, name = EMBEDDER.dim, EMBEDDER.name

    def __init__(self) -> None:
        self.done = False

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        await asyncio.sleep(0.05)
        self.done = True
        return await EMBEDDER.embed(texts)


@dataclass(frozen=True)
class Spy:
    """A test-only list that proposes nothing and notes what it saw when it ran."""

    name: str
    needs: frozenset[Encoding]
    embedder: SlowEmbedder
    seen: list[tuple[str, bool, bool]]
    kind: HitKind | None = "episode"

    async def retrieve(self, search: Search, k: int) -> list[Candidate]:
        self.seen.append((self.name, self.embedder.done, bool(search.vector)))
        return []


async def test_lists_that_need_no_encoding_run_while_the_query_is_embedded(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    slow, seen = SlowEmbedder(), []
    lists = (
        Spy("dense", frozenset({"dense"}), slow, seen),
        Spy("text", frozenset(), slow, seen),
    )
    pipeline = replace(PRESETS["hybrid"].build(slow, Parts()), lists=lists)
    result = await search(uow, pipeline, TENANT, query(), now=NOW)
    assert seen == [("text", False, False), ("dense", True, True)]
    assert result.timings_ms["embed"] >= 50
    assert result.timings_ms["total"] < result.timings_ms["embed"] + result.timings_ms["text"] + 50


class Failing(Spy):
    async def retrieve(self, search: Search, k: int) -> list[Candidate]:
        raise RuntimeError("the list failed")


async def test_a_failing_list_leaves_no_encoding_running(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    slow = SlowEmbedder()
    failing = Failing("text", frozenset(), slow, [])
    pipeline = replace(PRESETS["hybrid"].build(slow, Parts()), lists=(failing,))
    before = asyncio.all_tasks()
    with pytest.raises(RuntimeError, match="the list failed"):
        await search(uow, pipeline, TENANT, query(), now=NOW)
    await asyncio.sleep(0)  # let the cancellation land
    assert all(t.done() for t in asyncio.all_tasks() - before - {asyncio.current_task()})
    assert not slow.done


@dataclass(frozen=True)
class Where:
    """A test-only list that proposes nothing and notes the unit of work it read."""

    name: str
    uows: list[object]
    needs: frozenset[Encoding] = frozenset()
    kind: HitKind | None = "episode"

    async def retrieve(self, search: Search, k: int) -> list[Candidate]:
        self.uows.append(search.uow)
        await asyncio.sleep(0.01)  # long enough for the other lanes to take the next list
        return []


async def test_lists_read_at_once_on_the_units_of_work_lent_beside_the_search(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    own = FakeUnitOfWork(uow.store, now=uow.now, spare=2)
    seen: list[object] = []
    lists = tuple(Where(f"list{i}", seen) for i in range(4))
    pipeline = replace(PRESETS["hybrid"].build(EMBEDDER, Parts()), lists=lists)
    await search(own, pipeline, TENANT, query(), now=NOW)
    assert len(seen) == 4
    assert own in seen
    assert len({id(u) for u in seen}) == 3  # its own and the two it could lend
    assert own.lent == 0  # all given back


async def test_lent_lanes_find_what_one_lane_finds(
    uow: FakeUnitOfWork, turns: list[Episode], fact: Memory
) -> None:
    wide = FakeUnitOfWork(uow.store, now=uow.now, spare=4)
    sparse = HashSparseEncoder()
    await encode_episodes(uow, sparse, TENANT, turns)
    for name in ("hybrid", "sparse-focus2", "gated-window2"):
        pipeline = PRESETS[name].build(EMBEDDER, Parts(sparse=sparse))
        one = await search(uow, pipeline, TENANT, query(limit=5), now=NOW)
        many = await search(wide, pipeline, TENANT, query(limit=5), now=NOW)
        assert [(h.id, h.score, h.scores) for h in many.hits] == [
            (h.id, h.score, h.scores) for h in one.hits
        ]


class QuerySide:
    """The test encoders with a query side that notes what it was asked (and a text
    side that must not be asked during a search)."""

    def __init__(self) -> None:
        self.dim, self.name = EMBEDDER.dim, EMBEDDER.name
        self.sparse = HashSparseEncoder()
        self.asked: list[str] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise AssertionError("a search embedded its query as a stored text")

    async def embed_query(self, texts: Sequence[str]) -> list[list[float]]:
        self.asked.append("dense")
        return await EMBEDDER.embed(texts)

    async def encode(self, texts: Sequence[str]) -> list[dict[int, float]]:
        raise AssertionError("a search encoded its query as a stored text")

    async def encode_query(self, texts: Sequence[str]) -> list[dict[int, float]]:
        self.asked.append("sparse")
        return await self.sparse.encode(texts)


@pytest.mark.parametrize("mode", ["auto", "deliberate"])
async def test_a_search_encodes_its_query_on_the_encoders_query_side(
    uow: FakeUnitOfWork, turns: list[Episode], mode: str
) -> None:
    """The local models' int8 copies (``adapters.quantized``) encode queries only; System 2
    reuses the fast lists' sparse vector rather than encoding the query again."""
    encoders = QuerySide()
    await encode_episodes(uow, encoders.sparse, TENANT, turns)
    pipeline = PRESETS["sparse-value2"].build(encoders, Parts(sparse=encoders))
    result = await search(uow, pipeline, TENANT, query(), now=NOW, mode=mode)  # type: ignore[arg-type]
    assert result.hits
    assert sorted(encoders.asked) == ["dense", "sparse"]

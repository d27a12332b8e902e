"""The learned-sparse list over the fake unit of work: the hash encoder, what
``EpisodeSparse`` proposes (encoded episodes of the search's tenant, scope and period,
by inner product), how it gets its encoder, and weighted reciprocal rank fusion."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from datetime import timedelta
from uuid import UUID

import pytest

from memory_service.adapters.hash_sparse import HashSparseEncoder
from memory_service.domain.models import Candidate, Episode, SearchQuery
from memory_service.fake_store import FakeUnitOfWork
from memory_service.services.recall import search
from memory_service.services.recall.parts import Parts
from memory_service.services.recall.presets import PRESETS
from memory_service.services.sparse import encode_episodes, encode_pending
from retrievers.fusion import RRF, reciprocal_rank_fusion
from retrievers.lists import EpisodeSparse
from tests.unit.recall.factories import (
    ALICE,
    BOB,
    EMBEDDER,
    NOW,
    OTHER_TENANT,
    T0,
    TENANT,
    add_turns,
    make_search,
)

ENCODER = HashSparseEncoder()
ALICE_SAYS = (
    "I adopted a puppy named Rex",
    "We went hiking in the Alps",
    "My sister lives in Paris",
    "Rex loves the beach",
)


def dot(a: dict[int, float], b: dict[int, float]) -> float:
    return sum(w * b.get(i, 0.0) for i, w in a.items())


class CountingEncoder(HashSparseEncoder):
    """The hash encoder, remembering what it was asked to encode."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    async def encode(self, texts: Sequence[str]) -> list[dict[int, float]]:
        self.calls.append(list(texts))
        return await super().encode(texts)


@pytest.fixture
async def turns(uow: FakeUnitOfWork) -> list[Episode]:
    """Alice's four turns, encoded; look-alikes of Bob's and of another tenant's,
    encoded too, that must never show."""
    mine = await add_turns(uow, ALICE_SAYS)
    bobs = await add_turns(uow, ["I adopted a puppy named Rex"], scope=BOB, speaker="Bob")
    others = await add_turns(uow, ["I adopted a puppy named Rex"], tenant=OTHER_TENANT)
    await encode_episodes(uow, ENCODER, TENANT, [*mine, *bobs])
    await encode_episodes(uow, ENCODER, OTHER_TENANT, others)
    return mine


# --- the hash encoder ---------------------------------------------------------------


async def test_hash_encoder_is_deterministic_across_instances() -> None:
    texts = ["Rex loves the beach", "a puppy named Rex"]
    first = await HashSparseEncoder().encode(texts)
    again = HashSparseEncoder().encode_sync(texts)
    assert first == again
    assert all(v and all(isinstance(i, int) and 0 <= i < 30522 for i in v) for v in first)
    assert HashSparseEncoder().encode_sync([]) == []


def test_hash_encoder_weighs_repeated_words_by_log_count() -> None:
    [one] = ENCODER.encode_sync(["rex"])
    [repeated] = ENCODER.encode_sync(["Rex, REX and rex"])
    [(slot, weight)] = one.items()
    assert weight == 1.0
    assert repeated[slot] == pytest.approx(1.0 + math.log(3))
    assert len(repeated) == 2  # "rex" and "and"


def test_hash_encoder_overlap_scores_shared_words_only() -> None:
    query, related, unrelated = ENCODER.encode_sync(
        ["puppy named Rex", "I adopted a puppy named Rex", "We went hiking in the Alps"]
    )
    assert dot(query, related) == pytest.approx(3.0)  # puppy, named, rex
    assert dot(query, unrelated) == 0.0
    assert ENCODER.encode_sync([""]) == [{}]


def test_hash_encoder_folds_into_a_smaller_vocabulary() -> None:
    small = HashSparseEncoder(dim=7)
    [vector] = small.encode_sync(["one two three four five six seven eight nine ten"])
    assert all(0 <= i < 7 for i in vector)
    assert sum(vector.values()) >= 10.0  # colliding words add up, none is lost


# --- the list ------------------------------------------------------------------------


async def test_episode_sparse_ranks_by_inner_product(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    search_ = await make_search(uow, "puppy named Rex", sparse=ENCODER)
    found = await EpisodeSparse().retrieve(search_, 10)
    assert [c.id for c in found] == [turns[0].id, turns[3].id]  # only products above 0
    [query] = ENCODER.encode_sync(["puppy named Rex"])
    [first, second] = ENCODER.encode_sync([t.embedding_text() for t in (turns[0], turns[3])])
    assert [c.score for c in found] == pytest.approx([dot(query, first), dot(query, second)])
    assert found[0].score == pytest.approx(3.0)
    assert found[0].kind == "episode"
    assert found[0].source_episode_ids == (turns[0].id,)
    assert found[0].speaker == "Alice"
    assert found[0].text == "I adopted a puppy named Rex"


async def test_episode_sparse_encodes_the_speaker_too(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    # the episodes were encoded as "Alice: ...", so the name alone finds all of them
    found = await EpisodeSparse().retrieve(await make_search(uow, "alice", sparse=ENCODER), 10)
    assert [c.id for c in found] == [t.id for t in turns]  # ties: oldest first


async def test_episode_sparse_respects_k(uow: FakeUnitOfWork, turns: list[Episode]) -> None:
    found = await EpisodeSparse().retrieve(await make_search(uow, "alice", sparse=ENCODER), 2)
    assert [c.id for c in found] == [turns[0].id, turns[1].id]


async def test_episode_sparse_skips_unencoded_episodes(uow: FakeUnitOfWork) -> None:
    [plain] = await add_turns(uow, ["Rex chews every shoe"])
    search_ = await make_search(uow, "Rex shoe", sparse=ENCODER)
    assert await EpisodeSparse().retrieve(search_, 10) == []
    await encode_episodes(uow, ENCODER, TENANT, [plain])
    assert [c.id for c in await EpisodeSparse().retrieve(search_, 10)] == [plain.id]


async def test_episode_sparse_without_an_encoder_proposes_nothing(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    search_ = await make_search(uow, "puppy named Rex")
    assert search_.sparse is None
    assert await EpisodeSparse().retrieve(search_, 10) == []


async def test_episode_sparse_stays_in_the_scope_and_tenant(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    bob = await EpisodeSparse().retrieve(
        await make_search(uow, "puppy named Rex", scope=BOB, sparse=ENCODER), 10
    )
    assert len(bob) == 1
    assert bob[0].speaker == "Bob"
    other = await EpisodeSparse().retrieve(
        await make_search(uow, "puppy named Rex", tenant=OTHER_TENANT, sparse=ENCODER), 10
    )
    assert len(other) == 1
    assert other[0].id not in {t.id for t in turns}
    mine = await EpisodeSparse().retrieve(
        await make_search(uow, "puppy named Rex", sparse=ENCODER), 10
    )
    assert {c.id for c in mine} <= {t.id for t in turns}


async def test_episode_sparse_respects_the_period(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    later = await make_search(uow, "alice", since=T0 + timedelta(minutes=2), sparse=ENCODER)
    found = await EpisodeSparse().retrieve(later, 10)
    assert [c.id for c in found] == [turns[2].id, turns[3].id]
    earlier = await make_search(uow, "alice", until=T0 + timedelta(minutes=1), sparse=ENCODER)
    assert [c.id for c in await EpisodeSparse().retrieve(earlier, 10)] == [turns[0].id]


async def test_the_pipeline_encodes_the_query_text_once(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    spy = CountingEncoder()
    pipeline = PRESETS["sparse2"].build(EMBEDDER, Parts(sparse=spy))
    query = SearchQuery("Rex at the beach", ALICE, limit=5)
    result = await search(uow, pipeline, TENANT, query, now=NOW)
    assert spy.calls == [["Rex at the beach"]]
    assert result.timings_ms["sparse_embed"] > 0
    assert pipeline.sparse is spy


class WaitingEmbedder:
    """The factories' embedder, answering only once the sparse encoder has been asked."""

    def __init__(self, asked: asyncio.Event) -> None:
        self.asked = asked
        self.dim, self.name = EMBEDDER.dim, EMBEDDER.name

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        await self.asked.wait()
        return await EMBEDDER.embed(texts)


class SignallingEncoder(HashSparseEncoder):
    def __init__(self, asked: asyncio.Event) -> None:
        super().__init__()
        self.asked = asked

    async def encode(self, texts: Sequence[str]) -> list[dict[int, float]]:
        self.asked.set()
        return await super().encode(texts)


async def test_the_query_is_encoded_both_ways_at_once(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    """The learned-sparse encoding does not wait for the dense embedding (each runs on
    one torch thread, adapters.threads): an embedder that answers only after the sparse
    encoder was asked would wait forever otherwise."""
    asked = asyncio.Event()
    embedder = WaitingEmbedder(asked)
    pipeline = PRESETS["sparse2"].build(embedder, Parts(sparse=SignallingEncoder(asked)))
    query = SearchQuery("Rex at the beach", ALICE, limit=5)
    result = await asyncio.wait_for(search(uow, pipeline, TENANT, query, now=NOW), 10)
    assert result.hits


async def test_the_episodes_sparse_preset_searches_with_the_parts_encoder(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    query = SearchQuery("puppy named Rex", ALICE, limit=5)
    pipeline = PRESETS["episodes-sparse"].build(EMBEDDER, Parts(sparse=ENCODER))
    result = await search(uow, pipeline, TENANT, query, now=NOW)
    assert [h.id for h in result.hits] == [turns[0].id, turns[3].id]
    assert result.hits[0].scores["episodes.sparse"] == pytest.approx(3.0)
    assert result.hits[0].scores["episodes.sparse_rank"] == 1.0
    unbound = PRESETS["episodes-sparse"].build(EMBEDDER, Parts())
    assert list((await search(uow, unbound, TENANT, query, now=NOW)).hits) == []


async def test_a_facts_only_search_never_encodes_the_query(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    spy = CountingEncoder()
    pipeline = PRESETS["sparse"].build(EMBEDDER, Parts(sparse=spy))
    facts_only = SearchQuery("puppy named Rex", ALICE, limit=5, kinds=("memory",))
    await search(uow, pipeline, TENANT, facts_only, now=NOW)
    assert spy.calls == []
    both = SearchQuery("puppy named Rex", ALICE, limit=5)
    result = await search(uow, pipeline, TENANT, both, now=NOW)
    assert spy.calls == [["puppy named Rex"]]
    assert any("episodes.sparse" in h.scores for h in result.hits)


async def test_encode_pending_works_through_the_backlog(uow: FakeUnitOfWork) -> None:
    added = await add_turns(uow, [f"turn number {i}" for i in range(5)])
    await add_turns(uow, ["bob's turn"], scope=BOB)
    assert await encode_pending(uow, ENCODER, TENANT, ALICE, limit=2) == 2
    left = await uow.episodes.unencoded(TENANT, ALICE, 10)
    assert [e.id for e in left] == [e.id for e in added[2:]]  # oldest first
    assert await encode_pending(uow, ENCODER, TENANT, ALICE, limit=2) == 2
    assert await encode_pending(uow, ENCODER, TENANT, ALICE, limit=2) == 1
    assert await encode_pending(uow, ENCODER, TENANT, ALICE, limit=2) == 0
    assert await uow.episodes.unencoded(TENANT, ALICE, 10) == []
    assert len(await uow.episodes.unencoded(TENANT, BOB, 10)) == 1


# --- weighted fusion -------------------------------------------------------------------


def cand(n: int) -> Candidate:
    return Candidate(kind="episode", id=UUID(int=n), text=f"c{n}", occurred_at=T0, score=1.0)


def test_a_weight_of_two_lifts_a_list_above_an_equal_rank() -> None:
    lists = {"episodes.vector": [cand(1), cand(3)], "episodes.sparse": [cand(2), cand(4)]}
    plain = reciprocal_rank_fusion(lists)
    assert [f.candidate.id.int for f in plain] == [1, 2, 3, 4]  # ties: list order
    weighted = reciprocal_rank_fusion(lists, weights={"episodes.sparse": 2.0})
    assert [f.candidate.id.int for f in weighted] == [2, 4, 1, 3]
    assert [f.score for f in weighted] == pytest.approx([2 / 61, 2 / 62, 1 / 61, 1 / 62])
    assert weighted[0].parts == {"episodes.sparse": 1.0, "episodes.sparse_rank": 1.0}


def test_weights_add_up_over_lists() -> None:
    lists = {"a": [cand(1), cand(2)], "b": [cand(2)]}
    fused = reciprocal_rank_fusion(lists, k=10, weights={"a": 0.5, "b": 3.0})
    assert [f.candidate.id.int for f in fused] == [2, 1]
    assert fused[0].score == pytest.approx(0.5 / 12 + 3.0 / 11)
    assert fused[1].score == pytest.approx(0.5 / 11)


def test_default_and_unnamed_weights_change_nothing() -> None:
    lists = {"a": [cand(1), cand(2), cand(3)], "b": [cand(3), cand(2)]}
    plain = reciprocal_rank_fusion(lists)
    for weights in (None, {}, {"elsewhere": 5.0}, {"a": 1.0, "b": 1.0}):
        same = reciprocal_rank_fusion(lists, weights=weights)
        assert [(f.candidate.id, f.score, f.parts) for f in same] == [
            (f.candidate.id, f.score, f.parts) for f in plain
        ]


def test_rrf_stage_applies_its_weights() -> None:
    lists = {"episodes.vector": [cand(1)], "episodes.sparse": [cand(2)]}
    assert [h.id.int for h in RRF().fuse(lists)] == [1, 2]
    stage = RRF(weights=(("episodes.sparse", 2.0),))
    fused = stage.fuse(lists)
    assert [h.id.int for h in fused] == [2, 1]
    assert fused[0].scores["rrf"] == pytest.approx(2 / 61)
    assert fused[0].score == pytest.approx(2 / 61)
    assert stage.create(Parts()) is stage


def test_sparse2_presets_weigh_the_sparse_list_twice() -> None:
    for name in ("sparse2",):
        assert dict(PRESETS[name].fusion.weights) == {"episodes.sparse": 2.0}  # type: ignore[attr-defined]
    for name in ("sparse", "sparse-focus2", "hybrid"):
        assert dict(PRESETS[name].fusion.weights) == {}  # type: ignore[attr-defined]

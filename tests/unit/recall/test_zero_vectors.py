"""A zero vector has no direction: its cosine to anything is NaN (pgvector's and the
fake store's alike). Every search scores it 0 instead, so that nothing NaN reaches a
ranking, the gate, the log or a reply (issue 14, item 5)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import pytest

from memory_service.adapters.local_extractor import LocalExtractor
from memory_service.domain.consolidation import ExtractedFact
from memory_service.domain.models import Job, NewEpisode, NewMemory, SearchQuery
from memory_service.domain.search import Mode, finite_json, finite_or_zero
from memory_service.fake_store import FakeUnitOfWork
from memory_service.services import consolidate
from memory_service.services.consolidate import Consolidator
from memory_service.services.recall import search
from memory_service.services.recall.parts import Parts
from memory_service.services.recall.presets import PRESETS
from memory_service.testing import HashEmbedder
from policies.update_rule import SimilarityDecider
from tests.unit.recall.factories import ALICE, NOW, T0, TENANT, add_fact, add_turns

SAID = ("We went hiking in the Alps", "I adopted a puppy named Rex", "Rex chews shoes")


class ZeroEmbedder(HashEmbedder):
    """Every text embedded as the zero vector."""

    def embed_sync(self, texts: Sequence[str]) -> list[list[float]]:
        return [[0.0] * self.dim for _ in texts]


def finite(value: Any) -> bool:
    """No NaN or infinity anywhere in ``value`` (strict JSON refuses them)."""
    json.dumps(value, allow_nan=False, default=str)
    return True


def test_finite_or_zero() -> None:
    assert finite_or_zero(0.25) == 0.25
    assert finite_or_zero(-1.0) == -1.0
    assert [finite_or_zero(x) for x in (math.nan, math.inf, -math.inf)] == [0.0, 0.0, 0.0]


def test_finite_json_nulls_what_jsonb_cannot_hold() -> None:
    value = {"a": math.nan, "b": [1.0, math.inf, {"c": -math.inf}], "d": (2, "x"), "e": None}
    assert finite_json(value) == {
        "a": None,
        "b": [1.0, None, {"c": None}],
        "d": [2, "x"],
        "e": None,
    }


@pytest.mark.parametrize("preset", ["hybrid", "hybrid-graph", "gated", "gated-window2"])
@pytest.mark.parametrize("mode", ["auto", "deliberate"])
@pytest.mark.parametrize("zero", ["query", "stored"])
async def test_a_zero_vector_scores_zero_not_nan(
    uow: FakeUnitOfWork, preset: str, mode: Mode, zero: str
) -> None:
    await add_turns(uow, SAID)
    await add_fact(uow, "Alice has a puppy named Rex")
    embedder = HashEmbedder()
    if zero == "query":
        embedder = ZeroEmbedder()
    else:  # a stored episode and a stored fact without a direction
        item = NewEpisode("user", "Rex is a puppy", speaker="Alice", occurred_at=T0)
        await uow.episodes.add_many(TENANT, ALICE, [item], [[0.0] * 384], NOW)
        await uow.memories.add(TENANT, NewMemory("Rex is a puppy", ALICE), [0.0] * 384)
    pipeline = PRESETS[preset].build(embedder, Parts())
    query = SearchQuery("puppy named Rex", ALICE, limit=5)
    result = await search(uow, pipeline, TENANT, query, mode=mode, now=NOW)
    assert result.hits
    for hit in result.hits:
        assert all(math.isfinite(s) for s in (hit.score, *hit.scores.values())), hit
    assert finite(result.gate)
    [row] = uow.retrievals.records
    assert finite([row.request, row.stages, row.gate, row.results])


async def test_consolidation_takes_a_directionless_match_as_unrelated(
    uow: FakeUnitOfWork,
) -> None:
    """The update rule's best match by ``max(similarity)``: a NaN first in the list was
    taken as the best and not below the threshold, so a new fact was folded into a
    memory it has nothing to do with (NOOP or UPDATE); now it is a new memory (ADD)."""
    stored = await add_fact(uow, "Alice has a puppy named Rex")
    job = Job(
        id=UUID(int=1),
        tenant_id=TENANT,
        scope=ALICE,
        kind="consolidate",
        payload={},
        state="running",
        attempts=1,
        last_error=None,
        created_at=NOW,
        updated_at=NOW,
    )
    parts = Consolidator(HashEmbedder(), LocalExtractor(), SimilarityDecider())
    fact = ExtractedFact("Alice has a puppy named Rex", ())
    decision = await consolidate._decide(uow, parts, job, fact, [0.0] * 384)
    assert decision.op == "ADD", (decision, stored.id)

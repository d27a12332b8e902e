"""The cross-encoder stage: its fixed mixing rule (table-driven), what it does to a
pool, its preset without a model, and the setting's check at start."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from memory_service.adapters.cross_encoder import CrossEncoderScorer, OverlapScorer
from memory_service.bootstrap import build_reranker
from memory_service.config import Settings
from memory_service.domain.errors import ConfigurationError, InvalidInput
from memory_service.domain.models import Episode, SearchQuery
from memory_service.fake_store import FakeUnitOfWork
from memory_service.ports import Pool
from memory_service.services.recall import search
from memory_service.services.recall.parts import Parts
from memory_service.services.recall.presets import PRESETS
from policies.cross_encoder import (
    CrossEncoder,
    CrossEncoderRerank,
    Unavailable,
    mixed_scores,
    pair_text,
)
from tests.unit.recall.factories import ALICE, EMBEDDER, NOW, TENANT, add_turns, hit, make_search


class Fixed:
    """Scores given in advance, one per text, in order; notes what it was asked."""

    name = "fixed"

    def __init__(self, scores: Sequence[float]) -> None:
        self.scores = list(scores)
        self.asked: list[tuple[str, list[str]]] = []

    async def score(self, query: str, texts: Sequence[str]) -> list[float]:
        self.asked.append((query, list(texts)))
        return self.scores[: len(texts)]


@pytest.mark.parametrize(
    ("model", "order"),
    [
        ([0.0, 0.0, 0.0], [0, 1, 2]),  # no opinion: the incoming order
        ([3.0, 2.0, 1.0], [0, 1, 2]),  # agreement
        ([1.0, 2.0, 3.0], [0, 2, 1]),  # reversed: the ends tie (kept in order), the middle last
        ([0.0, 0.0, 9.0], [0, 2, 1]),  # the model's pick moves up, not past the fusion's first
        ([0.0, 9.0, 0.0, 0.0, 8.0], [1, 0, 4, 2, 3]),
    ],
)
def test_mixed_order(model: list[float], order: list[int]) -> None:
    mixed = mixed_scores(model, 60.0)
    assert sorted(range(len(model)), key=lambda i: (-mixed[i], i)) == order


def test_mixed_scores_are_the_rrf_of_both_ranks() -> None:
    assert mixed_scores([0.1, 0.9], 1.0) == pytest.approx([1 / 2 + 1 / 3, 1 / 3 + 1 / 2])
    assert mixed_scores([5.0, 1.0, 3.0], 0.0) == pytest.approx([2.0, 1 / 2 + 1 / 3, 1 / 3 + 1 / 2])


def test_pair_text_names_the_speaker() -> None:
    assert pair_text("Alice", "hi") == "Alice: hi"
    assert pair_text(None, "hi") == "hi"


async def test_the_stage_reorders_the_head_and_keeps_the_tail(uow: FakeUnitOfWork) -> None:
    scorer = Fixed([0.0, 0.0, 9.0])
    stage = CrossEncoderRerank(scorer, top=3, k=60.0)
    pool = Pool([hit(n) for n in range(1, 6)], {})
    s = await make_search(uow, "which turn?")
    out = await stage.rerank(s, pool, limit=4)
    assert [h.id.int for h in out.hits] == [1, 3, 2, 4]
    assert scorer.asked == [("which turn?", ["Alice: turn 1", "Alice: turn 2", "Alice: turn 3"])]
    assert out.hits[1].scores["cross_encoder"] == 9.0
    assert out.hits[1].score == out.hits[1].scores["cross_encoder_rrf"]
    assert out.hits[3].scores == {"given": 1.0}  # the tail is untouched
    assert "cross_encoder" in s.trace.timings_ms


async def test_an_empty_pool_asks_the_model_nothing(uow: FakeUnitOfWork) -> None:
    scorer = Fixed([])
    out = await CrossEncoderRerank(scorer).rerank(await make_search(uow, "q"), Pool([], {}), 5)
    assert out.hits == []
    assert scorer.asked == []


def test_the_spec_binds_the_model_or_refuses() -> None:
    scorer = OverlapScorer()
    bound = CrossEncoder(top=20).create(Parts(reranker=scorer))
    assert bound == CrossEncoderRerank(scorer, 20, 60.0)
    assert isinstance(CrossEncoder().create(Parts()), Unavailable)


async def test_the_ce_preset_without_a_model_refuses_the_search(uow: FakeUnitOfWork) -> None:
    await add_turns(uow, ["Rex the puppy barked", "the weather was rainy"])
    pipeline = PRESETS["sparse-focus2-ce"].build(EMBEDDER, Parts())
    with pytest.raises(InvalidInput, match="MEMORY_RERANKER_PATH"):
        await search(uow, pipeline, TENANT, SearchQuery("puppy", ALICE, limit=2), now=NOW)


async def test_the_ce_preset_puts_the_models_choice_first(uow: FakeUnitOfWork) -> None:
    turns: list[Episode] = await add_turns(
        uow, ["a puppy", "a puppy and a cat", "the puppy named Rex barked at the cat"]
    )
    pipeline = PRESETS["sparse-focus2-ce"].build(EMBEDDER, Parts(reranker=OverlapScorer()))
    q = SearchQuery("which puppy barked at the cat", ALICE, limit=1)
    result = await search(uow, pipeline, TENANT, q, now=NOW)
    assert result.hits[0].id == turns[2].id
    assert "cross_encoder" in result.hits[0].scores


async def test_overlap_scorer_is_the_share_of_query_words() -> None:
    assert await OverlapScorer().score("red fox", ["a red fox", "nothing", ""]) == [
        1.0,
        0.0,
        0.0,
    ]


def test_a_reranker_path_without_the_model_stops_the_start(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    settings = Settings(reranker_path=tmp_path)
    with pytest.raises(ConfigurationError, match=r"model\.safetensors.*tokenizer\.json"):
        build_reranker(settings)
    with pytest.raises(ConfigurationError, match="MEMORY_RERANKER_PATH"):
        CrossEncoderScorer(tmp_path / "absent")


def test_no_reranker_path_builds_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MEMORY_RERANKER_PATH", raising=False)
    assert build_reranker(Settings()) is None
    monkeypatch.setenv("MEMORY_RERANKER_PATH", "/nowhere")
    assert Settings().reranker_path == Path("/nowhere")

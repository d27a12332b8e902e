"""Reciprocal rank fusion, table-driven."""

from __future__ import annotations

from uuid import UUID

import pytest

from memory_service.domain.models import Candidate
from retrievers.fusion import reciprocal_rank_fusion


def c(n: int, score: float = 1.0, kind: str = "episode") -> Candidate:
    return Candidate(kind=kind, id=UUID(int=n), text=str(n), occurred_at=None, score=score)  # type: ignore[arg-type]


def ids(fused: list) -> list[int]:  # type: ignore[type-arg]
    return [f.candidate.id.int for f in fused]


@pytest.mark.parametrize(
    ("lists", "expected"),
    [
        ({"a": [c(1), c(2), c(3)]}, [1, 2, 3]),
        # 2 is second in both lists: 2/62 = 0.0323 beats 1 and 3, once each at rank 1: 1/61.
        ({"a": [c(1), c(2)], "b": [c(3), c(2)]}, [2, 1, 3]),
        ({"a": [c(1), c(2)], "b": [c(2), c(1)]}, [1, 2]),  # tie broken by list order
        ({"a": [], "b": [c(5)]}, [5]),
        ({}, []),
    ],
)
def test_order(lists: dict[str, list[Candidate]], expected: list[int]) -> None:
    assert ids(reciprocal_rank_fusion(lists)) == expected


def test_scores_and_parts() -> None:
    fused = reciprocal_rank_fusion({"v": [c(1, 0.9), c(2, 0.5)], "t": [c(2, 3.0)]}, k=10)
    by_id = {f.candidate.id.int: f for f in fused}
    assert by_id[2].score == pytest.approx(1 / 12 + 1 / 11)
    assert by_id[2].parts == {"v": 0.5, "v_rank": 2.0, "t": 3.0, "t_rank": 1.0}
    assert by_id[1].parts == {"v": 0.9, "v_rank": 1.0}


def test_same_id_different_kind_are_different_items() -> None:
    fused = reciprocal_rank_fusion({"a": [c(1, kind="episode")], "b": [c(1, kind="memory")]})
    assert len(fused) == 2


def test_duplicate_in_one_list_counts_once() -> None:
    fused = reciprocal_rank_fusion({"a": [c(1), c(1)]}, k=60)
    assert fused[0].score == pytest.approx(1 / 61)

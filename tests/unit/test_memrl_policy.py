"""MemRL's two phases and utility update, checked against hand-computed values."""

from __future__ import annotations

from uuid import UUID

import pytest

from policies.memrl import RerankConfig, Scored, rerank, update_utility, z_scores


def s(n: int, sim: float, q: float = 0.0) -> Scored:
    return Scored(UUID(int=n), sim, q)


def ids(ranked: list) -> list[int]:  # type: ignore[type-arg]
    return [r.id.int for r in ranked]


def test_z_scores_by_hand() -> None:
    # mean 2, population std sqrt(2/3) = 0.8165: z = -1.2247, 0, 1.2247
    assert z_scores([1.0, 2.0, 3.0]) == pytest.approx([-1.2247, 0.0, 1.2247], abs=1e-4)
    assert z_scores([5.0, 5.0]) == [0.0, 0.0]
    assert z_scores([]) == []


def test_nothing_above_the_floor_injects_nothing() -> None:
    assert rerank([s(1, 0.1), s(2, 0.15)], 5, RerankConfig(floor=0.2)) == []


def test_phase_a_keeps_k1_most_similar() -> None:
    items = [s(i, 0.3 + i / 100) for i in range(20)]
    ranked = rerank(items, 2, RerankConfig(k1_factor=2, lam=0.0))
    assert ids(ranked) == [19, 18]


@pytest.mark.parametrize(
    ("lam", "expected"),
    [(0.0, [1, 2, 3]), (1.0, [3, 2, 1]), (0.5, [2, 1, 3])],
)
def test_lambda_trades_similarity_for_utility(lam: float, expected: list[int]) -> None:
    # sims 0.9, 0.8, 0.7 -> z 1.2247, 0, -1.2247
    # Q 0, 0.6, 1.0: mean 0.5333, sd 0.4110 -> z -1.2978, 0.1622, 1.1355
    # lam 0.5: item 1 (1.2247 - 1.2978)/2 = -0.0366; item 2 0.0811; item 3 -0.0446
    items = [s(1, 0.9, 0.0), s(2, 0.8, 0.6), s(3, 0.7, 1.0)]
    ranked = rerank(items, 3, RerankConfig(lam=lam))
    assert ids(ranked) == expected


def test_utility_z_scores_are_clipped() -> None:
    items = [s(i, 0.5, 0.0) for i in range(1, 100)] + [s(100, 0.5, 1.0)]
    [top] = rerank(items, 1, RerankConfig(lam=1.0, k1_factor=100, z_clip=3.0))
    assert top.id.int == 100
    assert top.z_q == 3.0


def test_update_utility() -> None:
    assert update_utility(0.0, 1.0) == pytest.approx(0.3)
    assert update_utility(0.3, 1.0) == pytest.approx(0.51)
    assert update_utility(0.0, -1.0, alpha=0.5) == pytest.approx(-0.5)


def test_learning_loop_equal_similarity() -> None:
    q = {1: 0.0, 2: 0.0}
    for _ in range(3):
        q[2] = update_utility(q[2], 1.0)
        q[1] = update_utility(q[1], 0.0)
    ranked = rerank([s(1, 0.6, q[1]), s(2, 0.6, q[2])], 2, RerankConfig())
    assert ids(ranked) == [2, 1]

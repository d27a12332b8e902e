"""MemRL's two phases, table-driven, against hand-computed values (Q is updated in SQL:
tests/integration/test_utility_update.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import pytest

from policies.memrl import Ranked, RerankConfig, Scored, rerank, z_scores


def s(n: int, sim: float, q: float = 0.0) -> Scored:
    return Scored(UUID(int=n), sim, q)


def ids(ranked: Sequence[Ranked]) -> list[int]:
    return [r.id.int for r in ranked]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # mean 2, population std sqrt(2/3) = 0.8165
        ([1.0, 2.0, 3.0], [-1.2247, 0.0, 1.2247]),
        # mean 0.4, devs -0.2 -0.2 0.4, var 0.24/3 = 0.08, std 0.2828
        ([0.2, 0.2, 0.8], [-0.7071, -0.7071, 1.4142]),
        ([5.0, 5.0], [0.0, 0.0]),  # std 0: nobody stands out
        ([7.0], [0.0]),
        ([], []),
    ],
)
def test_z_scores(values: list[float], expected: list[float]) -> None:
    assert z_scores(values) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("items", "floor"),
    [
        ([s(1, 0.1), s(2, 0.15)], 0.2),
        ([s(1, 0.2)], 0.2),  # the floor itself is not above it
        ([s(1, -0.5), s(2, -0.9, 1.0)], 0.2),
        ([], 0.2),
    ],
)
def test_nothing_above_the_floor_injects_nothing(items: list[Scored], floor: float) -> None:
    assert rerank(items, 5, RerankConfig(floor=floor)) == []


def test_items_below_the_floor_neither_rank_nor_move_the_z_scores() -> None:
    kept = [s(1, 0.9, 0.0), s(2, 0.8, 0.6), s(3, 0.7, 1.0)]
    noise = [s(9, 0.1, 1.0), s(8, -0.3, -1.0)]
    assert rerank(kept + noise, 5, RerankConfig()) == rerank(kept, 5, RerankConfig())


def test_phase_a_keeps_only_the_k1_most_similar() -> None:
    # sims 0.30 .. 0.39; k1 = 2 x 2 = 4 keeps items 9, 8, 7, 6. Item 0 has the best Q
    # but is the least similar: with lam = 1 it would win if phase A let it through.
    items = [s(i, 0.30 + i / 100, 1.0 if i == 0 else 0.0) for i in range(10)]
    items[6] = s(6, 0.36, 0.5)
    ranked = rerank(items, 2, RerankConfig(lam=1.0, k1_factor=2))
    assert ids(ranked) == [6, 9]  # 6 by Q; then Q ties at 0: higher similarity


def test_limit_zero_and_negative() -> None:
    assert rerank([s(1, 0.9)], 0, RerankConfig()) == []
    with pytest.raises(ValueError, match="limit"):
        rerank([s(1, 0.9)], -1, RerankConfig())


def test_three_item_scores_by_hand() -> None:
    # sims 0.9 0.6 0.3: mean 0.6, var 0.18/3 = 0.06, std 0.24495 -> z 1.2247 0 -1.2247
    # Q 0.2 0.2 0.8: z -0.7071 -0.7071 1.4142 (see test_z_scores)
    # lam 0.5: item 1 0.5(1.2247 - 0.7071) = 0.2588; item 2 0.5(0 - 0.7071) = -0.3536;
    #          item 3 0.5(-1.2247 + 1.4142) = 0.0947 -> 1, 3, 2
    items = [s(1, 0.9, 0.2), s(2, 0.6, 0.2), s(3, 0.3, 0.8)]
    ranked = rerank(items, 3, RerankConfig(lam=0.5, floor=0.2))
    assert ids(ranked) == [1, 3, 2]
    by_id = {r.id.int: r for r in ranked}
    assert by_id[1].z_sim == pytest.approx(1.2247, abs=1e-4)
    assert by_id[3].z_q == pytest.approx(1.4142, abs=1e-4)
    assert [r.score for r in ranked] == pytest.approx([0.2588, 0.0947, -0.3536], abs=1e-4)
    assert (by_id[2].similarity, by_id[2].utility) == (0.6, 0.2)


@pytest.mark.parametrize(
    ("lam", "expected"),
    [
        (0.0, [1, 2, 3]),  # similarity order
        (0.5, [1, 3, 2]),  # see test_three_item_scores_by_hand
        # lam 0.8: 0.2(1.2247) + 0.8(-0.7071) = -0.3207; 0.8(-0.7071) = -0.5657;
        #          0.2(-1.2247) + 0.8(1.4142) = 0.8864
        (0.8, [3, 1, 2]),
        (1.0, [3, 1, 2]),  # utility order; items 1 and 2 tie on Q: higher similarity
    ],
)
def test_lambda_trades_similarity_for_utility(lam: float, expected: list[int]) -> None:
    items = [s(1, 0.9, 0.2), s(2, 0.6, 0.2), s(3, 0.3, 0.8)]
    assert ids(rerank(items, 3, RerankConfig(lam=lam))) == expected


@pytest.mark.parametrize(
    ("items", "lam", "expected"),
    [
        # four items, similarity and utility in opposite orders
        ([s(1, 0.9, -0.5), s(2, 0.8, 0.0), s(3, 0.7, 0.5), s(4, 0.6, 1.0)], 0.0, [1, 2, 3, 4]),
        ([s(1, 0.9, -0.5), s(2, 0.8, 0.0), s(3, 0.7, 0.5), s(4, 0.6, 1.0)], 1.0, [4, 3, 2, 1]),
        # equally similar: z_sim is 0 for both, so Q decides whatever lam > 0
        ([s(1, 0.5, 0.1), s(2, 0.5, 0.4)], 0.5, [2, 1]),
        ([s(1, 0.5, 0.1), s(2, 0.5, 0.4)], 0.1, [2, 1]),
        # identical in both: input order
        ([s(2, 0.5, 0.3), s(1, 0.5, 0.3)], 0.5, [2, 1]),
    ],
)
def test_order(items: list[Scored], lam: float, expected: list[int]) -> None:
    assert ids(rerank(items, len(items), RerankConfig(lam=lam))) == expected


@pytest.mark.parametrize(("outlier", "clipped"), [(1.0, 3.0), (-1.0, -3.0)])
def test_utility_z_scores_are_clipped(outlier: float, clipped: float) -> None:
    # 16 items at Q 0 and one at Q ±1: mean ±1/17, std sqrt(16)/17, so the outlier's
    # z is ±sqrt(16) = ±4 (clipped to ±3) and the others' is ∓1/4.
    items = [s(i, 0.5, 0.0) for i in range(1, 17)] + [s(17, 0.5, outlier)]
    ranked = rerank(items, 17, RerankConfig(lam=1.0, k1_factor=1, z_clip=3.0))
    by_id = {r.id.int: r for r in ranked}
    assert by_id[17].z_q == clipped
    assert by_id[17].score == clipped
    assert by_id[1].z_q == pytest.approx(-outlier / 4)
    assert ids(ranked)[0 if outlier > 0 else -1] == 17


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lam": 1.5}, "lam"),
        ({"lam": -0.1}, "lam"),
        ({"k1_factor": 0}, "k1_factor"),
        ({"floor": 1.5}, "floor"),
        ({"z_clip": 0.0}, "z_clip"),
    ],
)
def test_config_is_validated(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RerankConfig(**kwargs)


def test_a_rewarded_item_outranks_an_equally_similar_one() -> None:
    a, b = 1, 2
    first = rerank([s(a, 0.6, 0.0), s(b, 0.6, 0.0)], 2, RerankConfig())
    assert ids(first) == [a, b]  # no signal yet: input order
    # Q after three rewards of 1 at alpha 0.3 (b) and of 0 (a): 0.3, 0.51, 0.657 and 0
    learned = rerank([s(a, 0.6, 0.0), s(b, 0.6, 0.657)], 2, RerankConfig())
    assert ids(learned) == [b, a]


def test_a_negative_utility_demotes_a_misleading_similar_item() -> None:
    misleading, good, filler = 1, 2, 3
    sims = {misleading: 0.9, good: 0.8, filler: 0.4}
    q = dict.fromkeys(sims, 0.0)

    def ranking() -> list[int]:
        return ids(rerank([s(i, sims[i], q[i]) for i in sims], 3, RerankConfig(lam=0.5)))

    assert ranking() == [misleading, good, filler]
    q[misleading] = -0.3  # one reward of -1 at alpha 0.3
    # sims: mean 0.7, std 0.2160 -> z 0.9258, 0.4629, -1.3887
    # Q -0.3, 0, 0: mean -0.1, std 0.1414 -> z -1.4142, 0.7071, 0.7071
    # scores: misleading -0.2442, good 0.5850, filler -0.3408
    assert ranking() == [good, misleading, filler]

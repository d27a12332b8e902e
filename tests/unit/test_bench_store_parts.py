"""The store benchmark's pure parts: who owns each row in each shape, the synthetic
learned-sparse vectors, and the exact searches recall is measured against."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from evals.bench import store, synthetic_fill
from evals.bench.shapes import Shape, user_name
from memory_service.db.models import SPARSE_DIM

VOCAB = [f"w{i}" for i in range(50)]
PIECES = synthetic_fill.Wordpieces.of([[3000 + i, 5000 + i][: 1 + i % 2] for i in range(50)])


def test_one_scope_holds_every_row() -> None:
    shape = Shape.of("one", 1_000)
    assert shape.users == 1
    assert set(shape.users_of(0, 1_000)) == {user_name(0)}
    assert shape.query_users(5, seed=1) == [0] * 5


def test_many_deals_rows_round_robin_a_hundred_a_user() -> None:
    shape = Shape.of("many", 1_000)
    assert shape.users == 10
    owners = shape.users_of(0, 1_000)
    for user in range(shape.users):
        rows = shape.rows_of(user)
        assert len(rows) == 100
        assert {owners[r] for r in rows} == {user_name(user)}
    picked = shape.query_users(50, seed=1)
    assert picked == shape.query_users(50, seed=1)
    assert set(picked) <= set(range(10))
    assert len(set(picked)) > 1


def test_sparse_rows_are_the_words_pieces_plus_small_expansions() -> None:
    rows = synthetic_fill.sparse_rows(PIECES, len(VOCAB), start=0, count=200)
    again = synthetic_fill.sparse_rows(PIECES, len(VOCAB), start=0, count=200)
    assert rows.shape == (200, SPARSE_DIM)
    assert (rows != again).nnz == 0  # seeded
    texts = synthetic_fill.texts(VOCAB, 0, 200)
    for i, text in enumerate(texts):
        lo, hi = rows.indptr[i], rows.indptr[i + 1]
        terms = dict(zip(rows.indices[lo:hi].tolist(), rows.data[lo:hi].tolist(), strict=True))
        assert len(terms) == hi - lo  # each term once
        words = {int(w[1:]) for w in text.split()}
        pieces = {
            p
            for w in words
            for p in PIECES.ids[PIECES.start[w] : PIECES.start[w] + PIECES.count[w]]
        }
        assert pieces <= terms.keys()
        for term, weight in terms.items():
            if term in pieces:
                assert 0.3 <= weight <= 2.5
            else:
                assert synthetic_fill.EXPANSION_IDS[0] <= term < SPARSE_DIM
                assert 0.05 <= weight <= 0.6


def _data(vectors: list[list[float]], sparse: list[dict[int, float]]) -> synthetic_fill.Data:
    matrix = np.asarray(vectors, dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    dense = np.zeros((len(sparse), SPARSE_DIM), dtype=np.float32)
    for row, terms in enumerate(sparse):
        for term, weight in terms.items():
            dense[row, term] = weight
    return synthetic_fill.Data(VOCAB, PIECES, matrix, sp.csr_array(dense))


def test_exact_sparse_ranks_positive_products_older_first_on_ties() -> None:
    data = _data([[1, 0]] * 5, [{1: 1.0}, {2: 3.0}, {1: 2.0}, {7: 1.0}, {2: 1.5, 1: 0.5}])
    assert store.exact_sparse(data, None, {1: 1.0, 2: 1.0}) == [1, 2, 4, 0]
    assert store.exact_sparse(data, np.asarray([0, 3]), {1: 1.0}) == [0]
    assert store.exact_sparse(data, None, {9: 1.0}) == []


def test_exact_dense_searches_the_querys_scope_only() -> None:
    rng = np.random.default_rng(0)
    data = _data(rng.standard_normal((2_000, 8)).tolist(), [{}] * 2_000)
    one, many = Shape.of("one", 2_000), Shape.of("many", 2_000)
    queries = data.vectors[[5, 6]]
    [first, second] = store.exact_dense(data, one, [0, 0], queries)
    assert 5 in first
    assert 6 in second
    assert len(first) == store.K
    [mine] = store.exact_dense(data, many, [5 % many.users], queries[:1])
    assert 5 in mine
    assert all(r % many.users == 5 % many.users for r in mine)


def test_recall_counts_the_truth_found() -> None:
    got = [str(synthetic_fill.episode_id(r)) for r in (1, 2, 3)]
    assert store.recall(got, {1, 2, 9, 10}) == 0.5
    assert store.recall(got, []) is None
    assert store.mean([1.0, None, 0.5]) == 0.75

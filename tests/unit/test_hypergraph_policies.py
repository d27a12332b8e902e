"""Mention keys, components and merge candidates of the hypergraph."""

from __future__ import annotations

from uuid import UUID

import numpy as np
import pytest

from memory_service.domain.consolidation import ExtractedEntity, ExtractedFact
from memory_service.domain.models import Entity, Membership, Scope
from policies.hypergraph import components, merge_candidates, normalise
from policies.near_duplicates import clusters, merge_near_duplicates
from retrievers.hypergraph import mention_keys


def test_mention_keys_are_spans_without_edge_stop_words() -> None:
    keys = mention_keys("What did Caroline's sister buy in New York?")
    assert "caroline" in keys
    assert "new york" in keys
    assert "caroline sister" in keys
    assert "what" not in keys
    assert "in new" not in keys


def e(n: int, name: str, type_: str = "person") -> Entity:
    return Entity(UUID(int=n), Scope("u"), name, type_, (name.lower(),))


def m(entity: int, edge: int) -> Membership:
    return Membership(UUID(int=entity), "memory", UUID(int=1000 + edge), "mention")


def test_components_group_entities_through_shared_edges() -> None:
    ents = [e(1, "Ana"), e(2, "Ben"), e(3, "Cy")]
    groups = components(ents, [m(1, 1), m(2, 1), m(3, 2)])
    assert groups == [[UUID(int=1), UUID(int=2)], [UUID(int=3)]]


@pytest.mark.parametrize(
    ("entities", "members", "expected"),
    [
        # a first name inside a full name, connected: merged into the better-linked one
        ([e(1, "Caroline Smith"), e(2, "Caroline")], [m(1, 1), m(2, 1), m(2, 2)], [(2, 1)]),
        # same words once normalised: merged even when not connected
        ([e(1, "Melanie's"), e(2, "melanie")], [m(1, 1), m(2, 2)], [(1, 2)]),
        # prefix but in different components: kept apart
        ([e(1, "Caroline Smith"), e(2, "Caroline")], [m(1, 1), m(2, 2)], []),
        # different types are never merged
        ([e(1, "Paris", "place"), e(2, "Paris", "person")], [m(1, 1), m(2, 1)], []),
    ],
)
def test_merge_candidates(
    entities: list[Entity], members: list[Membership], expected: list[tuple[int, int]]
) -> None:
    pairs = merge_candidates(entities, members)
    assert [(k.int, d.int) for k, d in pairs] == expected


def test_normalise() -> None:
    assert normalise("Melanie’s  Kids") == ("melanie", "kids")


def unit(v: list[float]) -> list[float]:
    a = np.asarray(v, dtype="float32")
    return list(a / np.linalg.norm(a))


def test_faiss_clusters_near_duplicates_transitively() -> None:
    vectors = [unit([1, 0, 0]), unit([1, 0.05, 0]), unit([0, 1, 0]), unit([1, 0.1, 0])]
    assert clusters(vectors, 0.99) == [[0, 1, 3], [2]]
    assert clusters([], 0.9) == []


def test_merged_fact_keeps_all_provenance() -> None:
    a = ExtractedFact("Ana likes tea", (UUID(int=1),), (ExtractedEntity("Ana", "person"),))
    b = ExtractedFact("Ana really likes tea", (UUID(int=2),), (ExtractedEntity("Ana", "person"),))
    facts, vectors = merge_near_duplicates([a, b], [unit([1, 0]), unit([1, 0.01])], 0.99)
    assert [f.text for f in facts] == ["Ana really likes tea"]
    assert facts[0].source_episode_ids == (UUID(int=1), UUID(int=2))
    assert facts[0].entities == (ExtractedEntity("Ana", "person"),)
    assert len(vectors) == 1

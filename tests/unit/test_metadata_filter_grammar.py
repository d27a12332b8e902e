"""Metadata filters: Mem0's grammar parsed, refused with a path, and evaluated in Python."""

from __future__ import annotations

import random
from typing import Any

import pytest

from memory_service.domain.errors import InvalidInput
from memory_service.domain.filters import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    AllOf,
    AnyOf,
    Condition,
    NoneOf,
    matches,
    parse_filters,
)
from memory_service.domain.models import Scope
from memory_service.requests.filters import from_param


def where(raw: dict[str, Any]) -> Any:
    return parse_filters(raw).where


def test_bare_values_and_operators() -> None:
    assert where({"category": "food"}) == Condition("category", "eq", "food")
    assert where({"k": "*"}) == Condition("k", "exists")
    assert where({"k": {"eq": "*"}}) == Condition("k", "eq", "*")
    assert where({"k": {"ne": 1}}) == NoneOf((Condition("k", "eq", 1),))
    assert where({"k": {"in": ["a", 1]}}) == Condition("k", "in", ("a", 1))
    assert where({"k": {"nin": [True]}}) == NoneOf((Condition("k", "in", (True,)),))
    assert where({"k": {"gte": 2, "lt": 5}}) == AllOf(
        (Condition("k", "gte", 2), Condition("k", "lt", 5))
    )
    assert where({"a": 1, "b": None}) == AllOf(
        (Condition("a", "eq", 1), Condition("b", "eq", None))
    )
    assert where({}) is None


def test_logical_operators() -> None:
    raw = {"AND": [{"a": 1}, {"OR": [{"b": 2}, {"NOT": [{"c": 3}]}]}]}
    assert where(raw) == AllOf(
        (
            Condition("a", "eq", 1),
            AnyOf((Condition("b", "eq", 2), NoneOf((Condition("c", "eq", 3),)))),
        )
    )
    assert where({"NOT": {"c": 3}}) == NoneOf((Condition("c", "eq", 3),))


def test_scope_keys_select_the_scope() -> None:
    parsed = parse_filters({"AND": [{"user_id": "alice"}, {"run_id": {"eq": "s1"}}, {"x": 1}]})
    assert parsed.scope == Scope("alice", None, "s1")
    assert parsed.where == AllOf((Condition("x", "eq", 1),))
    assert parsed.scope_within(Scope(agent_id="bot")) == Scope("alice", "bot", "s1")
    assert parse_filters({"user_id": "alice"}).where is None
    with pytest.raises(InvalidInput, match="contradicts"):
        parsed.scope_within(Scope(user_id="bob"))


@pytest.mark.parametrize(
    ("raw", "path", "says"),
    [
        ({"k": {"between": [1, 2]}}, "filters.k.between", "unknown operator"),
        ({"k": {}}, "filters.k", "empty operator"),
        ({"k": [1, 2]}, "filters.k", "use 'in'"),
        ({"k": {"eq": {"a": 1}}}, "filters.k.eq", "string, number, boolean or null"),
        ({"k": {"in": "a"}}, "filters.k.in", "list"),
        ({"k": {"in": []}}, "filters.k.in", "list"),
        ({"k": {"in": [[1]]}}, "filters.k.in[0]", "string, number"),
        ({"k": {"gt": True}}, "filters.k.gt", "number or a string"),
        ({"k": {"gt": None}}, "filters.k.gt", "number or a string"),
        ({"k": {"contains": 3}}, "filters.k.contains", "string"),
        ({"AND": {"a": 1}}, "filters.AND", "non-empty list"),
        ({"OR": []}, "filters.OR", "non-empty list"),
        ({"OR": [1]}, "filters.OR[0]", "object"),
        ({"OR": [{"user_id": "a"}, {"x": 1}]}, "filters.OR[0].user_id", "only under AND"),
        ({"NOT": [{"agent_id": "a"}]}, "filters.NOT[0].agent_id", "only under AND"),
        ({"user_id": "a b"}, "filters.user_id", "scope id"),
        ({"AND": [{"user_id": "a"}, {"user_id": "b"}]}, "filters.AND[1].user_id", "twice"),
        ({"AND": [{"run_id": "a"}, {"session_id": "b"}]}, "filters.AND[1].session_id", "twice"),
        ({"": 1}, "filters.", "1 to 256"),
        ({"k": "x" * 1001}, "filters.k", "longer than"),
    ],
)
def test_malformed_filters_name_the_problem(raw: dict[str, Any], path: str, says: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_filters(raw)
    detail = caught.value.detail
    assert isinstance(detail, dict)
    [(where_, problem)] = detail.items()
    assert where_ == path
    assert says in problem


def test_limits() -> None:
    deep: dict[str, Any] = {"x": 1}
    for _ in range(MAX_DEPTH - 1):
        deep = {"AND": [deep]}
    parse_filters(deep)
    with pytest.raises(InvalidInput, match="levels deep"):
        parse_filters({"OR": [deep]})
    parse_filters({f"k{i}": i for i in range(MAX_CONDITIONS)})
    with pytest.raises(InvalidInput, match="conditions"):
        parse_filters({f"k{i}": i for i in range(MAX_CONDITIONS + 1)})
    with pytest.raises(InvalidInput, match="list of 1 to 100"):
        parse_filters({"k": {"in": list(range(101))}})


def test_query_parameter() -> None:
    assert from_param(None).where is None
    assert from_param('{"k": {"in": [1, 2]}}').where == Condition("k", "in", (1, 2))
    for bad, says in [
        ("{", "not JSON"),
        ("[1]", "JSON object"),
        ('{"k": NaN}', "NaN"),
        ('{"k": {"gt": 1e999}}', "infinity"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            from_param(bad)
        assert says.lower() in str(caught.value.detail).lower()


META = {"s": "Hello", "n": 5, "f": 2.5, "b": True, "z": None, "d": "2024-03-01T10:00:00Z"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"s": "Hello"}, True),
        ({"s": "hello"}, False),
        ({"n": 5.0}, True),
        ({"b": 1}, False),  # a boolean is not a number
        ({"n": True}, False),
        ({"z": None}, True),
        ({"missing": None}, False),
        ({"z": "*"}, False),  # present but null
        ({"s": "*"}, True),
        ({"s": {"ne": "x"}}, True),
        ({"missing": {"ne": "x"}}, True),  # NOT is the exact complement
        ({"n": {"in": [1, 5]}}, True),
        ({"n": {"nin": [1, 5]}}, False),
        ({"n": {"gt": 4, "lte": 5}}, True),
        ({"n": {"gt": 5}}, False),
        ({"s": {"gt": 1}}, False),  # a string under a numeric range: false, no error
        ({"n": {"gt": "1"}}, False),
        ({"d": {"gte": "2024-01-01", "lt": "2024-06-01"}}, True),
        ({"d": {"lt": "2024-03-01"}}, False),
        ({"s": {"contains": "ell"}}, True),
        ({"s": {"contains": "ELL"}}, False),
        ({"s": {"icontains": "ELL"}}, True),
        ({"n": {"contains": "5"}}, False),
        ({"OR": [{"n": 1}, {"f": {"lt": 3}}]}, True),
        ({"NOT": [{"n": 1}, {"f": {"lt": 3}}]}, False),
        ({"AND": [{"n": 5}, {"NOT": {"b": False}}]}, True),
    ],
)
def test_evaluation(raw: dict[str, Any], expected: bool) -> None:
    assert matches(where(raw), META) is expected


def random_filter(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    """A random filter over keys a, b, c (for the property tests, here and in the API)."""
    if depth < 3 and rng.random() < 0.4:
        op = rng.choice(["AND", "OR", "NOT"])
        return {op: [random_filter(rng, depth + 1) for _ in range(rng.randint(1, 3))]}
    key = rng.choice("abc")
    value = rng.choice([0, 1, 2, "x", "y", True])
    operator = rng.choice(["bare", "ne", "in", "nin", "gt", "lte", "contains", "*"])
    if operator == "bare":
        return {key: value}
    if operator == "*":
        return {key: "*"}
    if operator in ("in", "nin"):
        return {key: {operator: [value, rng.choice([0, 1, "x"])]}}
    if operator in ("gt", "lte"):
        return {key: {operator: rng.choice([1, "x"])}}
    if operator == "contains":
        return {key: {operator: "x"}}
    return {key: {operator: value}}


def test_not_is_the_complement() -> None:
    rng = random.Random(7)
    items = [
        {"a": rng.choice([0, 1, 2, "x", None, True]), "b": rng.choice([1, "y"])} for _ in "x" * 20
    ]
    for _ in range(200):
        raw = random_filter(rng)
        tree = where(raw)
        negated = where({"NOT": raw})
        for item in items:
            assert matches(tree, item) is not matches(negated, item)

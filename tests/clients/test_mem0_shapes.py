"""Mem0's shapes without a server: ids pulled out of ``filters``, ``run_id``, ``top_k``,
``threshold``, ``data=`` and the Mem0-shaped mapping of every model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest

from memory_client import MemoryClient, SearchHit, SearchResult
from memory_client import _routes as routes
from memory_client._mem0 import Scoped, scoped
from memory_client.models import AddResult, Memory, MemoryChange, MemoryPage

ID = UUID("00000000-0000-0000-0000-000000000001")
WHEN = datetime(2024, 5, 1, tzinfo=UTC)
NONE: dict[str, Any] = {"user_id": None, "agent_id": None, "session_id": None, "run_id": None}


@pytest.mark.parametrize(
    ("filters", "keywords", "expected"),
    [
        (None, {"user_id": "a"}, Scoped(user_id="a")),
        ({"user_id": "a"}, {}, Scoped(user_id="a")),
        ({"user_id": {"eq": "a"}, "k": 1}, {}, Scoped(user_id="a", filters={"k": 1})),
        ({"AND": [{"user_id": "a"}, {"run_id": "r"}]}, {}, Scoped("a", None, "r")),
        (
            {"AND": [{"agent_id": "b"}, {"rating": {"gte": 4}}]},
            {"user_id": "a"},
            Scoped("a", "b", None, {"AND": [{"rating": {"gte": 4}}]}),
        ),
        ({"user_id": "a"}, {"user_id": "a"}, Scoped(user_id="a")),
        ({"session_id": "s"}, {"run_id": "s"}, Scoped(session_id="s")),
        (
            {"OR": [{"k": 1}, {"k": 2}]},
            {"agent_id": "b"},
            Scoped(agent_id="b", filters={"OR": [{"k": 1}, {"k": 2}]}),
        ),
    ],
)
def test_ids_in_filters_become_the_scope(
    filters: dict[str, Any] | None, keywords: dict[str, str], expected: Scoped
) -> None:
    assert scoped(filters, **{**NONE, **keywords}) == expected


@pytest.mark.parametrize(
    ("filters", "keywords", "message"),
    [
        ({"user_id": "b"}, {"user_id": "a"}, "disagrees"),
        ({"OR": [{"user_id": "a"}, {"k": 1}]}, {}, "under OR"),
        ({"AND": [{"OR": [{"agent_id": "a"}]}]}, {}, "under AND"),
        ({"NOT": {"run_id": "r"}}, {}, "under NOT"),
        ({"user_id": {"in": ["a", "b"]}}, {}, "exact id"),
        ({"agent_id": "*"}, {}, "exact id"),
        ({"user_id": 7}, {}, "exact id"),
        (None, {"run_id": "r", "session_id": "s"}, "disagree"),
    ],
)
def test_ids_that_are_not_a_scope_are_refused(
    filters: dict[str, Any] | None, keywords: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        scoped(filters, **{**NONE, **keywords})


def test_search_sends_the_scope_top_k_and_the_rest_of_the_filters() -> None:
    call = routes.search(
        "q",
        **NONE,
        filters={"AND": [{"user_id": "a"}, {"food": "vegan"}]},
        limit=10,
        top_k=3,
        threshold=None,
        preset=None,
        mode="auto",
        since=None,
        until=None,
        kinds=None,
        now=None,
    )
    assert call.json == {
        "user_id": "a",
        "query": "q",
        "filters": {"AND": [{"food": "vegan"}]},
        "limit": 3,
        "mode": "auto",
    }


def test_get_all_sends_filters_as_compact_json() -> None:
    call = routes.get_all(
        **NONE,
        filters={"user_id": "a", "tag": {"in": ["x"]}},
        limit=50,
        top_k=None,
        cursor=None,
        include_inactive=False,
    )
    assert call.params is not None
    assert call.params["user_id"] == "a"
    assert json.loads(call.params["filters"]) == {"tag": {"in": ["x"]}}
    assert " " not in call.params["filters"]


def test_update_takes_data_or_text_once() -> None:
    assert routes.update(ID, "new", text=None, metadata=None, valid_to=None).json == {"text": "new"}
    with pytest.raises(ValueError, match="once"):
        routes.update(ID, "one", text="other", metadata=None, valid_to=None)


def test_delete_all_and_reset_requests() -> None:
    call = routes.delete_all(user_id=None, agent_id="a", session_id=None, run_id="r")
    assert (call.method, call.path, call.params) == (
        "DELETE",
        "/v1/scopes",
        {"agent_id": "a", "session_id": "r"},
    )
    reset = routes.reset()
    assert (reset.method, reset.path, reset.json) == ("POST", "/v1/reset", {"confirm": True})


def hit(text: str, scores: dict[str, float], **extra: Any) -> SearchHit:
    return SearchHit(
        kind="memory",
        id=ID,
        text=text,
        occurred_at=WHEN,
        speaker=None,
        score=0.03,
        scores=scores,
        source_episode_ids=[],
        **extra,
    )


def test_threshold_keeps_hits_similar_enough() -> None:
    result = SearchResult(
        retrieval_id=ID,
        results=[
            hit("close", {"rrf": 0.03, "memories.vector": 0.8, "memories.vector_rank": 1.0}),
            hit("far", {"rrf": 0.02, "episodes.vector": 0.2}),
            hit("keyword only", {"rrf": 0.01, "memories.text": 3.0}),
        ],
        timings_ms={},
    )
    assert [h.similarity for h in result.results] == [0.8, 0.2, None]
    assert [h.text for h in result.above(0.5).results] == ["close"]
    assert [h.text for h in result.above(-1.0).results] == ["close", "far"]


def memory(**fields: Any) -> Memory:
    base: dict[str, Any] = {
        "id": ID,
        "user_id": "alex",
        "agent_id": None,
        "session_id": "run-1",
        "text": "likes tea",
        "metadata": {"k": 1},
        "source_episode_ids": [],
        "valid_from": None,
        "valid_to": None,
        "status": "active",
        "utility": 0.0,
        "created_at": WHEN,
        "updated_at": WHEN,
    }
    return Memory(**{**base, **fields})


def test_a_memory_reads_as_mem0_does() -> None:
    m = memory()
    assert m["memory"] == "likes tea"
    assert m["id"] == str(ID)
    assert m["run_id"] == "run-1"
    assert m["created_at"] == "2024-05-01T00:00:00+00:00"
    assert m["text"] == "likes tea"  # our own names still answer
    assert m.get("hash") is None
    assert "memory" in m
    assert "hash" not in m
    with pytest.raises(KeyError):
        m["hash"]
    keys = list(dict(m))
    assert keys[:9] == [
        "id",
        "memory",
        "metadata",
        "created_at",
        "updated_at",
        "user_id",
        "agent_id",
        "run_id",
        "session_id",
    ]
    assert m.text == "likes tea"  # the typed API is unchanged


def test_pages_searches_history_and_adds_read_as_mem0_does() -> None:
    page = MemoryPage(items=[memory()], next_cursor=None)
    assert page["results"][0]["memory"] == "likes tea"
    found = SearchResult(
        retrieval_id=ID, results=[hit("x", {"rrf": 0.03}, metadata={"a": 1})], timings_ms={}
    )
    assert (found["results"][0]["score"], found["results"][0]["metadata"]) == (0.03, {"a": 1})
    change = MemoryChange(
        id=ID,
        memory_id=ID,
        op="UPDATE",
        old_text="a",
        new_text="b",
        cause="api",
        created_at=WHEN,
    )
    assert (change["event"], change["old_memory"], change["new_memory"]) == ("UPDATE", "a", "b")
    assert not change["is_deleted"]
    added = AddResult(episode_ids=[ID], job_id=None)
    assert added["results"] == [{"id": str(ID), "memory": None, "event": "ADD"}]


def test_add_answers_with_the_texts_it_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"episode_ids": [str(ID)], "job_id": None})

    with MemoryClient("http://x", "k", transport=httpx.MockTransport(handler)) as client:
        res = client.add("hello", run_id="r", infer=False)
    assert res["results"] == [{"id": str(ID), "memory": "hello", "event": "ADD"}]
    body = json.loads(seen[0].content)
    assert (body["session_id"], body["infer"]) == ("r", False)

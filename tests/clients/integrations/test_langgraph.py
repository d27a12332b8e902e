"""MemoryServiceStore, LangGraph's BaseStore over the service, against a real server."""

from __future__ import annotations

from typing import Any, TypedDict

import httpx
import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore, GetOp, InvalidNamespaceError, Item, SearchItem

from memory_client import AsyncMemoryClient, MemoryClient
from memory_client.integrations.langgraph import (
    MemoryServiceStore,
    NamespaceScope,
    Scope,
    matches,
    text_of,
)

ALICE = ("memories", "alice")
BOB = ("memories", "bob")
DOCS = ("docs",)


class Caller:
    """The store's sync methods, or their async forms: one scenario tests both."""

    def __init__(self, store: MemoryServiceStore, mode: str) -> None:
        self.store, self.mode = store, mode

    async def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        if self.mode == "sync":
            return getattr(self.store, method)(*args, **kwargs)
        return await getattr(self.store, f"a{method}")(*args, **kwargs)


@pytest.fixture(params=["sync", "async"])
def call(
    request: pytest.FixtureRequest, sync_client: MemoryClient, aclient: AsyncMemoryClient
) -> Caller:
    if request.param == "sync":
        return Caller(MemoryServiceStore(sync_client), "sync")
    return Caller(MemoryServiceStore(aclient=aclient), "async")


async def test_put_get_update_delete(call: Caller, sync_client: MemoryClient) -> None:
    await call("put", ALICE, "tea", {"text": "Alice drinks green tea", "rank": 2})
    item = await call("get", ALICE, "tea")
    assert isinstance(item, Item)
    assert (item.namespace, item.key, item.value) == (
        ALICE,
        "tea",
        {"text": "Alice drinks green tea", "rank": 2},
    )
    assert await call("get", ALICE, "coffee") is None
    assert await call("get", BOB, "tea") is None

    await call("put", ALICE, "tea", {"text": "Alice drinks black tea", "rank": 3})
    updated = await call("get", ALICE, "tea")
    assert updated.value["text"] == "Alice drinks black tea"
    assert updated.created_at == item.created_at
    assert updated.updated_at > item.updated_at
    (memory,) = sync_client.get_all(user_id="alice").items  # one memory, updated in place
    assert memory.text == "text: Alice drinks black tea\nrank: 3"
    assert memory.metadata["langgraph_key"] == "tea"

    await call("delete", ALICE, "tea")
    assert await call("get", ALICE, "tea") is None
    assert sync_client.get_all(user_id="alice").items == []


async def test_search(call: Caller) -> None:
    await call("put", ALICE, "tea", {"text": "Alice drinks black tea", "rank": 3})
    await call("put", ALICE, "city", {"text": "Alice lives in Lisbon", "rank": 5})
    await call("put", BOB, "tea", {"text": "Bob never drinks tea", "rank": 1})

    hits = await call("search", ALICE, query="black tea")
    assert all(isinstance(hit, SearchItem) for hit in hits)
    assert hits[0].key == "tea"
    assert hits[0].score is not None
    assert {hit.namespace for hit in hits} == {ALICE}

    everyone = await call("search", ("memories",), query="tea")
    assert {(hit.namespace, hit.key) for hit in everyone} >= {(ALICE, "tea"), (BOB, "tea")}

    ranked = await call("search", ("memories",), filter={"rank": {"$gte": 3}})
    assert [(hit.key, hit.score) for hit in ranked] == [("city", None), ("tea", None)]
    assert [hit.key for hit in await call("search", ALICE, filter={"rank": 3})] == ["tea"]
    assert [hit.key for hit in await call("search", ("memories",), limit=1, offset=2)] == ["tea"]


async def test_list_namespaces(call: Caller, sync_client: MemoryClient) -> None:
    for namespace in (ALICE, BOB, DOCS, ("memories", "bob", "drafts")):
        await call("put", namespace, "k", {"text": "something to keep"})

    assert await call("list_namespaces") == [DOCS, ALICE, BOB, ("memories", "bob", "drafts")]
    assert await call("list_namespaces", prefix=("memories", "bob")) == [
        BOB,
        ("memories", "bob", "drafts"),
    ]
    assert await call("list_namespaces", suffix=("bob",)) == [BOB]
    assert await call("list_namespaces", prefix=("memories", "*"), max_depth=2) == [ALICE, BOB]
    assert await call("list_namespaces", max_depth=1) == [DOCS, ("memories",)]
    assert await call("list_namespaces", limit=2, offset=1) == [ALICE, BOB]
    # a namespace too short to name a user is kept under the store's agent
    (doc,) = sync_client.get_all(agent_id="langgraph").items
    assert (doc.user_id, doc.metadata["langgraph_namespace"]) == (None, "docs")


async def test_the_tenants_other_memories_are_not_items(sync_client: MemoryClient) -> None:
    sync_client.add_memory("Alice was born in Porto", user_id="alice")
    store = MemoryServiceStore(sync_client)
    store.put(ALICE, "tea", {"text": "Alice drinks tea"})
    assert [hit.key for hit in store.search(ALICE, query="Alice born Porto")] == ["tea"]
    assert store.list_namespaces() == [ALICE]


async def test_clients(sync_client: MemoryClient, aclient: AsyncMemoryClient) -> None:
    blocking = MemoryServiceStore(sync_client)  # async methods run it in a thread
    await blocking.aput(ALICE, "tea", {"text": "Alice drinks tea"})
    assert (await blocking.aget(ALICE, "tea")) == blocking.get(ALICE, "tea")
    with pytest.raises(TypeError, match="AsyncMemoryClient"):
        MemoryServiceStore(aclient).get(ALICE, "tea")
    with pytest.raises(TypeError):
        MemoryServiceStore()


def test_invalid_labels_fail_before_any_request(sync_client: MemoryClient) -> None:
    store = MemoryServiceStore(sync_client)
    with pytest.raises(InvalidNamespaceError):
        store.batch([GetOp(("a.b", "c"), "k")])


def test_namespace_scope() -> None:
    assert NamespaceScope()(ALICE) == Scope(user_id="alice")
    assert NamespaceScope()(("memories",)) is None
    rule = NamespaceScope(user_id=0, session_id=2)
    assert rule(("alice", "chats", "s1", "x")) == Scope(user_id="alice", session_id="s1")
    assert rule(("alice", "chats")) is None
    with pytest.raises(ValueError, match="position"):
        NamespaceScope(user_id=None)


def test_text_of() -> None:
    assert text_of({"text": "Alice drinks tea"}) == "Alice drinks tea"
    assert text_of({"food": "tea", "cups": 2}) == "food: tea\ncups: 2"
    assert text_of({"a": {"b": "deep"}, "c": "x"}, ["a.b"]) == "deep"
    assert text_of({}) == "{}"


def test_matches() -> None:
    value = {"rank": 3, "kind": "fact", "meta": {"lang": "en"}}
    assert matches(value, None)
    assert matches(value, {"kind": "fact", "rank": {"$gt": 2, "$lte": 3}})
    assert matches(value, {"meta": {"lang": "en"}})
    assert not matches(value, {"kind": {"$ne": "fact"}})
    assert not matches(value, {"missing": {"$gt": 0}})


def test_the_readme_example(run_example: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run_example("langgraph_store.py")
    first, second = capsys.readouterr().out.splitlines()
    assert first == "[]"
    assert "My greyhound Pixel loves the beach." in second


class Visits(TypedDict):
    seen: int


async def test_an_async_graph(aclient: AsyncMemoryClient) -> None:
    async def count(state: Visits, *, store: BaseStore) -> dict[str, int]:
        item = await store.aget(ALICE, "visits")
        seen = (item.value["n"] if item else 0) + 1
        await store.aput(ALICE, "visits", {"n": seen})
        return {"seen": seen}

    builder = StateGraph(Visits)
    builder.add_node("count", count)
    builder.add_edge(START, "count")
    builder.add_edge("count", END)
    graph = builder.compile(store=MemoryServiceStore(aclient=aclient))
    assert [(await graph.ainvoke({"seen": 0}))["seen"] for _ in range(3)] == [1, 2, 3]


class Counting(httpx.HTTPTransport):
    """The network, counting the requests sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}")
        return super().handle_request(request)


def test_requests_per_operation(server_url: str, api_key: str) -> None:
    transport = Counting()
    with MemoryClient(server_url, api_key, transport=transport) as client:
        store = MemoryServiceStore(client, page_size=2)
        for n in range(5):
            store.put(ALICE, f"k{n}", {"text": f"note {n}"})
        transport.sent.clear()
        assert store.get(ALICE, "k3") is not None
        assert transport.sent == ["GET /v1/memories"]  # found by its metadata, no scan
        transport.sent.clear()
        assert len(store.search(ALICE, limit=10)) == 5
        assert transport.sent == ["GET /v1/memories"] * 3  # pages of 2

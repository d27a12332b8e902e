"""A LangGraph graph whose long-term memory is memory-service. No LLM: one node recalls
what the store holds about the user, the next stores the new message."""

from typing import Any, TypedDict
from uuid import uuid4

from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore

from memory_client import MemoryClient
from memory_client.integrations.langgraph import MemoryServiceStore


class State(TypedDict):
    user_id: str
    message: str
    recalled: list[str]


def recall(state: State, *, store: BaseStore) -> dict[str, Any]:
    hits = store.search(("memories", state["user_id"]), query=state["message"], limit=3)
    return {"recalled": [hit.value["text"] for hit in hits]}


def remember(state: State, *, store: BaseStore) -> dict[str, Any]:
    store.put(("memories", state["user_id"]), str(uuid4()), {"text": state["message"]})
    return {}


builder = StateGraph(State)
builder.add_node("recall", recall)
builder.add_node("remember", remember)
builder.add_edge(START, "recall")
builder.add_edge("recall", "remember")
builder.add_edge("remember", END)

with MemoryClient() as client:  # MEMORY_SERVICE_URL, MEMORY_SERVICE_API_KEY
    graph = builder.compile(store=MemoryServiceStore(client))
    for message in ["My greyhound Pixel loves the beach.", "Where does Pixel like to run?"]:
        state = graph.invoke({"user_id": "caroline", "message": message, "recalled": []})
        print(state["recalled"])

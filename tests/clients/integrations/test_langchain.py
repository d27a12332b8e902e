"""The LangChain retriever and memory tools, against a real server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from langchain_core.documents import Document
from pydantic import ValidationError

from memory_client import AsyncMemoryClient, MemoryClient
from memory_client.integrations.langchain import MemoryServiceRetriever, memory_tools


def test_the_readme_example(
    run_example: Callable[[str], None],
    capsys: pytest.CaptureFixture[str],
    sync_client: MemoryClient,
) -> None:
    run_example("langchain_memory.py")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Remembered (id ")
    assert lines[2].startswith("- Caroline's greyhound Pixel loves the beach. (id ")
    assert lines[3] == "Caroline moved to Lisbon in May. | memory"
    assert lines[-1].startswith("Forgot memory ")
    (kept,) = sync_client.get_all(user_id="caroline").items
    assert kept.text == "Caroline's greyhound Pixel loves the beach."


async def test_retriever_sync_and_async(
    sync_client: MemoryClient, aclient: AsyncMemoryClient
) -> None:
    fact = sync_client.add_memory("Pixel is a greyhound", user_id="u")
    sync_client.add_memory("Caroline lives in Lisbon", user_id="u")
    sync_client.add_memory("Pixel belongs to someone else", user_id="other")
    blocking = MemoryServiceRetriever(client=sync_client, user_id="u", k=1)
    asyncio_only = MemoryServiceRetriever(aclient=aclient, user_id="u", k=1)

    (document,) = blocking.invoke("greyhound")
    assert isinstance(document, Document)
    assert document.page_content == "Pixel is a greyhound"
    assert document.metadata["id"] == document.id == str(fact.id)
    assert document.metadata["kind"] == "memory"
    assert document.metadata["score"] > 0
    assert set(document.metadata) == {
        "id",
        "kind",
        "score",
        "occurred_at",
        "speaker",
        "retrieval_id",
    }
    assert [d.page_content for d in await asyncio_only.ainvoke("greyhound")] == [
        "Pixel is a greyhound"
    ]
    assert [d.page_content for d in await blocking.ainvoke("greyhound")] == ["Pixel is a greyhound"]
    found = MemoryServiceRetriever(client=sync_client, user_id="u", k=5).invoke("Pixel")
    assert "Pixel belongs to someone else" not in {d.page_content for d in found}


async def test_tools(aclient: AsyncMemoryClient, sync_client: MemoryClient) -> None:
    remember, recall, forget = memory_tools(aclient=aclient, user_id="u", metadata={"via": "tool"})
    assert [t.name for t in (remember, recall, forget)] == ["remember", "recall", "forget"]
    assert set(recall.args) == {"query", "limit"}
    with pytest.raises(NotImplementedError):  # an asyncio client only: the tools are async
        remember.invoke({"text": "x"})

    said = await remember.ainvoke({"text": "Pixel is a greyhound"})
    (memory,) = sync_client.get_all(user_id="u").items
    assert said == f"Remembered (id {memory.id})."
    assert memory.metadata == {"via": "tool"}
    assert str(memory.id) in await recall.ainvoke({"query": "greyhound"})

    stranger = sync_client.add_memory("Someone else's fact", user_id="other")
    assert (
        await forget.ainvoke({"memory_id": str(stranger.id)}) == f"No memory with id {stranger.id}."
    )
    assert sync_client.get(stranger.id).status == "active"
    assert await forget.ainvoke({"memory_id": str(memory.id)}) == f"Forgot memory {memory.id}."
    assert sync_client.get_all(user_id="u").items == []
    assert await recall.ainvoke({"query": "greyhound"}) == "No memories found."


def test_arguments_are_checked(sync_client: MemoryClient) -> None:
    with pytest.raises(ValidationError):
        MemoryServiceRetriever(user_id="u")
    with pytest.raises(ValidationError):
        MemoryServiceRetriever(client=sync_client)
    with pytest.raises(ValueError, match="scope"):
        memory_tools(sync_client)
    _, recall, _ = memory_tools(sync_client, user_id="u")
    with pytest.raises(ValidationError):
        recall.invoke({"query": "x", "limit": 0})

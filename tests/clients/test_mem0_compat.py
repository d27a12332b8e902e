"""Mem0's documented call patterns, run against ``MemoryClient`` and a real server.

Each test is one pattern from Mem0's public documentation (the open-source ``Memory``
and the platform ``MemoryClient``, 2.x call shapes), written here as our own code: the
call as Mem0's docs make it, then the Mem0-shaped reads its docs do on the answer
(``res["results"][0]["memory"]``). The SDK README's compatibility table names these
tests. The server runs without a worker, so turns added with ``infer=True`` are not
consolidated here; ``test_added_turns_become_memories`` drains the jobs in process.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from memory_client import AsyncMemoryClient, MemoryClient
from memory_service.bootstrap import Components, build_consolidator
from tests.conftest import ROOT
from workers.dispatch import InProcessWorker

MESSAGES = [
    {"role": "user", "content": "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts."},
    {"role": "assistant", "content": "Hello Alex! I'll remember your dietary preferences."},
]


def texts(results: list[Any]) -> list[str]:
    return sorted(r["memory"] for r in results)


# -- add ---------------------------------------------------------------------------------


def test_p01_add_a_string(sync_client: MemoryClient) -> None:
    res = sync_client.add("I'm travelling to SF", user_id="john")
    assert res["results"][0]["memory"] == "I'm travelling to SF"
    assert res["results"][0]["event"] == "ADD"
    assert res["results"][0]["id"] == str(res.episode_ids[0])


def test_p02_add_a_conversation(sync_client: MemoryClient) -> None:
    res = sync_client.add(MESSAGES, user_id="alex")
    assert [r["memory"] for r in res["results"]] == [m["content"] for m in MESSAGES]
    assert res.job_id is not None  # extraction is queued (Mem0 extracts inline)


def test_p03_add_for_an_agent(sync_client: MemoryClient) -> None:
    sync_client.add(MESSAGES, agent_id="ai-tutor")
    assert len(sync_client.episodes(agent_id="ai-tutor").items) == 2


def test_p04_add_with_run_id(sync_client: MemoryClient) -> None:
    sync_client.add(MESSAGES, user_id="alex", run_id="trip-planning-2024")
    stored = sync_client.episodes(session_id="trip-planning-2024").items
    assert {e.session_id for e in stored} == {"trip-planning-2024"}


def test_p05_add_with_metadata(sync_client: MemoryClient) -> None:
    sync_client.add(MESSAGES, user_id="alex", metadata={"food": "vegan"})
    assert {e.metadata["food"] for e in sync_client.episodes(user_id="alex").items} == {"vegan"}


def test_p06_add_without_inference(sync_client: MemoryClient) -> None:
    res = sync_client.add("Alex prefers window seats", user_id="alex", infer=False)
    assert res.job_id is None
    assert res["results"][0]["memory"] == "Alex prefers window seats"
    found = sync_client.search("window seats", user_id="alex")
    assert found["results"][0]["id"] == res["results"][0]["id"]
    assert sync_client.get_all(user_id="alex")["results"] == []  # nothing extracted


# -- search ------------------------------------------------------------------------------


def test_p07_search_by_user(sync_client: MemoryClient) -> None:
    sync_client.add_memory("Alex is a vegetarian", user_id="alex")
    sync_client.add_memory("Sam loves steak", user_id="sam")
    res = sync_client.search("What do you know about me?", user_id="alex")
    assert texts(res["results"]) == ["Alex is a vegetarian"]
    hit = res["results"][0]
    assert isinstance(hit["score"], float)
    assert hit["id"] == str(hit.id)


def test_p08_search_with_top_k(sync_client: MemoryClient) -> None:
    for i in range(5):
        sync_client.add_memory(f"Alex fact number {i}", user_id="alex")
    assert len(sync_client.search("Alex fact", user_id="alex", top_k=3)["results"]) == 3


def test_p09_search_with_ids_in_filters(sync_client: MemoryClient) -> None:
    sync_client.add_memory("Alex is a vegetarian", user_id="alex")
    sync_client.add_memory("Sam is a vegetarian", user_id="sam")
    res = sync_client.search("vegetarian", filters={"user_id": "alex"})
    assert texts(res["results"]) == ["Alex is a vegetarian"]


def test_p10_search_with_ids_in_an_and(sync_client: MemoryClient) -> None:
    sync_client.add_memory("Book a window seat", user_id="alex", agent_id="travel")
    sync_client.add_memory("Book a table", user_id="alex", agent_id="food")
    filters = {"AND": [{"user_id": "alex"}, {"agent_id": "travel"}]}
    res = sync_client.search("book", filters=filters)
    assert texts(res["results"]) == ["Book a window seat"]


def test_p11_search_with_a_metadata_filter(sync_client: MemoryClient) -> None:
    sync_client.add_memory("Likes tofu", user_id="alex", metadata={"category": "food"})
    sync_client.add_memory("Likes tennis", user_id="alex", metadata={"category": "sport"})
    res = sync_client.search("likes", user_id="alex", filters={"category": "food"})
    assert texts(res["results"]) == ["Likes tofu"]


def test_p12_search_with_operators_in_an_and(sync_client: MemoryClient) -> None:
    for rating in (2, 4, 5):
        sync_client.add_memory(f"Hotel rated {rating}", user_id="alex", metadata={"rating": rating})
    filters = {"AND": [{"user_id": "alex"}, {"rating": {"gte": 4}}]}
    res = sync_client.search("hotel rated", filters=filters)
    assert texts(res["results"]) == ["Hotel rated 4", "Hotel rated 5"]


def test_p13_search_with_a_threshold(sync_client: MemoryClient) -> None:
    sync_client.add_memory("Alex is a vegetarian", user_id="alex")
    sync_client.add_memory("Completely unrelated words here", user_id="alex")
    every = sync_client.search("Alex is a vegetarian", user_id="alex")
    close = sync_client.search("Alex is a vegetarian", user_id="alex", threshold=0.9)
    assert texts(close["results"]) == ["Alex is a vegetarian"]
    assert len(every["results"]) == 2
    assert all(h.similarity is not None and h.similarity >= 0.9 for h in close.results)
    assert sync_client.search("vegetarian", user_id="alex", threshold=1.01)["results"] == []


def test_p14_search_by_run_id(sync_client: MemoryClient) -> None:
    sync_client.add_memory("Flight at 9", user_id="alex", run_id="trip-1")
    sync_client.add_memory("Flight at 7", user_id="alex", run_id="trip-2")
    res = sync_client.search("flight", user_id="alex", run_id="trip-1")
    assert texts(res["results"]) == ["Flight at 9"]


# -- read --------------------------------------------------------------------------------


def test_p15_get_all_by_user(sync_client: MemoryClient) -> None:
    fact = sync_client.add_memory("Alex is a vegetarian", user_id="alex", metadata={"k": 1})
    res = sync_client.get_all(user_id="alex")
    [memory] = res["results"]
    assert memory["id"] == str(fact.id)
    assert memory["memory"] == "Alex is a vegetarian"
    assert memory["user_id"] == "alex"
    assert memory["metadata"] == {"k": 1}
    assert memory["created_at"].startswith(str(fact.created_at.year))
    assert (memory["agent_id"], memory["run_id"]) == (None, None)


def test_p16_get_all_with_filters(sync_client: MemoryClient) -> None:
    sync_client.add_memory("Likes tofu", user_id="alex", metadata={"category": "food"})
    sync_client.add_memory("Likes tennis", user_id="alex", metadata={"category": "sport"})
    sync_client.add_memory("Sam likes tofu", user_id="sam", metadata={"category": "food"})
    by_id = sync_client.get_all(filters={"AND": [{"user_id": "alex"}]})
    assert texts(by_id["results"]) == ["Likes tennis", "Likes tofu"]
    food = sync_client.get_all(filters={"AND": [{"user_id": "alex"}, {"category": "food"}]})
    assert texts(food["results"]) == ["Likes tofu"]


def test_p17_get_all_with_top_k_and_run_id(sync_client: MemoryClient) -> None:
    for i in range(3):
        sync_client.add_memory(f"note {i}", user_id="alex", run_id="r")
    sync_client.add_memory("elsewhere", user_id="alex", run_id="other")
    assert len(sync_client.get_all(user_id="alex", run_id="r", top_k=2)["results"]) == 2
    assert len(sync_client.get_all(run_id="r")["results"]) == 3


def test_p18_get_one(sync_client: MemoryClient) -> None:
    fact = sync_client.add_memory("Alex is a vegetarian", user_id="alex")
    memory = sync_client.get(str(fact.id))
    assert memory["memory"] == "Alex is a vegetarian"
    assert dict(memory)["id"] == str(fact.id)


# -- change ------------------------------------------------------------------------------


def test_p19_update_with_data(sync_client: MemoryClient) -> None:
    fact = sync_client.add_memory("Likes to play tennis", user_id="alex")
    sync_client.update(memory_id=fact.id, data="Likes to play tennis on weekends")
    sync_client.update(fact.id, "Plays tennis on Saturdays")  # positionally, as Mem0's OSS
    assert sync_client.get(fact.id)["memory"] == "Plays tennis on Saturdays"


def test_p20_update_with_text_and_metadata(sync_client: MemoryClient) -> None:
    fact = sync_client.add_memory("Likes tennis", user_id="alex")
    sync_client.update(fact.id, text="Loves tennis", metadata={"category": "sport"})
    memory = sync_client.get(fact.id)
    assert (memory["memory"], memory["metadata"]) == ("Loves tennis", {"category": "sport"})


def test_p21_history(sync_client: MemoryClient) -> None:
    fact = sync_client.add_memory("Likes tennis", user_id="alex")
    sync_client.update(fact.id, data="Loves tennis")
    history = sync_client.history(fact.id)
    assert [h["event"] for h in history] == ["ADD", "UPDATE"]
    assert (history[1]["old_memory"], history[1]["new_memory"]) == ("Likes tennis", "Loves tennis")
    assert history[1]["memory_id"] == str(fact.id)


def test_p22_delete_one(sync_client: MemoryClient) -> None:
    fact = sync_client.add_memory("Likes tennis", user_id="alex")
    sync_client.delete(memory_id=fact.id)
    assert sync_client.get_all(user_id="alex")["results"] == []
    assert sync_client.history(fact.id)[-1]["is_deleted"]


# -- forget ------------------------------------------------------------------------------


def test_p23_delete_all_by_user(sync_client: MemoryClient) -> None:
    sync_client.add(MESSAGES, user_id="alex")
    sync_client.add_memory("Alex is a vegetarian", user_id="alex")
    sync_client.add_memory("Sam is a vegetarian", user_id="sam")
    res = sync_client.delete_all(user_id="alex")
    assert res["message"]
    assert res.deleted["episodes"] == 2
    assert sync_client.get_all(user_id="alex")["results"] == []
    assert len(sync_client.get_all(user_id="sam")["results"]) == 1
    assert not any(sync_client.delete_all(user_id="alex").deleted.values())  # as Mem0: no error


def test_p24_delete_all_by_agent(sync_client: MemoryClient) -> None:
    sync_client.add_memory("Tutor note", user_id="alex", agent_id="ai-tutor")
    sync_client.add_memory("Travel note", user_id="alex", agent_id="travel")
    assert sync_client.delete_all(agent_id="ai-tutor").deleted["memories"] == 1
    assert texts(sync_client.get_all(user_id="alex")["results"]) == ["Travel note"]


def test_p25_delete_all_by_run(sync_client: MemoryClient) -> None:
    sync_client.add(MESSAGES, user_id="alex", run_id="trip-1")
    sync_client.add(MESSAGES, user_id="alex", run_id="trip-2")
    assert sync_client.delete_all(run_id="trip-1").deleted["episodes"] == 2
    assert {e.session_id for e in sync_client.episodes(user_id="alex").items} == {"trip-2"}


def test_p26_reset(sync_client: MemoryClient, server_url: str, api_key: str) -> None:
    sync_client.add(MESSAGES, user_id="alex")
    sync_client.add_memory("Tutor note", agent_id="ai-tutor")
    res = sync_client.reset()
    assert res["message"]
    assert res.deleted["episodes"] == 2
    assert res.deleted["memories"] == 1
    assert sync_client.episodes().items == []
    assert sync_client.get_all()["results"] == []
    assert sync_client.reset().deleted["episodes"] == 0


def test_context_and_episodes_take_the_same_filters(sync_client: MemoryClient) -> None:
    sync_client.add("Alex ate tofu", user_id="alex", run_id="r", metadata={"topic": "food"})
    sync_client.add("Alex played tennis", user_id="alex", run_id="r", metadata={"topic": "sport"})
    filters = {"AND": [{"user_id": "alex"}, {"run_id": "r"}, {"topic": "food"}]}
    assert [e.content for e in sync_client.episodes(filters=filters).items] == ["Alex ate tofu"]
    block = sync_client.context(query="Alex", filters=filters)
    assert "tofu" in block.context
    assert "tennis" not in block.context


# -- what cannot be said in our terms ----------------------------------------------------


@pytest.mark.parametrize(
    "filters",
    [
        {"OR": [{"user_id": "alex"}, {"agent_id": "travel"}]},
        {"user_id": {"in": ["alex", "sam"]}},
        {"user_id": "*"},
        {"NOT": [{"run_id": "r"}]},
    ],
)
def test_ids_that_cannot_be_a_scope_are_refused_before_sending(
    sync_client: MemoryClient, filters: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match="filters"):
        sync_client.search("anything", filters=filters)


def test_delete_all_needs_an_id(sync_client: MemoryClient) -> None:
    with pytest.raises(ValueError, match="reset"):
        sync_client.delete_all()


# -- the async client, and extraction ----------------------------------------------------


async def test_added_turns_become_memories(
    async_client: AsyncMemoryClient, components: Components
) -> None:
    """Mem0's quickstart: add a conversation, then find what was learnt. Extraction runs
    as a job (drained here in process; a deployment's worker does it)."""
    res = await async_client.add(MESSAGES, user_id="alex", metadata={"source": "chat"})
    worker = InProcessWorker(
        components, build_consolidator(components.settings, components.embedder)
    )
    assert await worker.drain() == 1
    assert (await async_client.job(res["job_id"])).state == "done"
    memories = (await async_client.get_all(user_id="alex"))["results"]
    assert memories, "the local extractor found no fact"
    learnt = memories[0]
    # Mem0 searches memories only; ours also finds the turns, unless told the kinds.
    found = await async_client.search(
        learnt["memory"], filters={"user_id": "alex"}, top_k=10, kinds=["memory"]
    )
    assert learnt["id"] in {h["id"] for h in found["results"]}
    assert (await async_client.delete_all(user_id="alex"))["message"]
    assert (await async_client.reset()).deleted["memories"] == 0


def test_readme_mem0_example_runs(
    server_url: str,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The SDK README's Mem0 example, as written."""
    readme = (ROOT / "clients" / "python" / "README.md").read_text()
    section = readme.split("## Mem0 compatibility", 1)[1]
    example = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    monkeypatch.setenv("MEMORY_SERVICE_URL", server_url)
    monkeypatch.setenv("MEMORY_SERVICE_API_KEY", api_key)
    exec(compile(example, "README.md", "exec"), {"__name__": "readme"})
    assert "I'm a vegetarian." in capsys.readouterr().out

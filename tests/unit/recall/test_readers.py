"""Full Deliberation's readers: the local one (widens System 1 in auto mode, replaces
it when deliberation is forced) and the LLM one; both record cost and notes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID, uuid5

import pytest

from memory_service.domain.models import Candidate, Episode, SearchHit, Turn
from memory_service.domain.search import Budget
from memory_service.fake_store import FakeUnitOfWork
from memory_service.services.recall.parts import Parts
from memory_service.services.recall.system2 import FullDeliberation, LLMReader, LocalReader
from memory_service.services.sparse import encode_episodes
from memory_service.testing import ScriptedLLM
from retrievers.chunk_reading import FACTS
from retrievers.deliberation import local_deliberation
from tests.unit.recall.factories import TENANT, add_turns, hit, make_search

SAID = (
    "We went hiking in the Alps",
    "I adopted a puppy named Rex",
    "Rex chews every shoe in the house",
    "My sister lives in Paris",
)
FAST = hit(99, text="a System 1 hit the reader never sees")
"""Not stored: only System 1 proposes it."""


@pytest.fixture
async def turns(uow: FakeUnitOfWork) -> list[Episode]:
    return await add_turns(uow, SAID)


def ids(hits: list[SearchHit]) -> list[UUID]:
    return [h.id for h in hits]


async def test_local_reader_widens_system_1_in_auto_mode(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    search = await make_search(uow, "puppy named Rex", mode="auto")
    out = await LocalReader().deliberate(search, [FAST], 3)
    assert len(out) == 3
    assert FAST.id in ids(out)
    assert turns[1].id in ids(out)
    assert all("fused" in h.scores for h in out)
    fast = next(h for h in out if h.id == FAST.id)
    assert fast.scores["given"] == 1.0  # its own scores are kept
    assert search.trace.cost == {
        "llm_calls": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "chunks_read": 1,
        "chunks_total": 1,
        "truncated": 0.0,
        "deliberation_errors": 0,
    }
    assert search.trace.notes["deliberation"] == {"runner": None, "truncated": False, "errors": []}


async def test_local_reader_replaces_system_1_when_forced(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    search = await make_search(uow, "puppy named Rex", mode="deliberate")
    out = await LocalReader().deliberate(search, [FAST], 3)
    assert FAST.id not in ids(out)
    assert out[0].id == turns[1].id
    assert set(ids(out)) <= {t.id for t in turns}
    assert all(set(h.scores) == {"deliberation"} for h in out)
    assert out[0].score == out[0].scores["deliberation"]


async def test_local_reader_reads_only_the_newest_turns_within_budget(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    # each turn costs len(text) // 4 tokens; 16 tokens hold the two newest turns only
    assert [len(t.text) // 4 for t in turns] == [6, 6, 8, 6]
    search = await make_search(
        uow, "puppy named Rex", mode="deliberate", budget=Budget(max_tokens=16)
    )
    out = await LocalReader().deliberate(search, [], 10)
    assert set(ids(out)) <= {turns[2].id, turns[3].id}
    assert search.trace.cost["truncated"] == 1.0
    assert search.trace.notes["deliberation"]["truncated"] is True


def facts_reply(prompt: str) -> str:
    """The scripted reader: message 2 holds the answer; a weak fact is dropped."""
    assert "Question: Which pet did Alice adopt?" in prompt
    return json.dumps(
        {
            "facts": [
                {"fact": "Alice adopted a puppy named Rex", "score": 9, "messages": [2]},
                {"fact": "Alice went hiking", "score": 3, "messages": [1]},
            ]
        }
    )


async def test_llm_reader_extracts_facts_and_charges_the_trace(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    llm = ScriptedLLM(default=facts_reply)
    search = await make_search(uow, "Which pet did Alice adopt?", mode="deliberate")
    [fact] = await LLMReader(llm).deliberate(search, [FAST], 5)
    assert fact.kind == "fact"
    assert fact.id == uuid5(FACTS, "Alice adopted a puppy named Rex")
    assert fact.score == pytest.approx(0.9)
    assert fact.scores == {"deliberation": pytest.approx(0.9)}
    assert fact.source_episode_ids == (turns[1].id,)
    assert fact.occurred_at == turns[1].occurred_at
    assert fact.speaker == "Alice"
    [[message]] = llm.calls
    assert "[2] [2024-03-01 09:01] Alice: I adopted a puppy named Rex" in message.content
    cost = search.trace.cost
    assert (cost["llm_calls"], cost["chunks_read"], cost["chunks_total"]) == (1, 1, 1)
    assert cost["input_tokens"] == len(message.content.split())
    assert search.trace.notes["deliberation"] == {
        "runner": "in-process",
        "truncated": False,
        "errors": [],
    }


async def test_llm_reader_reads_in_chunks(uow: FakeUnitOfWork, turns: list[Episode]) -> None:
    llm = ScriptedLLM(default='{"facts": []}')
    search = await make_search(uow, "anything", budget=Budget(chunk=2, context=1))
    assert await LLMReader(llm).deliberate(search, [], 5) == []
    assert len(llm.calls) == 2
    second = llm.calls[1][0].content
    assert "(context) [2024-03-01 09:01] Alice: I adopted a puppy named Rex" in second
    assert search.trace.cost["chunks_total"] == 2
    assert search.trace.cost["llm_calls"] == 2


def test_full_deliberation_picks_the_reader_from_the_parts() -> None:
    assert isinstance(FullDeliberation().create(Parts()), LocalReader)
    llm = ScriptedLLM()
    reader = FullDeliberation().create(Parts(llm=llm))
    assert isinstance(reader, LLMReader)
    assert reader.llm is llm


class OnlyShoes:
    """A sparse encoder that knows a shoe is footwear: what it finds, only it finds."""

    dim = 8
    name = "only-shoes"

    async def encode(self, texts: list[str]) -> list[dict[int, float]]:
        return [{1: 1.0} if {"shoe", "footwear"} & set(t.lower().split()) else {} for t in texts]


async def test_local_reader_fuses_the_learned_sparse_list_of_what_it_read(
    uow: FakeUnitOfWork, turns: list[Episode]
) -> None:
    encoder = OnlyShoes()
    await encode_episodes(uow, encoder, TENANT, turns)
    search = await make_search(uow, "footwear", mode="deliberate")
    with_sparse = await LocalReader(encoder).deliberate(search, [], 4)
    assert with_sparse[0].id == turns[2].id  # the one turn the sparse list ranks

    assert FullDeliberation().create(Parts(sparse=encoder)) == LocalReader(encoder)
    # a turn the budget left unread is not brought back by the sparse list
    tight = await make_search(uow, "footwear", mode="deliberate", budget=Budget(max_tokens=8))
    read = await LocalReader(encoder).deliberate(tight, [], 4)
    assert turns[2].id not in ids(read)


def test_local_deliberation_fuses_extra_lists_of_the_turns_it_read() -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    said = [Turn(UUID(int=i), "A", f"turn {i}", at) for i in range(4)]
    scanned = list(zip(said, [0.9, 0.8, 0.1, 0.7], strict=True))

    def candidate(i: int) -> Candidate:
        return Candidate("episode", UUID(int=i), f"turn {i}", at, 1.0, (UUID(int=i),))

    plain = local_deliberation(scanned, "zzz", 4, Budget())
    assert [c.id.int for c in plain.candidates][-1] == 2  # least similar
    fused = local_deliberation(scanned, "zzz", 4, Budget(), extra={"sparse": [candidate(2)]})
    assert fused.candidates[0].id.int == 2
    unread = local_deliberation(scanned, "zzz", 4, Budget(), extra={"sparse": [candidate(7)]})
    assert 7 not in [c.id.int for c in unread.candidates]

"""LLMDecider against a scripted model: short ids, provenance, retry."""

from __future__ import annotations

from uuid import uuid4

import pytest

from memory_service.adapters.llm_decider import LLMDecider
from memory_service.domain.consolidation import ExistingMemory, ExtractedFact
from memory_service.domain.errors import UpstreamUnavailable
from memory_service.testing import ScriptedLLM
from tests.unit.scripted_replies import RETRY, decision

FACT = ExtractedFact(
    text="Melanie works as a school principal in Boston.", source_episode_ids=(uuid4(),)
)
SIMILAR = [
    ExistingMemory(id=uuid4(), text="Melanie likes pottery.", similarity=0.41),
    ExistingMemory(id=uuid4(), text="Melanie works as a teacher in Boston.", similarity=0.83),
]


@pytest.mark.parametrize(
    ("answer", "op", "target", "text"),
    [
        (decision("ADD", None, "Melanie is a principal."), "ADD", None, "Melanie is a principal."),
        (
            decision("UPDATE", 2, "Melanie is a principal in Boston."),
            "UPDATE",
            1,
            "Melanie is a principal in Boston.",
        ),
        (decision("delete", "1"), "DELETE", 0, "Melanie likes pottery."),
        (decision("NOOP", None), "NOOP", None, FACT.text),
    ],
    ids=["add", "update", "delete", "noop"],
)
async def test_decider_maps_short_ids_back_to_memory_ids(
    answer: str, op: str, target: int | None, text: str
) -> None:
    llm = ScriptedLLM(rules=[(r"New fact:", answer)])

    result = await LLMDecider(llm).decide(FACT, SIMILAR)

    assert result.op == op
    assert result.target_id == (SIMILAR[target].id if target is not None else None)
    assert result.text == text
    assert result.reason == "because"
    assert len(llm.calls) == 1


async def test_decider_prompt_shows_short_ids_not_uuids() -> None:
    llm = ScriptedLLM(rules=[(r"New fact:", decision("NOOP", None))])

    await LLMDecider(llm).decide(FACT, SIMILAR)

    prompt = llm.calls[0][-1].content
    assert "[id=1] Melanie likes pottery." in prompt
    assert "[id=2] Melanie works as a teacher in Boston." in prompt
    assert f"New fact: {FACT.text}" in prompt
    assert all(str(m.id) not in prompt for m in SIMILAR)


async def test_decider_unknown_id_is_retried() -> None:
    llm = ScriptedLLM(
        rules=[
            (RETRY, decision("UPDATE", 2, "Melanie is a principal.")),
            (r"New fact:", decision("UPDATE", 7, "Melanie is a principal.")),
        ]
    )

    result = await LLMDecider(llm).decide(FACT, SIMILAR)

    assert (result.op, result.target_id) == ("UPDATE", SIMILAR[1].id)
    assert len(llm.calls) == 2
    assert 'needs an "id" among [1, 2], got 7' in llm.calls[1][-1].content


@pytest.mark.parametrize(
    "bad",
    [decision("DELETE", None), decision("UPDATE", 1, ""), decision("MERGE", 1, "x"), "ok"],
    ids=["delete-without-id", "update-without-text", "unknown-op", "not-json"],
)
async def test_decider_malformed_twice_raises(bad: str) -> None:
    llm = ScriptedLLM(rules=[(r".*", bad)])

    with pytest.raises(UpstreamUnavailable, match="memory update"):
        await LLMDecider(llm).decide(FACT, SIMILAR)

    assert len(llm.calls) == 2


async def test_no_similar_memories_adds_without_calling_the_model() -> None:
    llm = ScriptedLLM()

    result = await LLMDecider(llm).decide(FACT, [])

    assert (result.op, result.text, result.target_id) == ("ADD", FACT.text, None)
    assert llm.calls == []

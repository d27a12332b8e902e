"""Full Deliberation with an LLM: the in-process chunk runner, and what a deliberation
counts (chunks, calls, tokens, truncation, errors) and keeps (deduplicated facts)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from memory_service.bootstrap import build_llm
from memory_service.config import Settings
from memory_service.domain.errors import UpstreamUnavailable
from memory_service.domain.models import ChatMessage, Completion, Turn
from memory_service.domain.search import Budget
from memory_service.testing import ScriptedLLM
from retrievers.chunk_reading import InProcessChunkRunner, LLMDeliberation
from retrievers.deliberation import approx_tokens
from workers.chunks import completion_from_dict, completion_to_dict

T0 = datetime(2024, 5, 1, tzinfo=UTC)
ASK = r"find everything relevant"


def episodes(n: int) -> list[Turn]:
    return [
        Turn(uuid4(), "Caroline", f"message number {i} about painting", T0 + timedelta(minutes=i))
        for i in range(n)
    ]


def reply(*found: tuple[str, float, list[int]]) -> str:
    return json.dumps(
        {"facts": [{"fact": f, "score": s, "messages": m, "speaker": ""} for f, s, m in found]}
    )


def down(prompt: str) -> str:
    raise UpstreamUnavailable("rate limited")


def read(llm: ScriptedLLM) -> LLMDeliberation:
    return LLMDeliberation(InProcessChunkRunner(llm))


async def test_in_process_runner_answers_every_prompt_in_order() -> None:
    llm = ScriptedLLM(rules=[("one", "1"), ("two", "2")], default="?")
    out = await InProcessChunkRunner(llm, concurrency=2).complete_many(
        ["one", "two", "three"], max_tokens=5, timeout_s=10
    )
    assert [r.completion.text if r.completion else None for r in out] == ["1", "2", "?"]
    assert not any(r.error or r.timed_out for r in out)
    assert [call[-1].content for call in llm.calls] == ["one", "two", "three"]


async def test_in_process_runner_starts_nothing_after_the_deadline() -> None:
    llm = ScriptedLLM(default="?")
    out = await InProcessChunkRunner(llm).complete_many(["a", "b"], max_tokens=5, timeout_s=0)
    assert all(r.timed_out and r.completion is None for r in out)
    assert llm.calls == []


async def test_in_process_runner_fails_only_the_prompt_whose_llm_call_failed() -> None:
    llm = ScriptedLLM(rules=[("bad", down)], default="fine")
    good, bad = await InProcessChunkRunner(llm).complete_many(
        ["good", "bad"], max_tokens=5, timeout_s=10
    )
    assert good.completion is not None
    assert good.completion.text == "fine"
    assert (bad.completion, bad.error) == (None, "LLM unavailable: rate limited")


async def test_every_chunk_is_counted_and_duplicate_facts_are_dropped() -> None:
    found = reply(("Caroline paints", 9, [1]), ("Caroline paints!", 7, [2]), ("weak", 3, [1]))
    llm = ScriptedLLM(rules=[(ASK, found)])
    scope = episodes(130)  # chunks of 60: 3
    result = await read(llm).deliberate(scope, "What does Caroline do?", 5, Budget())
    assert (result.chunks_total, result.chunks_read, result.llm_calls) == (3, 3, 3)
    assert result.input_tokens == sum(len(c[-1].content.split()) for c in llm.calls)
    assert result.output_tokens == 3 * len(found.split())
    assert (result.truncated, result.errors, result.runner) == (False, [], "in-process")
    [fact] = result.candidates
    assert (fact.kind, fact.text, fact.score) == ("fact", "Caroline paints", 0.9)
    assert fact.source_episode_ids == (scope[0].id,)  # message 1 of the first chunk


async def test_the_token_budget_stops_sending_chunks() -> None:
    llm = ScriptedLLM(rules=[(ASK, reply())])
    scope = episodes(130)
    first = sum(approx_tokens(e.text) for e in scope[:60])
    result = await read(llm).deliberate(scope, "q", 5, Budget(max_tokens=first + 10))
    assert (result.chunks_total, result.chunks_read, result.llm_calls) == (3, 1, 1)
    assert result.truncated
    assert len(llm.calls) == 1


async def test_chunks_past_the_time_budget_are_not_read() -> None:
    llm = ScriptedLLM(rules=[(ASK, reply(("x", 9, [1])))])
    result = await read(llm).deliberate(episodes(130), "q", 5, Budget(max_seconds=0))
    assert (result.chunks_read, result.llm_calls, result.candidates) == (0, 0, [])
    assert result.truncated
    assert result.errors == []
    assert llm.calls == []


async def test_unreadable_replies_are_errors_but_still_cost() -> None:
    llm = ScriptedLLM(rules=[(ASK, "I think nothing")])
    result = await read(llm).deliberate(episodes(70), "q", 5, Budget())
    assert (result.chunks_read, result.llm_calls, result.candidates) == (2, 2, [])
    assert len(result.errors) == 2
    assert all(e.startswith("unreadable reply") for e in result.errors)


async def test_a_failed_chunk_is_an_error_and_the_others_still_count() -> None:
    llm = ScriptedLLM(rules=[("message number 100 ", down), (ASK, reply(("x", 9, [1])))])
    result = await read(llm).deliberate(episodes(130), "q", 5, Budget())
    assert (result.chunks_read, result.llm_calls) == (2, 2)
    assert result.errors == ["LLM unavailable: rate limited"]
    assert [c.text for c in result.candidates] == ["x"]


async def test_no_chunk_read_at_all_is_an_outage() -> None:
    llm = ScriptedLLM(rules=[(ASK, down)])
    with pytest.raises(UpstreamUnavailable, match="no chunk could be read"):
        await read(llm).deliberate(episodes(130), "q", 5, Budget())


def test_a_completion_travels_as_plain_json() -> None:
    out = Completion(text="{}", input_tokens=12, output_tokens=3, model="m")
    assert completion_from_dict(json.loads(json.dumps(completion_to_dict(out)))) == out


async def test_a_scripted_model_for_other_processes(tmp_path: Path) -> None:
    script = tmp_path / "llm.json"
    script.write_text(json.dumps({"rules": [["hello", "hi"]], "default": "?", "model": "s1"}))
    llm = build_llm(Settings(llm_model=f"scripted:{script}"))
    assert isinstance(llm, ScriptedLLM)
    assert llm.model == "s1"
    assert (await llm.complete([ChatMessage("user", "hello there")])).text == "hi"
    assert (await llm.complete([ChatMessage("user", "bye")])).text == "?"


async def test_nul_in_a_reply_is_dropped_not_carried_into_facts() -> None:
    found = reply(("Caroline\u0000 paints", 9, [1]))  # json.dumps writes it as \u0000
    assert "\\u0000" in found
    llm = ScriptedLLM(rules=[(ASK, found)])
    result = await read(llm).deliberate(episodes(3), "What does Caroline do?", 5, Budget())
    [fact] = result.candidates
    assert fact.text == "Caroline paints"


def test_a_completion_never_holds_nul() -> None:
    out = Completion(text="an\x00swer", input_tokens=1, output_tokens=1, model="m")
    assert out.text == "answer"

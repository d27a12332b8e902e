"""Full Deliberation with an LLM: chunks of the scope's messages (a few preceding ones
as context) read in parallel, in process or by Celery workers (a ``ChunkRunner``), and
the facts relevant to the query extracted with a 0-10 score."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID, uuid5

from pydantic import BaseModel, Field, ValidationError

from memory_service.domain.errors import UpstreamUnavailable
from memory_service.domain.models import Candidate, ChatMessage, ChunkReply, Turn
from memory_service.domain.replies import json_object
from memory_service.domain.search import Budget
from memory_service.ports import LLM, ChunkRunner
from retrievers.deliberation import Deliberation, approx_tokens, render

FACTS = UUID("6f1a8e52-3c1b-4f0e-9a55-2d8f0d5b7c11")


PROMPT = """You read part of a long conversation to find everything relevant to a question.
Messages are numbered; those marked (context) only give context for the others.

{messages}

Question: {question}

List every fact in the numbered messages (not the context ones) that helps answer the
question, as a JSON object: {{"facts": [{{"fact": "<self-contained statement, with who and
an absolute date when the message implies one>", "speaker": "<name>", "time": "<date or
empty>", "score": <0-10 relevance to the question>, "messages": [<numbers>]}}]}}.
Reply with {{"facts": []}} when nothing is relevant. JSON only."""


class _Fact(BaseModel):
    fact: str = Field(min_length=1)
    speaker: str = ""
    time: str = ""
    score: float = Field(ge=0, le=10)
    messages: list[int] = Field(default_factory=list)


class _Reply(BaseModel):
    facts: list[_Fact]


@dataclass
class InProcessChunkRunner:
    """Completes prompts with ``llm`` in this process, ``concurrency`` at a time.

    A prompt not started before the deadline is not sent (``timed_out``); one started
    runs to its end. An LLM that stays unavailable fails only its own prompt.
    """

    llm: LLM
    concurrency: int = 4
    name: str = "in-process"

    async def complete_many(
        self, prompts: Sequence[str], *, max_tokens: int, timeout_s: float
    ) -> list[ChunkReply]:
        deadline = time.perf_counter() + timeout_s
        gate = asyncio.Semaphore(self.concurrency)

        async def one(prompt: str) -> ChunkReply:
            async with gate:
                if time.perf_counter() >= deadline:
                    return ChunkReply(timed_out=True)
                try:
                    out = await self.llm.complete(
                        [ChatMessage("user", prompt)], max_tokens=max_tokens
                    )
                except UpstreamUnavailable as exc:
                    return ChunkReply(error=f"LLM unavailable: {exc.detail}")
                return ChunkReply(completion=out)

        return list(await asyncio.gather(*(one(p) for p in prompts)))


@dataclass
class LLMDeliberation:
    """Reads chunks of the scope's episodes with an LLM, through ``runner``, within the
    budget: chunks past the token budget are not sent, replies not back within the time
    budget are dropped (``truncated`` either way). When ``runner`` cannot start (its
    broker is down), ``fallback`` reads the chunks instead and an error says so."""

    runner: ChunkRunner
    fallback: ChunkRunner | None = None
    keep_score: float = 6.0
    reply_tokens: int = 1024

    async def deliberate(
        self, episodes: Sequence[Turn], query: str, k: int, budget: Budget
    ) -> Deliberation:
        started = time.perf_counter()
        chunks = [
            (episodes[max(0, i - budget.context) : i], episodes[i : i + budget.chunk])
            for i in range(0, len(episodes), budget.chunk)
        ]
        result = Deliberation(candidates=[], chunks_total=len(chunks))
        planned, spent = [], 0
        for context, body in chunks:
            cost = sum(approx_tokens(e.text) for e in (*context, *body))
            if spent + cost > budget.max_tokens:
                result.truncated = True
                break
            spent += cost
            planned.append((context, body))
        prompts = [_prompt(context, body, query) for context, body in planned]
        replies = await self._complete(prompts, started, budget, result) if prompts else []
        found = []
        for (_, body), reply in zip(planned, replies, strict=True):
            found += self._read(body, reply, result)
        if planned and result.chunks_read == 0 and all(r.error for r in replies):
            raise UpstreamUnavailable(f"no chunk could be read: {replies[0].error}")
        result.candidates = _dedupe(found)[:k]
        return result

    async def _complete(
        self, prompts: Sequence[str], started: float, budget: Budget, result: Deliberation
    ) -> list[ChunkReply]:
        def left() -> float:
            return max(0.0, budget.max_seconds - (time.perf_counter() - started))

        result.runner = self.runner.name
        try:
            return await self.runner.complete_many(
                prompts, max_tokens=self.reply_tokens, timeout_s=left()
            )
        except UpstreamUnavailable as exc:
            if self.fallback is None:
                raise
            result.errors.append(
                f"{self.runner.name} unavailable, chunks read by {self.fallback.name}: {exc.detail}"
            )
            result.runner = self.fallback.name
            return await self.fallback.complete_many(
                prompts, max_tokens=self.reply_tokens, timeout_s=left()
            )

    def _read(
        self, body: Sequence[Turn], reply: ChunkReply, result: Deliberation
    ) -> list[Candidate]:
        """The facts of one chunk's reply worth keeping; the cost goes to ``result``."""
        if reply.timed_out:
            result.truncated = True
        if reply.error:
            result.errors.append(reply.error)
        out = reply.completion
        if out is None:
            return []
        result.chunks_read += 1
        result.llm_calls += 1
        result.input_tokens += out.input_tokens
        result.output_tokens += out.output_tokens
        try:
            parsed = _Reply.model_validate(json_object(out.text))
        except (ValueError, ValidationError) as exc:
            result.errors.append(f"unreadable reply: {str(exc)[:200]}")
            return []
        found = []
        for fact in parsed.facts:
            if fact.score < self.keep_score:
                continue
            sources = [body[n - 1] for n in fact.messages if 1 <= n <= len(body)]
            if not sources:
                continue
            found.append(
                Candidate(
                    kind="fact",
                    id=uuid5(FACTS, fact.fact),
                    text=fact.fact,
                    occurred_at=sources[0].occurred_at,
                    score=fact.score / 10,
                    source_episode_ids=tuple(e.id for e in sources),
                    speaker=fact.speaker or sources[0].speaker,
                )
            )
        return found


def _prompt(context: Sequence[Turn], body: Sequence[Turn], query: str) -> str:
    lines = [f"(context) {render(e)}" for e in context]
    lines += [render(e, n) for n, e in enumerate(body, start=1)]
    return PROMPT.format(messages="\n".join(lines), question=query)


def _dedupe(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Best score first; a fact whose normalised text was seen already is dropped."""
    seen: set[str] = set()
    out = []
    for cand in sorted(candidates, key=lambda c: -c.score):
        key = " ".join(re.findall(r"\w+", cand.text.lower()))
        if key not in seen:
            seen.add(key)
            out.append(cand)
    return out

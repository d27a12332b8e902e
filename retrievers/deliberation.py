"""Full Deliberation (D-Mem's System 2): read every raw episode of the scope.

With an LLM, chunks of messages (with a few preceding ones as context) are read in
parallel (in process, or by Celery workers: a ``ChunkRunner``) and the facts relevant
to the query are extracted with a 0-10 score; without one, every episode is scored
exhaustively (exact cosine with its neighbours, fused with BM25). Both are bounded by
a token and a time budget.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID, uuid5

from pydantic import BaseModel, Field, ValidationError

from memory_service.domain.errors import UpstreamUnavailable
from memory_service.domain.models import Candidate, ChatMessage, ChunkReply, Turn
from memory_service.domain.replies import json_object
from memory_service.ports import LLM, ChunkRunner
from retrievers.fusion import reciprocal_rank_fusion

FACTS = UUID("6f1a8e52-3c1b-4f0e-9a55-2d8f0d5b7c11")


@dataclass(frozen=True, slots=True)
class Budget:
    """At most ``max_tokens`` of episode text read, and ``max_seconds`` spent."""

    max_tokens: int = 250_000
    max_seconds: float = 60.0
    chunk: int = 60
    context: int = 4


@dataclass
class Deliberation:
    candidates: list[Candidate]
    chunks_total: int = 0
    chunks_read: int = 0
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    truncated: bool = False
    errors: list[str] = field(default_factory=list)
    runner: str | None = None
    """What read the chunks (``in-process``, ``celery``); None for the local method."""


def approx_tokens(text: str) -> int:
    """A cheap token estimate (four characters a token) for budgeting, not billing."""
    return max(1, len(text) // 4)


def render(episode: Turn, number: int | None = None) -> str:
    tag = f"[{number}] " if number is not None else ""
    who = f"{episode.speaker}: " if episode.speaker else ""
    return f"{tag}[{episode.occurred_at:%Y-%m-%d %H:%M}] {who}{episode.text}"


def local_deliberation(
    scanned: Sequence[tuple[Turn, float]], query: str, k: int, budget: Budget
) -> Deliberation:
    """Exhaustive local scoring: each episode's exact cosine, raised by its best
    neighbour's (a turn is often answered by the next), fused by RRF with BM25."""
    started = time.perf_counter()
    kept: list[tuple[Turn, float]] = []
    spent = 0
    for episode, similarity in scanned:
        spent += approx_tokens(episode.text)
        if spent > budget.max_tokens or time.perf_counter() - started > budget.max_seconds:
            break
        kept.append((episode, similarity))
    sims = [s for _, s in kept]
    smoothed = [
        0.75 * s
        + 0.25 * max(sims[i - 1] if i else -1.0, sims[i + 1] if i + 1 < len(sims) else -1.0)
        for i, s in enumerate(sims)
    ]
    dense = sorted(range(len(kept)), key=lambda i: -smoothed[i])[: k * 4]
    lexical = _bm25(kept, query, k * 4)
    lists = {
        "dense": [_candidate(kept[i][0], smoothed[i]) for i in dense],
        "bm25": [_candidate(kept[i][0], score) for i, score in lexical],
    }
    fused = reciprocal_rank_fusion(lists)
    return Deliberation(
        candidates=[f.candidate for f in fused[:k]],
        chunks_total=1,
        chunks_read=1,
        truncated=len(kept) < len(scanned),
    )


def _bm25(kept: Sequence[tuple[Turn, float]], query: str, k: int) -> list[tuple[int, float]]:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each index at DEBUG
    texts = [f"{e.speaker or ''} {e.text}" for e, _ in kept]
    tokens = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)
    if not texts or not tokens[0]:
        return []
    index = bm25s.BM25()
    index.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    docs, scores = index.retrieve(tokens, k=min(k, len(texts)), show_progress=False)
    return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if float(s) > 0]


def _candidate(episode: Turn, score: float) -> Candidate:
    return Candidate(
        kind="episode",
        id=episode.id,
        text=episode.text,
        occurred_at=episode.occurred_at,
        score=score,
        source_episode_ids=(episode.id,),
        speaker=episode.speaker,
    )


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

"""Answers (the D-Mem loop): retrieve, answer from the evidence, audit, and fall back to
Full Deliberation when the audit fails."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ValidationError

from memory_service.domain.errors import Conflict
from memory_service.domain.models import ChatMessage, SearchHit, SearchQuery, SearchResult
from memory_service.ports import LLM, Embedder, UnitOfWork
from memory_service.services import recall
from policies.recipes import RecallConfig

NOT_MENTIONED = "Not mentioned"

ANSWER = """Answer the question using only the memories below. Each starts with its date.

Memories:
{evidence}

Question: {question}
(Today is {today}.)
Give a short answer (a few words, a name, a date). For "when" questions give an absolute
date, computed from a memory's date when it says "yesterday" or "last week". If the
memories do not say, answer exactly: {not_mentioned}
Answer:"""

AUDIT = """You audit an answer given by an assistant from retrieved memories.

Memories:
{evidence}

Question: {question}
Answer: {answer}

Judge three things, each true or false:
- relevance: the memories are about what the question asks;
- faithfulness: the answer is supported by the memories (no invention);
- completeness: the answer fully answers the question (an answer saying the memories do
  not mention it is incomplete).
Reply with JSON only: {{"relevance": true, "faithfulness": true, "completeness": true,
"reason": "<one sentence>"}}"""


class Audit(BaseModel):
    relevance: bool
    faithfulness: bool
    completeness: bool
    reason: str = ""

    @property
    def passed(self) -> bool:
        return self.relevance and self.faithfulness and self.completeness


@dataclass
class AnswerResult:
    answer: str
    search: SearchResult
    audit: Audit | None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    cost: dict[str, float] = field(default_factory=dict)


def evidence_text(hits: Sequence[SearchHit]) -> str:
    lines = []
    for h in hits:
        when = h.occurred_at.strftime("%Y-%m-%d") if h.occurred_at else "undated"
        who = f"{h.speaker}: " if h.speaker and h.kind == "episode" else ""
        lines.append(f"[{when}] {who}{h.text}")
    return "\n".join(lines) or "(no memories)"


async def answer_question(
    uow: UnitOfWork,
    embedder: Embedder,
    llm: LLM | None,
    tenant: UUID,
    query: SearchQuery,
    config: RecallConfig,
    options: recall.RecallOptions,
) -> AnswerResult:
    if llm is None:
        raise Conflict("answers need an LLM: set MEMORY_LLM_MODEL (any litellm model)")
    opts = replace(options, llm=llm)
    cost = {"llm_calls": 0.0, "input_tokens": 0.0, "output_tokens": 0.0, "answer_ms": 0.0}
    found = await recall.search(uow, embedder, tenant, query, config, options=opts)
    text, audit = await _answer_and_audit(llm, query, found.hits, opts, cost)
    attempts = [
        {"route": found.route, "answer": text, "audit": audit.model_dump() if audit else None}
    ]
    if (audit is None or not audit.passed) and found.route == "fast":
        found = await recall.search(
            uow, embedder, tenant, query, config, options=replace(opts, mode="deliberate")
        )
        text, audit = await _answer_and_audit(llm, query, found.hits, opts, cost)
        attempts.append(
            {"route": found.route, "answer": text, "audit": audit.model_dump() if audit else None}
        )
    for key in ("llm_calls", "input_tokens", "output_tokens"):
        cost[key] += float(found.cost.get(key, 0.0))
    return AnswerResult(answer=text, search=found, audit=audit, attempts=attempts, cost=cost)


async def _answer_and_audit(
    llm: LLM,
    query: SearchQuery,
    hits: Sequence[SearchHit],
    opts: recall.RecallOptions,
    cost: dict[str, float],
) -> tuple[str, Audit | None]:
    evidence = evidence_text(hits)
    today = opts.now.strftime("%Y-%m-%d") if opts.now else "unknown"
    started = time.perf_counter()
    out = await llm.complete(
        [
            ChatMessage(
                "user",
                ANSWER.format(
                    evidence=evidence, question=query.text, today=today, not_mentioned=NOT_MENTIONED
                ),
            )
        ],
        max_tokens=96,
    )
    text = out.text.strip()
    verdict = await llm.complete(
        [ChatMessage("user", AUDIT.format(evidence=evidence, question=query.text, answer=text))],
        max_tokens=160,
    )
    cost["answer_ms"] += (time.perf_counter() - started) * 1000
    cost["llm_calls"] += 2
    cost["input_tokens"] += out.input_tokens + verdict.input_tokens
    cost["output_tokens"] += out.output_tokens + verdict.output_tokens
    return text, _parse_audit(verdict.text)


def _parse_audit(reply: str) -> Audit | None:
    """None when the auditor's reply cannot be read (treated as a failed audit)."""
    match = re.search(r"\{.*\}", reply, re.DOTALL)
    if not match:
        return None
    try:
        return Audit.model_validate(json.loads(match.group(0)))
    except (ValueError, ValidationError):
        return None

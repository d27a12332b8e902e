"""Answers (the D-Mem loop): retrieve, answer from the evidence, audit, and fall back to
Full Deliberation when the audit fails."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from memory_service.domain.errors import Conflict
from memory_service.domain.models import ChatMessage, SearchHit, SearchQuery, SearchResult
from memory_service.domain.search import Budget
from memory_service.ports import LLM, UnitOfWork
from memory_service.services import recall
from memory_service.services.audit import AUDIT, Audit, evidence_text, parse_audit
from memory_service.services.recall import RecallPipeline

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


@dataclass
class AnswerResult:
    answer: str
    search: SearchResult
    audit: Audit | None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    cost: dict[str, float] = field(default_factory=dict)


async def answer_question(
    uow: UnitOfWork,
    llm: LLM | None,
    tenant: UUID,
    query: SearchQuery,
    pipeline: RecallPipeline,
    *,
    now: datetime | None = None,
    budget: Budget | None = None,
) -> AnswerResult:
    if llm is None:
        raise Conflict("answers need an LLM: set MEMORY_LLM_MODEL (any litellm model)")
    # The answer below is audited itself; the search need not audit its evidence too.
    cost = {"llm_calls": 0.0, "input_tokens": 0.0, "output_tokens": 0.0, "answer_ms": 0.0}
    found = await recall.search(uow, pipeline, tenant, query, now=now, budget=budget, audit=False)
    text, audit = await _answer_and_audit(llm, query, found.hits, now, cost)
    attempts = [
        {"route": found.route, "answer": text, "audit": audit.model_dump() if audit else None}
    ]
    if (audit is None or not audit.passed) and found.route == "fast":
        found = await recall.search(
            uow, pipeline, tenant, query, mode="deliberate", now=now, budget=budget, audit=False
        )
        text, audit = await _answer_and_audit(llm, query, found.hits, now, cost)
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
    now: datetime | None,
    cost: dict[str, float],
) -> tuple[str, Audit | None]:
    evidence = evidence_text(hits)
    today = now.strftime("%Y-%m-%d") if now else "unknown"
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
    return text, parse_audit(verdict.text)

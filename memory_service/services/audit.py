"""D-Mem's auditor: an LLM judges whether retrieved evidence answers a question.

Two prompts share one verdict (relevance, faithfulness, completeness, each pass/fail):
``AUDIT`` judges a given answer (``/v1/answer``); ``EVIDENCE_AUDIT`` has the LLM draft
an answer from the evidence and judge it in the same call, so the quality gate of
``/v1/search`` can score answerability for one LLM call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ValidationError

from memory_service.domain.models import ChatMessage, Completion, ContextTurn, SearchHit
from memory_service.domain.replies import json_object
from memory_service.ports import LLM

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

EVIDENCE_AUDIT = """You check whether retrieved memories are enough to answer a question.

Memories (each starts with its date):
{evidence}

Question: {question}
(Today is {today}.)

First write the short answer the memories support ("" if they do not), then judge it,
each true or false:
- relevance: the memories are about what the question asks;
- faithfulness: the answer is supported by the memories (no invention);
- completeness: the memories hold everything needed to answer fully.
Reply with JSON only: {{"answer": "<short answer>", "relevance": true,
"faithfulness": true, "completeness": true, "reason": "<one sentence>"}}"""


class Audit(BaseModel):
    relevance: bool
    faithfulness: bool
    completeness: bool
    reason: str = ""
    answer: str | None = None

    @property
    def passed(self) -> bool:
        return all(self.checks().values())

    def checks(self) -> dict[str, bool]:
        """The three verdicts, as the gate's ``audit`` dimension reads them."""
        return {
            "relevance": self.relevance,
            "faithfulness": self.faithfulness,
            "completeness": self.completeness,
        }


@dataclass(frozen=True, slots=True)
class AuditCall:
    """The auditor's verdict (None: its reply could not be read) and what it cost."""

    audit: Audit | None
    completion: Completion


def evidence_text(hits: Sequence[SearchHit]) -> str:
    """The evidence as the auditor and the answerer read it: one line a fact, and each
    episode hit as its passage (the hit with its context turns), in time order."""
    lines = []
    for h in hits:
        turns = h.passage()
        if turns:
            lines += [turn_line(t) for t in turns]
        else:
            when = h.occurred_at.strftime("%Y-%m-%d") if h.occurred_at else "undated"
            lines.append(f"[{when}] {h.text}")
    return "\n".join(lines) or "(no memories)"


def turn_line(turn: ContextTurn, *, dated: bool = True) -> str:
    """One turn as a prompt or a context block shows it: ``[day] speaker: text`` (the
    day left out when the line before gave it)."""
    who = f"{turn.speaker}: " if turn.speaker else ""
    day = f"[{turn.occurred_at:%Y-%m-%d}] " if dated else ""
    return f"{day}{who}{turn.text}"


def parse_audit(reply: str) -> Audit | None:
    """None when the auditor's reply cannot be read (treated as a failed audit)."""
    try:
        return Audit.model_validate(json_object(reply))
    except (ValueError, ValidationError):
        return None


async def audit_evidence(
    llm: LLM, question: str, hits: Sequence[SearchHit], now: datetime | None
) -> AuditCall:
    """One LLM call: can the evidence answer the question? (D-Mem's answerability audit.)"""
    today = now.strftime("%Y-%m-%d") if now else "unknown"
    prompt = EVIDENCE_AUDIT.format(evidence=evidence_text(hits), question=question, today=today)
    out = await llm.complete([ChatMessage("user", prompt)], max_tokens=200)
    return AuditCall(parse_audit(out.text), out)

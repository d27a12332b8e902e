"""Mem0's update rule, asked of any chat model as JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from memory_service.adapters.llm_replies import (
    DecisionReply,
    MalformedReply,
    ask,
    one_line,
    prompt,
    validated,
)
from memory_service.domain.consolidation import Decision, ExistingMemory, ExtractedFact
from memory_service.domain.models import ChatMessage
from memory_service.ports import LLM

__all__ = ["LLMDecider"]


def _to_decision(
    reply: DecisionReply, fact: ExtractedFact, shown: Mapping[int, ExistingMemory]
) -> Decision:
    """The model's short id back to a memory id; UPDATE and DELETE must name a shown id."""
    text = one_line(reply.text or "")
    reason = one_line(reply.reason or "")
    if reply.op in ("ADD", "NOOP"):
        return Decision(op=reply.op, text=text or fact.text, reason=reason)
    target = shown.get(reply.id) if reply.id is not None else None
    if target is None:
        raise MalformedReply(
            f'"op": "{reply.op}" needs an "id" among {sorted(shown)}, got {reply.id!r}'
        )
    if reply.op == "UPDATE" and not text:
        raise MalformedReply('"op": "UPDATE" needs the complete new memory text in "text"')
    return Decision(op=reply.op, text=text or target.text, target_id=target.id, reason=reason)


class LLMDecider:
    """Mem0's update rule: the model picks ADD, UPDATE, DELETE or NOOP for a new fact.

    Similar memories are shown to the model with ids 1..n, never their UUIDs. With no
    similar memory the answer is ADD and no model is called. ``system_prompt`` replaces
    the packaged ``update_memory.txt``.
    """

    name = "llm"

    def __init__(
        self, llm: LLM, *, max_tokens: int = 512, system_prompt: str | None = None
    ) -> None:
        self._llm = llm
        self._system_prompt = system_prompt
        self._max_tokens = max_tokens

    async def decide(self, fact: ExtractedFact, similar: Sequence[ExistingMemory]) -> Decision:
        if not similar:
            return Decision(op="ADD", text=fact.text, reason="no similar memory")
        shown = dict(enumerate(similar, start=1))
        listing = "\n".join(f"[id={n}] {one_line(m.text)}" for n, m in shown.items())
        messages = [
            ChatMessage(role="system", content=self._system_prompt or prompt("update_memory.txt")),
            ChatMessage(
                role="user",
                content=(
                    f"Existing memories:\n{listing}\n\nNew fact: {one_line(fact.text)}\n\nReply:"
                ),
            ),
        ]

        def parse(raw: str) -> Decision:
            return _to_decision(validated(DecisionReply, raw), fact, shown)

        return await ask(
            self._llm, messages, parse, max_tokens=self._max_tokens, task="memory update"
        )

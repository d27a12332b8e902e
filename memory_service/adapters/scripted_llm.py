"""A deterministic LLM behind the same port, replying by script (tests, offline runs)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from memory_service.domain.models import ChatMessage, Completion
from memory_service.ports import metrics

Reply = str | Callable[[str], str]


def first_context_line(prompt: str) -> str:
    """Default scripted reply: the first non-empty line after a "Context:" header."""
    _, _, after = prompt.partition("Context:")
    for line in after.splitlines():
        if line.strip():
            return line.strip()[:200]
    return "Not mentioned in the conversation"


@dataclass
class ScriptedLLM:
    """A deterministic LLM behind the same port: the first rule whose pattern matches
    the last user message decides the reply. It records every call."""

    rules: Sequence[tuple[str, Reply]] = ()
    default: Reply = first_context_line
    model: str = "scripted"
    calls: list[list[ChatMessage]] = field(default_factory=list)

    @classmethod
    def from_file(cls, path: Path) -> ScriptedLLM:
        """A scripted LLM from a JSON file (``MEMORY_LLM_MODEL=scripted:<path>``, for
        tests that start other processes): ``{"rules": [["<regex>", "<reply>"], ...],
        "default": "<reply>", "model": "<name>"}``; all keys optional."""
        script = json.loads(path.read_text())
        rules = [(str(pattern), str(reply)) for pattern, reply in script.get("rules", [])]
        default = script.get("default")
        return cls(
            rules=rules,
            default=first_context_line if default is None else str(default),
            model=str(script.get("model", "scripted")),
        )

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> Completion:
        self.calls.append(list(messages))
        prompt = messages[-1].content if messages else ""
        reply = self.default
        for pattern, candidate in self.rules:
            if re.search(pattern, prompt, flags=re.IGNORECASE | re.DOTALL):
                reply = candidate
                break
        text = reply(prompt) if callable(reply) else reply
        completion = Completion(
            text=text,
            input_tokens=sum(len(m.content.split()) for m in messages),
            output_tokens=len(text.split()),
            model=self.model,
        )
        metrics.llm_call(completion.input_tokens, completion.output_tokens)
        return completion

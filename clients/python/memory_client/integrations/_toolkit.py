"""The memory tools an agent calls, whatever its framework: remember, recall, forget.

Each tool is an arguments model (its JSON schema is what the model sees) and a plan over
the client, bound to one scope; ``langchain`` and ``openai_agents`` wrap them as their
framework's tools. Tools answer in short text, which is what a model reads back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from memory_client.errors import NotFoundError
from memory_client.integrations._plans import Call, Plan, Scope
from memory_client.models import Memory, SearchResult


class RememberArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1,
        description="The fact to remember, as one self-contained sentence "
        "(name people and things, no pronouns).",
    )


class RecallArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, description="What to look for, in a few words.")
    limit: int = Field(default=5, ge=1, le=50, description="At most this many memories.")


class ForgetArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    memory_id: UUID = Field(description="The id of a memory, as recall shows it.")


REMEMBER = "Store a fact about the user or the task in long-term memory, for later turns."
RECALL = "Search long-term memory; each line is a memory with its id and relevance score."
FORGET = "Forget a memory, by the id recall showed, when it is wrong or the user asks."


@dataclass(frozen=True, slots=True)
class MemoryTools:
    """The three tools' behaviour, bound to ``scope``; ``kinds`` limits what recall finds
    (None: episodes and memories), ``metadata`` is stored with what remember stores."""

    scope: Scope
    kinds: Sequence[str] | None = None
    metadata: dict[str, Any] | None = None

    def remember(self, args: RememberArgs) -> Plan[str]:
        memory: Memory = yield Call(
            "add_memory", (args.text,), {**self.scope.kwargs(), "metadata": self.metadata}
        )
        return f"Remembered (id {memory.id})."

    def recall(self, args: RecallArgs) -> Plan[str]:
        found: SearchResult = yield Call(
            "search",
            (args.query,),
            {**self.scope.kwargs(), "limit": args.limit, "kinds": self.kinds, "mode": "fast"},
        )
        if not found.results:
            return "No memories found."
        return "\n".join(
            f"- {hit.text} (id {hit.id}, {hit.kind}, score {hit.score:.3f})"
            for hit in found.results
        )

    def forget(self, args: ForgetArgs) -> Plan[str]:
        """Only a memory of this scope: a model cannot retire another user's memory."""
        memory: Memory | None
        try:
            memory = yield Call("get", (args.memory_id,))
        except NotFoundError:
            memory = None
        if memory is None or not self._owns(memory):
            return f"No memory with id {args.memory_id}."
        yield Call("delete", (args.memory_id,))
        return f"Forgot memory {args.memory_id}."

    @classmethod
    def bound(
        cls,
        user_id: str | None,
        agent_id: str | None,
        session_id: str | None,
        kinds: Sequence[str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> MemoryTools:
        """The tools of one scope; ValueError when no id names it."""
        scope = Scope(user_id, agent_id, session_id)
        if not any(scope.kwargs().values()):
            raise ValueError("give user_id, agent_id or session_id: the tools need a scope")
        return cls(scope, kinds, metadata)

    def table(self) -> list[tuple[str, str, type[BaseModel], Callable[[Any], Plan[str]]]]:
        """Each tool's name, description, arguments model and plan, for a framework to
        wrap as its own tools."""
        return [
            ("remember", REMEMBER, RememberArgs, self.remember),
            ("recall", RECALL, RecallArgs, self.recall),
            ("forget", FORGET, ForgetArgs, self.forget),
        ]

    def _owns(self, memory: Memory) -> bool:
        return all(
            wanted is None or getattr(memory, name) == wanted
            for name, wanted in self.scope.kwargs().items()
        )

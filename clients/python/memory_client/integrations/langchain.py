"""memory-service in LangChain: ``MemoryServiceRetriever`` and ``memory_tools``.

``pip install 'memory-client[langchain]'`` (it needs ``langchain-core`` only).

- ``MemoryServiceRetriever(client=..., user_id=...)`` is a ``BaseRetriever``: ``invoke``
  and ``ainvoke`` search the scope and return ``Document``s, the hit's text as
  ``page_content`` and ``id``, ``kind``, ``score``, ``occurred_at``, ``speaker`` and
  ``retrieval_id`` (for ``client.feedback``) as metadata;
- ``memory_tools(client, user_id=...)`` returns the ``StructuredTool``s ``remember``,
  ``recall`` and ``forget``, bound to that scope, for an agent to call.

Give a ``MemoryClient`` for sync calls, an ``AsyncMemoryClient`` (``aclient``) for async
ones, or both; with only a blocking client, async calls run it in a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, model_validator

try:
    from langchain_core.callbacks import (
        AsyncCallbackManagerForRetrieverRun,
        CallbackManagerForRetrieverRun,
    )
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever
    from langchain_core.tools import BaseTool, StructuredTool
except ImportError as error:  # pragma: no cover - the extra is installed in the tests
    raise ImportError(
        "memory_client.integrations.langchain needs langchain-core: "
        "pip install 'memory-client[langchain]'"
    ) from error

from memory_client._async import AsyncMemoryClient
from memory_client._sync import MemoryClient
from memory_client.integrations._plans import Call, Clients, Plan, Scope
from memory_client.integrations._toolkit import MemoryTools
from memory_client.models import SearchMode, SearchResult

__all__ = ["MemoryServiceRetriever", "documents", "memory_tools"]

Args = TypeVar("Args", bound=BaseModel)


class MemoryServiceRetriever(BaseRetriever):
    """Documents from the service's search over one scope (``user_id``, ``agent_id``,
    ``session_id``: at least one). ``k``: at most this many; ``kinds``: ``episode``,
    ``memory`` (None: both); ``mode`` and ``preset`` as ``client.search`` takes them."""

    client: MemoryClient | None = None
    aclient: AsyncMemoryClient | None = None
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    k: int = 5
    kinds: list[str] | None = None
    mode: SearchMode = "fast"
    preset: str | None = None

    @model_validator(mode="after")
    def _check(self) -> MemoryServiceRetriever:
        if self.client is None and self.aclient is None:
            raise ValueError(
                "give client (a MemoryClient), aclient (an AsyncMemoryClient), or both"
            )
        if not any((self.user_id, self.agent_id, self.session_id)):
            raise ValueError("give user_id, agent_id or session_id: search needs a scope")
        return self

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return Clients.of(self.client, self.aclient).run(self._search(query))

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun
    ) -> list[Document]:
        return await Clients.of(self.client, self.aclient).arun(self._search(query))

    def _search(self, query: str) -> Plan[list[Document]]:
        scope = Scope(self.user_id, self.agent_id, self.session_id)
        found: SearchResult = yield Call(
            "search",
            (query,),
            {
                **scope.kwargs(),
                "limit": self.k,
                "kinds": self.kinds,
                "mode": self.mode,
                "preset": self.preset,
            },
        )
        return documents(found)


def documents(found: SearchResult) -> list[Document]:
    """A search's hits as LangChain documents, best first."""
    return [
        Document(
            page_content=hit.text,
            id=str(hit.id),
            metadata={
                "id": str(hit.id),
                "kind": hit.kind,
                "score": hit.score,
                "occurred_at": hit.occurred_at.isoformat() if hit.occurred_at else None,
                "speaker": hit.speaker,
                "retrieval_id": str(found.retrieval_id),
            },
        )
        for hit in found.results
    ]


def memory_tools(
    client: MemoryClient | AsyncMemoryClient | None = None,
    *,
    aclient: AsyncMemoryClient | None = None,
    user_id: str | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
    kinds: Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> list[BaseTool]:
    """The tools ``remember``, ``recall`` and ``forget``, bound to one scope (at least
    one id). ``kinds`` limits what recall finds; ``metadata`` is stored with what
    remember stores. With only an asyncio client the tools are async only."""
    tools = MemoryTools.bound(user_id, agent_id, session_id, kinds, metadata)
    clients = Clients.of(client, aclient)
    return [_tool(clients, *entry) for entry in tools.table()]


def _tool(
    clients: Clients,
    name: str,
    description: str,
    schema: type[Args],
    plan: Callable[[Args], Plan[str]],
) -> StructuredTool:
    def call(**arguments: Any) -> str:
        return clients.run(plan(schema.model_validate(arguments)))

    async def acall(**arguments: Any) -> str:
        return await clients.arun(plan(schema.model_validate(arguments)))

    return StructuredTool.from_function(
        func=call if clients.sync_client is not None else None,
        coroutine=acall,
        name=name,
        description=description,
        args_schema=schema,
    )

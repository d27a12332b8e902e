"""``AsyncMemoryClient``: ``MemoryClient`` for asyncio, over the same calls and core."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from memory_client import _routes as routes
from memory_client._drivers import AsyncDriver
from memory_client._routes import Id
from memory_client.models import (
    AddResult,
    Answer,
    Context,
    EpisodePage,
    FeedbackResult,
    ForgetResult,
    ImportResult,
    Instructions,
    Job,
    JobPage,
    JobState,
    Memory,
    MemoryChange,
    MemoryPage,
    MessagesInput,
    Order,
    Records,
    ResetResult,
    ScopePage,
    SearchMode,
    SearchResult,
)


class AsyncMemoryClient(AsyncDriver):
    """An asyncio client for memory-service; the methods of ``MemoryClient``, awaited.

    ``base_url`` and ``api_key`` default to the environment variables
    ``MEMORY_SERVICE_URL`` and ``MEMORY_SERVICE_API_KEY``; ``timeout`` is in seconds.
    Pass ``transport`` to talk to something other than the network (tests).
    """

    @property
    def base_url(self) -> str:
        return self._core.base_url

    async def close(self) -> None:
        await self._http.aclose()

    # -- memories, the Mem0 way ---------------------------------------------------------

    async def add(
        self,
        messages: MessagesInput,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        infer: bool = True,
        idempotency_key: str | None = None,
        instructions: str | None = None,
    ) -> AddResult:
        """Store turns as episodes and queue their consolidation into memories.

        ``messages``: a string (one user turn), a dict or ``Message``, or a list of them.
        ``run_id`` is Mem0's name for ``session_id``. ``infer=False`` stores the turns
        only (searchable at once) and extracts no memories from them.
        ``instructions``: what to remember and what to ignore in these turns, in words
        (at most 2,000 characters); followed only by a server that runs with an LLM.
        An Idempotency-Key is generated when none is given, so retries store it once.
        """
        return await self._request(
            routes.add(
                messages,
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                run_id=run_id,
                metadata=metadata,
                infer=infer,
                idempotency_key=idempotency_key,
                instructions=instructions,
            )
        )

    async def add_memory(
        self,
        text: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        source_episode_ids: Sequence[Id] | None = None,
        valid_from: datetime | None = None,
        valid_to: datetime | None = None,
    ) -> Memory:
        """Store a fact as given, without extraction."""
        return await self._request(
            routes.add_memory(
                text,
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                run_id=run_id,
                metadata=metadata,
                source_episode_ids=source_episode_ids,
                valid_from=valid_from,
                valid_to=valid_to,
            )
        )

    async def search(
        self,
        query: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        limit: int = 10,
        top_k: int | None = None,
        threshold: float | None = None,
        preset: str | None = None,
        mode: SearchMode = "auto",
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Sequence[str] | None = None,
        now: datetime | None = None,
    ) -> SearchResult:
        """Hybrid search over episodes and memories; ``now`` anchors "last week".

        Mem0's shapes too: ``run_id`` (``session_id``), ``top_k`` (``limit``), ``filters``
        (metadata conditions; ids in it become the scope) and ``threshold`` (the least
        ``hit.similarity`` kept, applied here to the hits the server returned).
        """
        return await self._request(
            routes.search(
                query,
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                run_id=run_id,
                filters=filters,
                limit=limit,
                top_k=top_k,
                threshold=threshold,
                preset=preset,
                mode=mode,
                since=since,
                until=until,
                kinds=kinds,
                now=now,
            )
        )

    async def get_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        limit: int = 50,
        top_k: int | None = None,
        cursor: str | None = None,
        include_inactive: bool = False,
    ) -> MemoryPage:
        """One page of memories; pass ``page.next_cursor`` as ``cursor`` for the next.

        ``filters`` and ``top_k`` as in ``search``.
        """
        return await self._request(
            routes.get_all(
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                run_id=run_id,
                filters=filters,
                limit=limit,
                top_k=top_k,
                cursor=cursor,
                include_inactive=include_inactive,
            )
        )

    async def get(self, memory_id: Id) -> Memory:
        return await self._request(routes.get(memory_id))

    async def update(
        self,
        memory_id: Id,
        data: str | None = None,
        *,
        text: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        valid_to: datetime | None = None,
    ) -> Memory:
        """Change a memory; arguments left as None are not changed. ``data`` (Mem0's
        open-source name) and ``text`` both give the new text."""
        return await self._request(
            routes.update(memory_id, data, text=text, metadata=metadata, valid_to=valid_to)
        )

    async def delete(self, memory_id: Id) -> Memory:
        """Retire a memory: it leaves search, its history stays. Returns it retired."""
        return await self._request(routes.delete(memory_id))

    async def delete_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
    ) -> ForgetResult:
        """Forget a scope entirely: every episode, memory, entity, log and job stored
        under all the ids given (at least one). Nothing stored is zero counts."""
        return await self._request(
            routes.delete_all(
                user_id=user_id, agent_id=agent_id, session_id=session_id, run_id=run_id
            )
        )

    async def reset(self) -> ResetResult:
        """Forget everything this API key's tenant stored (the keys stay)."""
        return await self._request(routes.reset())

    async def instructions(self) -> Instructions:
        """The tenant's standing extraction instructions: what every consolidation
        should remember and ignore (followed by an LLM extractor only)."""
        return await self._request(routes.instructions())

    async def set_instructions(self, text: str | None) -> Instructions:
        """Set (or, with None, clear) the tenant's standing extraction instructions; a
        call's own ``instructions`` on ``add`` follow them."""
        return await self._request(routes.set_instructions(text))

    async def history(self, memory_id: Id) -> list[MemoryChange]:
        return await self._request(routes.history(memory_id))

    # -- beyond Mem0 --------------------------------------------------------------------

    async def answer(
        self,
        question: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        limit: int = 10,
        preset: str | None = None,
        now: datetime | None = None,
    ) -> Answer:
        """Answer from memory with the server's LLM (``ConflictError`` when it has none)."""
        return await self._request(
            routes.answer(
                question,
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                run_id=run_id,
                filters=filters,
                limit=limit,
                preset=preset,
                now=now,
            )
        )

    async def context(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        query: str | None = None,
        token_budget: int = 1000,
        now: datetime | None = None,
    ) -> Context:
        """A ready-to-paste context block of at most ``token_budget`` tokens."""
        return await self._request(
            routes.context(
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                run_id=run_id,
                filters=filters,
                query=query,
                token_budget=token_budget,
                now=now,
            )
        )

    async def feedback(
        self,
        retrieval_id: Id,
        reward: float,
        *,
        memory_ids: Sequence[Id] | None = None,
        feedback_id: str | None = None,
    ) -> FeedbackResult:
        """Reward what a search, context or answer returned: ``reward`` in [-1, 1]."""
        return await self._request(
            routes.feedback(retrieval_id, reward, memory_ids=memory_ids, feedback_id=feedback_id)
        )

    async def episodes(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        run_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        cursor: str | None = None,
        limit: int = 50,
        order: Order = "asc",
    ) -> EpisodePage:
        """One page of stored turns, in time order."""
        return await self._request(
            routes.episodes(
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                run_id=run_id,
                filters=filters,
                since=since,
                until=until,
                cursor=cursor,
                limit=limit,
                order=order,
            )
        )

    async def job(self, job_id: Id) -> Job:
        return await self._request(routes.job(job_id))

    async def jobs(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        state: JobState | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> JobPage:
        """One page of consolidation jobs, newest first, with their scope."""
        return await self._request(
            routes.jobs(
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                state=state,
                cursor=cursor,
                limit=limit,
            )
        )

    async def scopes(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> ScopePage:
        """One page of the tenant's scopes (user/agent/session triples) with their
        counts of episodes, active facts and entities, most recently active first."""
        return await self._request(
            routes.scopes(
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                cursor=cursor,
                limit=limit,
            )
        )

    async def export(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        session_id: str | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """The tenant's (or one scope's) records, one dict per JSON line, as they stream.

        The request is sent when iteration starts.
        """
        call = routes.export(user_id=user_id, agent_id=agent_id, session_id=session_id)
        async with self._stream(call) as response:
            async for line in response.aiter_lines():
                if line.strip():
                    yield call.parse(line)

    async def import_(self, records: Records) -> ImportResult:
        """Load records (dicts, or a ``.jsonl`` path); rows already present are skipped."""
        # Reading a file or serialising many records is blocking work: off the loop.
        return await self._request(await asyncio.to_thread(routes.import_, records))

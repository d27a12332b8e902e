"""The tools: one method each, one unit of work each, like one REST request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from mcp.server.mcpserver import Context
from pydantic import Field

from memory_service.bootstrap import Components
from memory_service.mcp._auth import Access
from memory_service.mcp._errors import tool_errors
from memory_service.requests import bulk, retrieval
from memory_service.requests.call import Call
from memory_service.requests.fields import NulFree, ScopeId
from memory_service.requests.inputs import (
    ContextIn,
    FeedbackIn,
    MessageIn,
    MessagesIn,
    SearchIn,
)
from memory_service.requests.messages import add_messages
from memory_service.requests.outputs import (
    ContextOut,
    FeedbackOut,
    ForgetOut,
    MessagesOut,
    SearchOut,
)

# Annotations are resolved at registration (the SDK builds each tool's input schema from
# its signature), so every name used in one must be importable here at run time.
UserId = Annotated[ScopeId | None, Field(description="whose memory (a scope part)")]
AgentId = Annotated[ScopeId | None, Field(description="which agent (a scope part)")]
SessionId = Annotated[ScopeId | None, Field(description="which conversation (a scope part)")]
Moment = Annotated[datetime | None, Field(description="ISO 8601; naive times are UTC")]


class Tools:
    """One method per tool; each builds the request model from its arguments and calls
    the same operation as the matching REST route, in one unit of work."""

    def __init__(self, components: Components, access: Access) -> None:
        self._components = components
        self._access = access

    @asynccontextmanager
    async def _call(self, ctx: Context) -> AsyncIterator[Call]:
        with tool_errors():
            tenant = await self._access.tenant(ctx)
            async with self._components.uow(tenant=tenant) as uow:
                yield Call(uow=uow, tenant=tenant, components=self._components)

    @asynccontextmanager
    async def _read_call(self, ctx: Context) -> AsyncIterator[Call]:
        """A read's call: on the replica when one is configured (``retrieval.reading``)."""
        with tool_errors():
            tenant = await self._access.tenant(ctx)
            async with retrieval.reading(self._components, tenant) as call:
                yield call

    async def add(
        self,
        ctx: Context,
        messages: Annotated[list[MessageIn], Field(min_length=1)],
        user_id: UserId = None,
        agent_id: AgentId = None,
        session_id: SessionId = None,
        idempotency_key: Annotated[str | None, Field(min_length=1, max_length=255), NulFree] = None,
    ) -> MessagesOut:
        """Store conversation messages for a scope; facts are extracted from them in the
        background. Retrying with the same idempotency_key stores nothing twice."""
        async with self._call(ctx) as call:
            body = MessagesIn(
                user_id=user_id, agent_id=agent_id, session_id=session_id, messages=messages
            )
            return await add_messages(call, body, idempotency_key=idempotency_key)

    async def search(
        self,
        ctx: Context,
        query: Annotated[str, Field(min_length=1, description="what to look for")],
        user_id: UserId = None,
        agent_id: AgentId = None,
        session_id: SessionId = None,
        limit: Annotated[int, Field(ge=1)] = 10,
        since: Moment = None,
        until: Moment = None,
        kinds: list[Literal["episode", "memory"]] | None = None,
        preset: Annotated[str | None, Field(description=f"one of {retrieval.PRESET_NAMES}")] = None,
        mode: Literal["auto", "fast", "deliberate"] = "auto",
        now: Annotated[datetime | None, Field(description="resolve 'last week' against")] = None,
    ) -> SearchOut:
        """Hybrid search over stored messages (episodes) and facts (memories) of a scope.
        Returns hits with scores and a retrieval_id for feedback."""
        async with self._read_call(ctx) as call:
            body = SearchIn(
                query=query,
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                limit=limit,
                since=since,
                until=until,
                kinds=kinds or ["episode", "memory"],
                preset=preset,
                mode=mode,
                now=now,
            )
            return await retrieval.search(call, body)

    async def context(
        self,
        ctx: Context,
        user_id: UserId = None,
        agent_id: AgentId = None,
        session_id: SessionId = None,
        query: Annotated[
            str | None,
            Field(max_length=8000, description="focus; none: the most useful facts"),
            NulFree,
        ] = None,
        token_budget: Annotated[int, Field(ge=50, le=100_000)] = 1000,
        now: Moment = None,
    ) -> ContextOut:
        """A ready-to-paste context block for a scope (facts, dated conversation excerpts,
        entities), packed to token_budget (cl100k_base tokens) in rank order."""
        async with self._read_call(ctx) as call:
            body = ContextIn(
                user_id=user_id,
                agent_id=agent_id,
                session_id=session_id,
                query=query,
                token_budget=token_budget,
                now=now,
            )
            return await retrieval.context(call, body)

    async def feedback(
        self,
        ctx: Context,
        retrieval_id: UUID,
        reward: Annotated[float, Field(ge=-1.0, le=1.0, description="-1 harmful .. 1 useful")],
        memory_ids: Annotated[
            list[UUID] | None, Field(max_length=1000, description="credit only these hits")
        ] = None,
        feedback_id: Annotated[
            str | None,
            Field(min_length=1, max_length=255, description="idempotency key"),
            NulFree,
        ] = None,
    ) -> FeedbackOut:
        """Reward what a search or context call returned: each credited item's utility
        moves toward the reward (Q <- Q + 0.3 (reward - Q)), once per feedback_id."""
        async with self._call(ctx) as call:
            body = FeedbackIn(
                retrieval_id=retrieval_id,
                reward=reward,
                memory_ids=memory_ids,
                feedback_id=feedback_id,
            )
            return await retrieval.give_feedback(call, body)

    async def forget(self, ctx: Context, user_id: ScopeId) -> ForgetOut:
        """Delete every message, fact, entity, log and job of user_id, atomically. Cannot
        be undone."""
        async with self._call(ctx) as call:
            return await bulk.forget_user(call, user_id)

"""The tools: one method each, one unit of work each, like one REST request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from mcp.server.mcpserver import Context
from pydantic import Field

from memory_service.adapters.tokens import count_tokens
from memory_service.api.schemas import (
    ContextOut,
    FeedbackOut,
    ForgetOut,
    MessageIn,
    MessagesIn,
    MessagesOut,
    NulFree,
    ScopeId,
    SearchHitOut,
    SearchIn,
    SearchOut,
    as_utc,
    check_limits,
)
from memory_service.bootstrap import Components
from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import Scope, SearchQuery
from memory_service.mcp._auth import Access
from memory_service.mcp._errors import tool_errors
from memory_service.ports import UnitOfWork
from memory_service.services import ingest, recall
from memory_service.services.context import build_context
from memory_service.services.feedback import feedback_id_for, give_feedback
from memory_service.services.forget import forget_user
from policies.recipes import PRESETS
from policies.recipes import preset as named_preset

# Annotations are resolved at registration (the SDK builds each tool's input schema from
# its signature), so every name used in one must be importable here at run time.
UserId = Annotated[ScopeId | None, Field(description="whose memory (a scope part)")]
AgentId = Annotated[ScopeId | None, Field(description="which agent (a scope part)")]
SessionId = Annotated[ScopeId | None, Field(description="which conversation (a scope part)")]
Moment = Annotated[datetime | None, Field(description="ISO 8601; naive times are UTC")]


def _scope(user_id: str | None, agent_id: str | None, session_id: str | None) -> Scope:
    scope = Scope(user_id, agent_id, session_id)
    if scope.is_empty():
        raise InvalidInput({"scope": "give at least one of user_id, agent_id, session_id"})
    return scope


class Tools:
    """One method per tool; each is one unit of work, like one REST request."""

    def __init__(self, components: Components, access: Access) -> None:
        self._components = components
        self._access = access

    @asynccontextmanager
    async def _call(self, ctx: Context) -> AsyncIterator[tuple[UnitOfWork, UUID]]:
        with tool_errors():
            tenant = await self._access.tenant(ctx)
            async with self._components.uow(tenant=tenant) as uow:
                yield uow, tenant

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
        async with self._call(ctx) as (uow, tenant):
            body = MessagesIn(
                user_id=user_id, agent_id=agent_id, session_id=session_id, messages=messages
            )
            check_limits(body, self._components.settings)
            result = await ingest.add_messages(
                uow,
                self._components.embedder,
                tenant,
                _scope(user_id, agent_id, session_id),
                [m.to_domain() for m in body.messages],
                now=datetime.now(UTC),
                idempotency_key=idempotency_key,
                request_hash=ingest.fingerprint(body.model_dump(mode="json")),
            )
        return MessagesOut(
            episode_ids=list(result.episode_ids), job_id=result.job_id, replayed=result.replayed
        )

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
        preset: Annotated[str | None, Field(description=f"one of {sorted(PRESETS)}")] = None,
        mode: Literal["auto", "fast", "deliberate"] = "auto",
        now: Annotated[datetime | None, Field(description="resolve 'last week' against")] = None,
    ) -> SearchOut:
        """Hybrid search over stored messages (episodes) and facts (memories) of a scope.
        Returns hits with scores and a retrieval_id for feedback."""
        settings = self._components.settings
        async with self._call(ctx) as (uow, tenant):
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
            if body.limit > settings.max_limit:
                raise InvalidInput({"limit": f"at most {settings.max_limit}"})
            if body.since and body.until and body.until <= body.since:
                raise InvalidInput({"until": "until must be after since"})
            search_query = SearchQuery(
                text=body.query,
                scope=_scope(user_id, agent_id, session_id),
                limit=body.limit,
                since=body.since,
                until=body.until,
                kinds=tuple(dict.fromkeys(body.kinds)),
            )
            config = named_preset(body.preset or settings.default_preset)
            options = self._components.recall_options(mode=body.mode, now=body.now)
            result = await recall.search(
                uow, self._components.embedder, tenant, search_query, config, options=options
            )
        return SearchOut(
            retrieval_id=result.retrieval_id,
            route="deliberate" if result.route == "deliberate" else "fast",
            gate=dict(result.gate) if result.gate else None,
            results=[SearchHitOut.of(h) for h in result.hits],
            timings_ms=dict(result.timings_ms),
            cost=dict(result.cost),
        )

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
        async with self._call(ctx) as (uow, tenant):
            built = await build_context(
                uow,
                self._components.embedder,
                tenant,
                _scope(user_id, agent_id, session_id),
                query=query if query and query.strip() else None,
                token_budget=token_budget,
                config=named_preset(self._components.settings.default_preset),
                count=count_tokens,
                now=as_utc(now) or datetime.now(UTC),
            )
        return ContextOut(
            context=built.text,
            tokens=built.tokens,
            memory_ids=built.memory_ids,
            episode_ids=built.episode_ids,
            entities=built.entities,
            retrieval_id=built.retrieval_id,
        )

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
        async with self._call(ctx) as (uow, tenant):
            fid = feedback_id_for(tenant, feedback_id)
            result = await give_feedback(
                uow,
                tenant,
                retrieval_id,
                reward,
                feedback_id=fid,
                item_ids=memory_ids,
            )
        return FeedbackOut(
            feedback_id=result.feedback_id, applied=result.applied, utilities=result.utilities
        )

    async def forget(self, ctx: Context, user_id: ScopeId) -> ForgetOut:
        """Delete every message, fact, entity, log and job of user_id, atomically. Cannot
        be undone."""
        async with self._call(ctx) as (uow, tenant):
            deleted = await forget_user(uow, tenant, user_id)
        return ForgetOut(user_id=user_id, deleted=deleted)

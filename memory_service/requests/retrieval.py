"""The read path: search, context blocks, answers, and feedback on what they returned."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from uuid import UUID

from memory_service.adapters.tokens import count_tokens
from memory_service.bootstrap import Components
from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import SearchQuery
from memory_service.requests.call import Call
from memory_service.requests.filters import from_body
from memory_service.requests.inputs import AnswerIn, ContextIn, FeedbackIn, SearchIn
from memory_service.requests.outputs import (
    AnswerOut,
    ContextOut,
    FeedbackOut,
    SearchHitOut,
    SearchOut,
)
from memory_service.services import feedback, recall
from memory_service.services.answer import answer_question
from memory_service.services.context import build_context
from memory_service.services.recall.presets import PRESETS

PRESET_NAMES = sorted(PRESETS)
"""What ``preset`` may name (in the MCP tools' descriptions)."""


@asynccontextmanager
async def reading(components: Components, tenant: UUID) -> AsyncIterator[Call]:
    """The call of a search, context or answer request: its unit of work reads from the
    replica when one is configured (the search log still goes to the primary), else it
    is the usual one on the primary. Feedback, which writes, takes the usual call."""
    async with components.read_uow(tenant) as uow:
        yield Call(uow=uow, tenant=tenant, components=components)


def check_query(call: Call, field: str, text: str | None) -> None:
    """InvalidInput when a query is longer than the settings allow (every step of a
    search reads the query: its length bounds their work)."""
    most = call.components.settings.max_query_chars
    if text is not None and len(text) > most:
        raise InvalidInput({field: f"longer than {most} characters"})


async def search(call: Call, body: SearchIn) -> SearchOut:
    """Hybrid search (vector + full text over episodes and memories, fused by RRF), routed
    by the quality gate; the result carries a retrieval id for feedback."""
    uow, components, tenant = call.uow, call.components, call.tenant
    call.check_limit(body.limit)
    check_query(call, "query", body.query)
    filters = from_body(body.filters)
    query = SearchQuery(
        text=body.query,
        scope=filters.scope_within(body.scope()),
        limit=body.limit,
        since=body.since,
        until=body.until,
        kinds=tuple(dict.fromkeys(body.kinds)),
        filters=filters.where,
    )
    result = await recall.search(
        uow,
        components.pipeline(body.preset),
        tenant,
        query,
        mode=body.mode,
        now=body.now,
        budget=components.budget(body.budget_tokens, body.budget_seconds),
    )
    return SearchOut.of(result)


async def context(call: Call, body: ContextIn) -> ContextOut:
    """A ready-to-paste context block packed to ``token_budget`` (cl100k_base tokens) in
    rank order, with the ids it used."""
    check_query(call, "query", body.query)
    components = call.components
    filters = from_body(body.filters)
    built = await build_context(
        call.uow,
        components.pipeline(),
        call.tenant,
        filters.scope_within(body.scope()),
        where=filters.where,
        query=body.query if body.query and body.query.strip() else None,
        token_budget=body.token_budget,
        count=count_tokens,
        now=body.now or datetime.now(UTC),
    )
    return ContextOut(
        context=built.text,
        tokens=built.tokens,
        memory_ids=built.memory_ids,
        episode_ids=built.episode_ids,
        entities=built.entities,
        retrieval_id=built.retrieval_id,
    )


async def answer(call: Call, body: AnswerIn) -> AnswerOut:
    """Retrieve, answer with the LLM from the evidence, audit the answer, and fall back to
    Full Deliberation when the audit fails. Conflict when no LLM is configured."""
    check_query(call, "question", body.question)
    components = call.components
    filters = from_body(body.filters)
    query = SearchQuery(
        text=body.question,
        scope=filters.scope_within(body.scope()),
        limit=body.limit,
        filters=filters.where,
    )
    result = await answer_question(
        call.uow,
        components.llm,
        call.tenant,
        query,
        components.pipeline(body.preset),
        now=body.now or datetime.now(UTC),
        budget=components.budget(),
    )
    return AnswerOut(
        answer=result.answer,
        route=result.search.route,
        retrieval_id=result.search.retrieval_id,
        evidence=[SearchHitOut.of(h) for h in result.search.hits],
        gate=dict(result.search.gate) if result.search.gate else None,
        audit=result.audit.model_dump() if result.audit else None,
        attempts=result.attempts,
        cost=result.cost,
    )


async def give_feedback(
    call: Call, body: FeedbackIn, *, idempotency_key: str | None = None
) -> FeedbackOut:
    """``Q <- Q + 0.3 (reward - Q)`` for each credited item, once per feedback id (the
    body's, else the idempotency key)."""
    feedback_id = feedback.feedback_id_for(call.tenant, body.feedback_id or idempotency_key)
    result = await feedback.give_feedback(
        call.uow,
        call.tenant,
        body.retrieval_id,
        body.reward,
        feedback_id=feedback_id,
        item_ids=body.memory_ids,
    )
    return FeedbackOut(
        feedback_id=result.feedback_id, applied=result.applied, utilities=result.utilities
    )

"""POST /v1/answer and POST /v1/context."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from memory_service.adapters.tokens import count_tokens
from memory_service.api.deps import ComponentsDep, TenantDep, UowDep, utcnow
from memory_service.api.errors import error_responses
from memory_service.api.schemas import (
    ContextOut,
    ScopeFields,
    SearchHitOut,
    Text,
    _non_blank,
    as_utc,
)
from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import SearchQuery
from memory_service.services.answer import answer_question
from memory_service.services.context import build_context
from policies.recipes import preset

router = APIRouter(prefix="/v1", tags=["answer"])


class AnswerIn(ScopeFields):
    question: Text
    limit: int = Field(default=10, ge=1, le=100)
    now: datetime | None = None
    preset: str | None = None

    _blank = field_validator("question")(_non_blank)
    _utc = field_validator("now")(as_utc)


class AnswerOut(BaseModel):
    answer: str
    route: Literal["fast", "deliberate"]
    retrieval_id: UUID
    evidence: list[SearchHitOut]
    gate: dict[str, Any] | None
    audit: dict[str, Any] | None
    attempts: list[dict[str, Any]]
    cost: dict[str, float]


class ContextIn(ScopeFields):
    query: str | None = Field(default=None, max_length=8000)
    token_budget: int = Field(default=1000, ge=50, le=100_000)
    now: datetime | None = None

    _utc = field_validator("now")(as_utc)


@router.post("/answer", response_model=AnswerOut, responses=error_responses(401, 409, 422))
async def answer(
    body: AnswerIn, uow: UowDep, tenant: TenantDep, components: ComponentsDep
) -> AnswerOut:
    """Retrieve, answer with the LLM from the evidence, audit the answer, and fall back to
    Full Deliberation when the audit fails. 409 when no LLM is configured."""
    scope = body.scope()
    if scope.is_empty():
        raise InvalidInput({"scope": "give at least one of user_id, agent_id, session_id"})
    query = SearchQuery(text=body.question, scope=scope, limit=body.limit)
    options = components.recall_options(now=body.now or utcnow())
    result = await answer_question(
        uow,
        components.embedder,
        components.llm,
        tenant,
        query,
        preset(body.preset or components.settings.default_preset),
        options,
    )
    return AnswerOut(
        answer=result.answer,
        route="deliberate" if result.search.route == "deliberate" else "fast",
        retrieval_id=result.search.retrieval_id,
        evidence=[SearchHitOut.of(h) for h in result.search.hits],
        gate=dict(result.search.gate) if result.search.gate else None,
        audit=result.audit.model_dump() if result.audit else None,
        attempts=result.attempts,
        cost=result.cost,
    )


@router.post("/context", response_model=ContextOut, responses=error_responses(401, 422))
async def context(
    body: ContextIn, uow: UowDep, tenant: TenantDep, components: ComponentsDep
) -> ContextOut:
    """A ready-to-paste context block packed to ``token_budget`` in rank order, with the
    ids it used (send them back with feedback to credit them)."""
    scope = body.scope()
    if scope.is_empty():
        raise InvalidInput({"scope": "give at least one of user_id, agent_id, session_id"})
    block = build_context(
        uow,
        components.embedder,
        tenant,
        scope,
        query=body.query if body.query and body.query.strip() else None,
        token_budget=body.token_budget,
        config=preset(components.settings.default_preset),
        count=count_tokens,
        now=body.now or utcnow(),
    )
    built = await block
    return ContextOut(
        context=built.text,
        tokens=built.tokens,
        memory_ids=built.memory_ids,
        episode_ids=built.episode_ids,
        entities=built.entities,
        retrieval_id=built.retrieval_id,
    )

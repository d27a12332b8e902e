"""POST /v1/answer and POST /v1/context."""

from __future__ import annotations

from fastapi import APIRouter

from memory_service.api.deps import ReadCallDep
from memory_service.api.errors import error_responses
from memory_service.requests import retrieval
from memory_service.requests.inputs import AnswerIn, ContextIn
from memory_service.requests.outputs import AnswerOut, ContextOut

router = APIRouter(prefix="/v1", tags=["answer"])


@router.post("/answer", response_model=AnswerOut, responses=error_responses(401, 409, 422))
async def answer(body: AnswerIn, call: ReadCallDep) -> AnswerOut:
    """Retrieve, answer with the LLM from the evidence, audit the answer, and fall back to
    Full Deliberation when the audit fails. 409 when no LLM is configured."""
    return await retrieval.answer(call, body)


@router.post("/context", response_model=ContextOut, responses=error_responses(401, 422))
async def context(body: ContextIn, call: ReadCallDep) -> ContextOut:
    """A ready-to-paste context block packed to ``token_budget`` in rank order, with the
    ids it used (send them back with feedback to credit them)."""
    return await retrieval.context(call, body)

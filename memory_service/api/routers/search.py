"""POST /v1/search: the read path."""

from __future__ import annotations

from fastapi import APIRouter

from memory_service.api.deps import ReadCallDep
from memory_service.api.errors import error_responses
from memory_service.requests import retrieval
from memory_service.requests.inputs import SearchIn
from memory_service.requests.outputs import SearchOut

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", response_model=SearchOut, responses=error_responses(401, 413, 422))
async def search(body: SearchIn, call: ReadCallDep) -> SearchOut:
    """Hybrid search (vector + full text over episodes and memories, fused by RRF)."""
    return await retrieval.search(call, body)

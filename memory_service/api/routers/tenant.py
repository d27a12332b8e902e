"""GET /v1/whoami: which tenant the caller's API key belongs to."""

from __future__ import annotations

from fastapi import APIRouter

from memory_service.api.deps import KeyDep
from memory_service.api.errors import error_responses
from memory_service.requests.outputs import WhoAmIOut

router = APIRouter(prefix="/v1", tags=["tenant"])


@router.get("/whoami", response_model=WhoAmIOut, responses=error_responses(401))
async def whoami(key: KeyDep) -> WhoAmIOut:
    """The tenant and the key a request is made as: a cheap check of a key (401 with the
    reason when it is malformed, unknown or revoked)."""
    return WhoAmIOut.of(key)

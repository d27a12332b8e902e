"""POST /v1/search: the read path."""

from __future__ import annotations

from fastapi import APIRouter

from memory_service.api.deps import ComponentsDep, TenantDep, UowDep
from memory_service.api.errors import error_responses
from memory_service.api.schemas import SearchHitOut, SearchIn, SearchOut
from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import SearchQuery
from memory_service.services import recall
from policies.recipes import preset

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", response_model=SearchOut, responses=error_responses(401, 413, 422))
async def search(
    body: SearchIn, uow: UowDep, tenant: TenantDep, components: ComponentsDep
) -> SearchOut:
    """Hybrid search (vector + full text over episodes and memories, fused by RRF)."""
    settings = components.settings
    if body.limit > settings.max_limit:
        raise InvalidInput({"limit": f"at most {settings.max_limit}"})
    if body.since and body.until and body.until <= body.since:
        raise InvalidInput({"until": "until must be after since"})
    config = preset(body.preset or settings.default_preset)
    query = SearchQuery(
        text=body.query,
        scope=body.scope(),
        limit=body.limit,
        since=body.since,
        until=body.until,
        kinds=tuple(dict.fromkeys(body.kinds)),
    )
    options = components.recall_options(
        mode=body.mode, now=body.now, max_tokens=body.budget_tokens, max_seconds=body.budget_seconds
    )
    result = await recall.search(uow, components.embedder, tenant, query, config, options=options)
    return SearchOut(
        retrieval_id=result.retrieval_id,
        route="deliberate" if result.route == "deliberate" else "fast",
        gate=dict(result.gate) if result.gate else None,
        results=[SearchHitOut.of(h) for h in result.hits],
        timings_ms=dict(result.timings_ms),
        cost=dict(result.cost),
    )

"""Whole-scope operations: forgetting a user, the hypergraph, export and import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from memory_service.bootstrap import Components
from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import Scope
from memory_service.requests import imports
from memory_service.requests.call import Call
from memory_service.requests.outputs import ForgetOut, ImportCounts, ImportOut
from memory_service.services import forget, hypergraph, spaces, transfer


async def forget_user(call: Call, user_id: str) -> ForgetOut:
    """Delete every episode, memory, entity, log and job of ``user_id``, atomically."""
    return ForgetOut(
        user_id=user_id, deleted=await forget.forget_user(call.uow, call.tenant, user_id)
    )


GRAPH_KINDS: dict[str, tuple[str, ...]] = {
    "all": ("memory", "episode"),
    "memory": ("memory",),
    "episode": ("episode",),
}
"""The hyperedges an export's ``kinds`` asks for."""


async def export_graph(
    call: Call, scope: Scope, *, kinds: str = "all", max_edges: int | None = None
) -> dict[str, Any]:
    """Entities (vertices), hyperedges (memories and episodes with their members, of
    ``kinds``: ``memory``, ``episode`` or ``all``; at most ``max_edges``) and connected
    components of one scope, which must name an owner."""
    if kinds not in GRAPH_KINDS:
        raise InvalidInput({"kinds": f"one of {', '.join(GRAPH_KINDS)}"})
    if max_edges is not None and max_edges < 1:
        raise InvalidInput({"max_edges": "at least 1"})
    return await hypergraph.export_graph(
        call.uow, call.tenant, scope.require(), kinds=GRAPH_KINDS[kinds], max_edges=max_edges
    )


async def export_lines(components: Components, tenant: UUID, scope: Scope) -> AsyncIterator[str]:
    """The tenant's (an empty scope) or one scope's records as JSON Lines, read from one
    snapshot: its own unit of work, open while the lines are consumed."""
    async with components.uow(tenant=tenant) as uow:
        async for line in transfer.export_lines(uow.transfer, tenant, scope):
            yield line


async def import_lines(call: Call, body: bytes) -> ImportOut:
    """Load an export (UTF-8 JSON Lines): every line is validated first, each field as
    the REST API validates it (:mod:`memory_service.requests.imports`), then all are
    stored in the call's transaction; rows already present (same id) are skipped."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput({"body": "not UTF-8 text"}) from exc
    limit = call.components.settings.max_text_chars
    embedder = call.components.embedder
    grouped = imports.parse_lines(text.split("\n"), max_text_chars=limit, dim=embedder.dim)
    if not any(grouped.values()):
        raise InvalidInput({"body": "no records to import"})
    # The vectors imported join the tenant's: taken to be this service's embedder's.
    await spaces.require_space(call.uow, call.tenant, embedder, write=True)
    counts = await transfer.import_records(call.uow.transfer, call.tenant, grouped)
    return ImportOut(imported={k: ImportCounts(**v) for k, v in counts.items()})

"""Export to JSON Lines and import from it, idempotently (ids are kept)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import Scope
from memory_service.ports import TransferRepository

FORMAT = "memory-service/export"
VERSION = 1
ORDER = ("episode", "memory", "history", "entity", "membership")
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "history": (("memory_id", "memory"),),
    "entity": (("merged_into", "entity"),),
    "membership": (("entity_id", "entity"), ("memory_id", "memory"), ("episode_id", "episode")),
}
"""Per kind of record: its fields that name another row, and that row's kind."""


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One validated line of an import: its number (for errors) and its column values."""

    line: int
    values: dict[str, Any]


async def export_lines(repo: TransferRepository, tenant: UUID, scope: Scope) -> AsyncIterator[str]:
    """A header line, then one JSON object per row (episodes, memories with their history,
    entities with their memberships)."""
    parts = {"user_id": scope.user_id, "agent_id": scope.agent_id, "session_id": scope.session_id}
    header = {"type": "header", "format": FORMAT, "version": VERSION, "scope": parts}
    yield json.dumps(header) + "\n"
    async for record in repo.export(tenant, scope):
        yield json.dumps(record) + "\n"


async def import_records(
    repo: TransferRepository, tenant: UUID, grouped: dict[str, list[ImportRow]]
) -> dict[str, dict[str, int]]:
    """Store parents before children; rows already present are skipped (idempotent).

    Every id a row points at must name a row of this tenant, one it had or one this
    import stored, else the whole import is a 422 (the caller's transaction rolls back).
    Foreign keys alone would not do: they name the tenant (``(tenant_id, memory_id)``),
    so they refuse another tenant's row too, but as an error of the whole statement,
    not a 422 naming the line. This answer is the same for another tenant's id and an
    id nobody holds; ids are per tenant, so a row whose id another tenant holds is
    added as a fresh one is."""
    summary: dict[str, dict[str, int]] = {}
    for kind in ORDER:
        rows = grouped.get(kind, [])
        values = [dict(r.values) for r in rows]
        merged = {v["id"]: v.pop("merged_into") for v in values if "merged_into" in v}
        if kind != "entity":  # an entity's merged_into may name one stored just below
            await _check_references(repo, tenant, rows, REFERENCES.get(kind, ()))
        added = 0
        for start in range(0, len(values), 500):
            added += await repo.load(tenant, kind, values[start : start + 500])
        if merged:
            await _check_references(repo, tenant, rows, REFERENCES[kind])
            await repo.set_merged(tenant, merged)
        summary[kind] = {"received": len(rows), "added": added, "skipped": len(rows) - added}
    return summary


async def _check_references(
    repo: TransferRepository,
    tenant: UUID,
    rows: Sequence[ImportRow],
    references: Sequence[tuple[str, str]],
) -> None:
    """422 naming the first line (and field) whose reference is not a row of ``tenant``."""
    found: dict[str, set[UUID]] = {}
    for field, kind in references:
        wanted = {r.values[field] for r in rows if r.values.get(field) is not None}
        if wanted:
            found[field] = await repo.existing(tenant, kind, wanted)
    if not found:
        return
    for row in rows:
        for field, kind in references:
            target = row.values.get(field)
            if target is not None and target not in found[field]:
                raise InvalidInput(
                    {
                        "line": row.line,
                        "field": field,
                        "error": f"no {kind} {target} in this tenant or this import",
                    }
                )

"""Export to JSON Lines and import from it, idempotently (ids are kept)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import Scope
from memory_service.domain.text import refuse_nul
from memory_service.ports import TransferRepository

FORMAT = "memory-service/export"
VERSION = 1
Finite = Annotated[float, Field(allow_inf_nan=False)]
"""JSON Lines may say NaN or Infinity; a vector column refuses them, and a utility of
NaN would make every later answer that shows it unencodable."""
Vector = list[Finite]
ScopePart = Annotated[str, Field(max_length=128)]
Label = Annotated[str, Field(max_length=32)]
"""Lengths are the columns' own: a longer value is a 422 naming its line, not a 500."""


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: UUID

    # PostgreSQL text and jsonb cannot hold NUL (U+0000): refused in any field.
    _nul_free = field_validator("*")(refuse_nul)


class _Scoped(_Row):
    user_id: ScopePart | None = None
    agent_id: ScopePart | None = None
    session_id: ScopePart | None = None
    created_at: datetime | None = None


class EpisodeRecord(_Scoped):
    type: Literal["episode"]
    role: Label
    speaker: ScopePart | None = None
    text: str = Field(min_length=1)
    occurred_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)
    embedding: Vector = Field(min_length=384, max_length=384)
    utility: Finite = 0.0


class MemoryRecord(_Scoped):
    type: Literal["memory"]
    text: str = Field(min_length=1)
    metadata: dict[str, Any] = Field(default_factory=dict)
    source_episode_ids: list[UUID] = Field(default_factory=list)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    status: Literal["active", "superseded", "deleted"] = "active"
    embedding: Vector = Field(min_length=384, max_length=384)
    utility: Finite = 0.0
    updated_at: datetime | None = None


class HistoryRecord(_Row):
    type: Literal["history"]
    memory_id: UUID
    op: Literal["ADD", "UPDATE", "DELETE"]
    old_text: str | None = None
    new_text: str | None = None
    cause: str
    created_at: datetime | None = None


class EntityRecord(_Scoped):
    type: Literal["entity"]
    name: str = Field(min_length=1)
    entity_type: Label = "other"
    aliases: list[str] = Field(default_factory=list)
    embedding: Vector | None = None
    merged_into: UUID | None = None
    updated_at: datetime | None = None


class MembershipRecord(_Row):
    type: Literal["membership"]
    entity_id: UUID
    memory_id: UUID | None = None
    episode_id: UUID | None = None
    role: Label = "mention"
    created_at: datetime | None = None

    @model_validator(mode="after")
    def _one_edge(self) -> MembershipRecord:
        if (self.memory_id is None) == (self.episode_id is None):
            raise ValueError("give exactly one of memory_id and episode_id")
        return self


MODELS: dict[str, type[BaseModel]] = {
    "episode": EpisodeRecord,
    "memory": MemoryRecord,
    "history": HistoryRecord,
    "entity": EntityRecord,
    "membership": MembershipRecord,
}
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


def parse_lines(lines: Iterable[str]) -> dict[str, list[ImportRow]]:
    """Validate every line before anything is stored; the first bad one is a 422 that
    names its line number."""
    grouped: dict[str, list[ImportRow]] = {kind: [] for kind in ORDER}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput({"line": number, "error": f"not JSON: {exc.msg}"}) from exc
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind == "header":
            if raw.get("format") != FORMAT or raw.get("version") != VERSION:
                raise InvalidInput({"line": number, "error": "unknown export format or version"})
            continue
        if kind not in MODELS:
            raise InvalidInput({"line": number, "error": f"unknown record type {kind!r}"})
        try:
            model = MODELS[kind].model_validate(raw)
        except ValidationError as exc:
            errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
            raise InvalidInput({"line": number, "errors": errors}) from exc
        values = model.model_dump(exclude={"type"}, exclude_none=True)
        grouped[kind].append(ImportRow(number, values))
    return grouped


async def import_records(
    repo: TransferRepository, tenant: UUID, grouped: dict[str, list[ImportRow]]
) -> dict[str, dict[str, int]]:
    """Store parents before children; rows already present are skipped (idempotent).

    Every id a row points at must name a row of this tenant, one it had or one this
    import stored, else the whole import is a 422 (the caller's transaction rolls back).
    Foreign keys alone would not do: they ignore row-level security, so they would tie
    a row to another tenant's, and answer differently for an id that another tenant
    holds and one that nobody does. This answer is the same for both."""
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

"""Export to JSON Lines and import from it, idempotently (ids are kept)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import Scope
from memory_service.ports import TransferRepository

FORMAT = "memory-service/export"
VERSION = 1
Vector = list[float]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: UUID


class _Scoped(_Row):
    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    created_at: datetime | None = None


class EpisodeRecord(_Scoped):
    type: Literal["episode"]
    role: str
    speaker: str | None = None
    text: str = Field(min_length=1)
    occurred_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)
    embedding: Vector = Field(min_length=384, max_length=384)
    utility: float = 0.0


class MemoryRecord(_Scoped):
    type: Literal["memory"]
    text: str = Field(min_length=1)
    metadata: dict[str, Any] = Field(default_factory=dict)
    source_episode_ids: list[UUID] = Field(default_factory=list)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    status: Literal["active", "superseded", "deleted"] = "active"
    embedding: Vector = Field(min_length=384, max_length=384)
    utility: float = 0.0
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
    entity_type: str = "other"
    aliases: list[str] = Field(default_factory=list)
    embedding: Vector | None = None
    merged_into: UUID | None = None
    updated_at: datetime | None = None


class MembershipRecord(_Row):
    type: Literal["membership"]
    entity_id: UUID
    memory_id: UUID | None = None
    episode_id: UUID | None = None
    role: str = "mention"
    created_at: datetime | None = None


MODELS: dict[str, type[BaseModel]] = {
    "episode": EpisodeRecord,
    "memory": MemoryRecord,
    "history": HistoryRecord,
    "entity": EntityRecord,
    "membership": MembershipRecord,
}
ORDER = ("episode", "memory", "history", "entity", "membership")


async def export_lines(repo: TransferRepository, tenant: UUID, scope: Scope) -> AsyncIterator[str]:
    """A header line, then one JSON object per row (episodes, memories with their history,
    entities with their memberships)."""
    parts = {"user_id": scope.user_id, "agent_id": scope.agent_id, "session_id": scope.session_id}
    header = {"type": "header", "format": FORMAT, "version": VERSION, "scope": parts}
    yield json.dumps(header) + "\n"
    async for record in repo.export(tenant, scope):
        yield json.dumps(record) + "\n"


def parse_lines(lines: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Validate every line before anything is stored; the first bad one is a 422 that
    names its line number."""
    grouped: dict[str, list[dict[str, Any]]] = {kind: [] for kind in ORDER}
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
        grouped[kind].append(model.model_dump(exclude={"type"}, exclude_none=True))
    return grouped


async def import_records(
    repo: TransferRepository, tenant: UUID, grouped: dict[str, list[dict[str, Any]]]
) -> dict[str, dict[str, int]]:
    """Store parents before children; rows already present are skipped (idempotent)."""
    summary: dict[str, dict[str, int]] = {}
    for kind in ORDER:
        rows = grouped.get(kind, [])
        merged = {r["id"]: r.pop("merged_into") for r in rows if "merged_into" in r}
        added = 0
        for start in range(0, len(rows), 500):
            added += await repo.load(tenant, kind, rows[start : start + 500])
        if merged:
            await repo.set_merged(tenant, merged)
        summary[kind] = {"received": len(rows), "added": added, "skipped": len(rows) - added}
    return summary

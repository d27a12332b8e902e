"""Export and import of a tenant's rows in memory, with the record format of
``memory_service.db.transfer`` (the same keys; ``tenant_id``, ``tsv`` and ``seq`` are
never exported, an entity's ``type`` travels as ``entity_type``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from memory_service.domain.errors import InvalidInput, NotFound
from memory_service.domain.models import Entity, Episode, Memory, MemoryChange, Scope
from memory_service.fake_store._tables import (
    EntityRow,
    EpisodeRow,
    FakeStore,
    HistoryRow,
    Key,
    MemberRow,
    MemoryRow,
    in_scope,
)

KINDS = ("episode", "memory", "history", "entity", "membership")


def _plain(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _opt_uuid(value: Any) -> UUID | None:
    return None if value is None else _uuid(value)


def _time(value: Any, default: datetime | None = None) -> Any:
    if value is None:
        return default
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _scope(row: Mapping[str, Any]) -> Scope:
    return Scope(row.get("user_id"), row.get("agent_id"), row.get("session_id"))


def _scoped(kind: str, scope: Scope, **columns: Any) -> dict[str, Any]:
    parts = {"user_id": scope.user_id, "agent_id": scope.agent_id, "session_id": scope.session_id}
    first = {"id": columns.pop("id")}
    return {"type": kind, **{k: _plain(v) for k, v in {**first, **parts, **columns}.items()}}


def episode_record(r: EpisodeRow) -> dict[str, Any]:
    e = r.episode
    return _scoped(
        "episode", e.scope, id=e.id, role=e.role, speaker=e.speaker, text=e.text,
        occurred_at=e.occurred_at, created_at=e.created_at, metadata=dict(e.metadata),
        embedding=list(r.vector), utility=e.utility,
    )  # fmt: skip


def memory_record(r: MemoryRow) -> dict[str, Any]:
    m = r.memory
    return _scoped(
        "memory", m.scope, id=m.id, text=m.text, metadata=dict(m.metadata),
        source_episode_ids=list(m.source_episode_ids), valid_from=m.valid_from,
        valid_to=m.valid_to, status=m.status, embedding=list(r.vector), utility=m.utility,
        created_at=m.created_at, updated_at=m.updated_at,
    )  # fmt: skip


def entity_record(r: EntityRow) -> dict[str, Any]:
    e = r.entity
    return _scoped(
        "entity", e.scope, id=e.id, name=e.name, entity_type=e.type, aliases=list(e.aliases),
        embedding=list(r.vector) if r.vector is not None else None, merged_into=r.merged_into,
        created_at=r.created_at, updated_at=r.updated_at,
    )  # fmt: skip


def history_record(h: HistoryRow) -> dict[str, Any]:
    c = h.change
    columns = {"id": c.id, "memory_id": c.memory_id, "op": c.op, "old_text": c.old_text,
               "new_text": c.new_text, "cause": c.cause, "created_at": c.created_at}  # fmt: skip
    return {"type": "history", **{k: _plain(v) for k, v in columns.items()}}


def member_record(m: MemberRow) -> dict[str, Any]:
    columns = {"id": m.id, "entity_id": m.entity_id, "memory_id": m.memory_id,
               "episode_id": m.episode_id, "role": m.role, "created_at": m.created_at}  # fmt: skip
    return {"type": "membership", **{k: _plain(v) for k, v in columns.items()}}


class FakeTransfer:
    """Rows whose id exists in the importing tenant are skipped on load, as ``ON
    CONFLICT DO NOTHING`` skips them (keys are ``(tenant, id)``: another tenant's row of
    the same id is no conflict); a row naming a parent that is not the tenant's is
    NotFound (where a foreign key, ``(tenant_id, parent_id)``, raises an IntegrityError)."""

    def __init__(self, store: FakeStore, now: datetime) -> None:
        self._db = store
        self._now = now

    async def export(self, tenant: UUID, scope: Scope) -> AsyncIterator[dict[str, Any]]:
        """Every row of the scope (the whole tenant when the scope is empty), parents
        first: episodes in time order (turns of one instant in the order written), the
        other kinds in id order; a memory's history and an entity's memberships follow
        it."""
        db = self._db
        for e in sorted(db.episodes.values(), key=lambda r: (r.episode.occurred_at, r.seq)):
            if in_scope(e.tenant, e.episode.scope, tenant, scope):
                yield episode_record(e)
        for m in sorted(db.memories.values(), key=lambda r: r.memory.id):
            if in_scope(m.tenant, m.memory.scope, tenant, scope):
                yield memory_record(m)
                changes = [
                    h
                    for h in db.history.values()
                    if h.tenant == m.tenant and h.change.memory_id == m.memory.id
                ]
                for h in sorted(changes, key=lambda h: h.seq):
                    yield history_record(h)
        for n in sorted(db.entities.values(), key=lambda r: r.entity.id):
            if in_scope(n.tenant, n.entity.scope, tenant, scope):
                yield entity_record(n)
                members = [
                    x
                    for x in db.members.values()
                    if x.tenant == n.tenant and x.entity_id == n.entity.id
                ]
                for x in sorted(members, key=lambda x: (x.created_at, x.seq)):
                    yield member_record(x)

    async def load(self, tenant: UUID, kind: str, rows: Sequence[Mapping[str, Any]]) -> int:
        """Insert rows of one kind into ``tenant``; rows whose id exists in ``tenant`` are
        skipped, so loading the same rows twice changes nothing. Returns how many were new."""
        table = self._table(kind)
        added = 0
        for row in rows:
            row_id = _uuid(row["id"])
            if (tenant, row_id) in table or not self._insert(tenant, kind, row_id, row):
                continue
            added += 1
        return added

    def _insert(self, tenant: UUID, kind: str, row_id: UUID, row: Mapping[str, Any]) -> bool:
        db, now = self._db, self._now
        if kind == "episode":
            episode = Episode(
                row_id, _scope(row), row["role"], row.get("speaker"), row["text"],
                _time(row["occurred_at"]), _time(row.get("created_at"), now),
                dict(row.get("metadata", {})), float(row.get("utility", 0.0)),
            )  # fmt: skip
            db.episodes[(tenant, row_id)] = EpisodeRow(
                tenant, db.next_seq(), episode, tuple(row["embedding"])
            )
        elif kind == "memory":
            memory = Memory(
                row_id, _scope(row), row["text"], dict(row.get("metadata", {})),
                tuple(_uuid(i) for i in row.get("source_episode_ids", ())),
                _time(row.get("valid_from")), _time(row.get("valid_to")),
                row.get("status", "active"), float(row.get("utility", 0.0)),
                _time(row.get("created_at"), now), _time(row.get("updated_at"), now),
            )  # fmt: skip
            db.memories[(tenant, row_id)] = MemoryRow(tenant, memory, tuple(row["embedding"]))
        elif kind == "history":
            memory_id = self._parent(db.memories, "memory", tenant, row["memory_id"])
            change = MemoryChange(
                row_id, memory_id, row["op"], row.get("old_text"), row.get("new_text"),
                row["cause"], _time(row.get("created_at"), now),
            )  # fmt: skip
            db.history[(tenant, row_id)] = HistoryRow(tenant, db.next_seq(), change)
        elif kind == "entity":
            self._insert_entity(tenant, row_id, row)
        else:
            return self._insert_member(tenant, row_id, row)
        return True

    def _insert_entity(self, tenant: UUID, row_id: UUID, row: Mapping[str, Any]) -> None:
        db, now = self._db, self._now
        name = row["name"]
        entity = Entity(
            row_id, _scope(row), name, row.get("entity_type", row.get("type", "other")),
            tuple(row.get("aliases", ())),
        )  # fmt: skip
        vector = row.get("embedding")
        merged = _opt_uuid(row.get("merged_into"))
        if merged is not None:
            self._parent(db.entities, "entity", tenant, merged)
        db.entities[(tenant, row_id)] = EntityRow(
            tenant, db.next_seq(), entity, tuple(vector) if vector is not None else None, merged,
            _time(row.get("created_at"), now), _time(row.get("updated_at"), now),
        )  # fmt: skip

    def _insert_member(self, tenant: UUID, row_id: UUID, row: Mapping[str, Any]) -> bool:
        """A membership, unless the same (edge, entity, role) exists (its unique index)."""
        db = self._db
        entity_id = self._parent(db.entities, "entity", tenant, row["entity_id"])
        memory_id, episode_id = _opt_uuid(row.get("memory_id")), _opt_uuid(row.get("episode_id"))
        if (memory_id is None) == (episode_id is None):
            raise InvalidInput({"membership": "give exactly one of memory_id and episode_id"})
        if memory_id is not None:
            self._parent(db.memories, "memory", tenant, memory_id)
        else:
            self._parent(db.episodes, "episode", tenant, episode_id)
        role = row.get("role", "mention")
        for m in db.members.values():
            same_edge = (m.memory_id, m.episode_id) == (memory_id, episode_id)
            if m.tenant == tenant and same_edge and m.entity_id == entity_id and m.role == role:
                return False
        created = _time(row.get("created_at"), self._now)
        db.members[(tenant, row_id)] = MemberRow(
            row_id, tenant, db.next_seq(), entity_id, memory_id, episode_id, role, created
        )
        return True

    def _parent(self, table: Mapping[Key, object], kind: str, tenant: UUID, value: Any) -> UUID:
        parent = _uuid(value)
        if (tenant, parent) not in table:
            raise NotFound(f"{kind} {parent} not found")
        return parent

    async def set_merged(self, tenant: UUID, merged: Mapping[UUID, UUID | None]) -> None:
        """Point merged entities of ``tenant`` at their survivors."""
        for entity_id, target in merged.items():
            row = self._db.entities.get((tenant, entity_id))
            if row is not None:
                if target is not None:
                    self._parent(self._db.entities, "entity", tenant, target)
                row.merged_into = target

    async def existing(self, tenant: UUID, kind: str, ids: Collection[UUID]) -> set[UUID]:
        """Those of ``ids`` that are rows of ``kind`` in ``tenant`` (never another's)."""
        table = self._table(kind)
        return {i for i in ids if (tenant, i) in table}

    def _table(self, kind: str) -> Mapping[Key, object]:
        db = self._db
        tables: dict[str, Mapping[Key, object]] = {
            "episode": db.episodes, "memory": db.memories, "history": db.history,
            "entity": db.entities, "membership": db.members,
        }  # fmt: skip
        if kind not in tables:
            raise InvalidInput({"type": f"unknown record type {kind!r}"})
        return tables[kind]

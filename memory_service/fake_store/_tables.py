"""The fake's tables: one in-memory "database" that many units of work share.

Rows mirror the SQL tables' columns the repositories read; the cascades mirror the
foreign keys' ``ON DELETE`` clauses. Ids come from a seeded generator, so the same
calls give the same ids run after run.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from memory_service.domain.errors import InvalidInput
from memory_service.domain.models import ApiKey, Entity, Episode, Job, Memory, MemoryChange, Scope
from memory_service.domain.spaces import EmbeddingSpace

Clock = Callable[[], datetime]
T = TypeVar("T")
Key = tuple[UUID, UUID]
"""``(tenant, id)``: the key of every tenant-owned table but jobs, as in SQL (ids are
unique per tenant; two tenants may hold rows of the same id)."""


@dataclass(slots=True)
class EpisodeRow:
    tenant: UUID
    seq: int
    episode: Episode
    vector: tuple[float, ...]
    sparse: dict[int, float] | None = None


@dataclass(slots=True)
class MemoryRow:
    tenant: UUID
    memory: Memory
    vector: tuple[float, ...]


@dataclass(slots=True)
class HistoryRow:
    tenant: UUID
    seq: int
    change: MemoryChange


@dataclass(slots=True)
class EntityRow:
    tenant: UUID
    seq: int
    entity: Entity
    vector: tuple[float, ...] | None
    merged_into: UUID | None
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class MemberRow:
    """One membership: exactly one of ``memory_id`` and ``episode_id`` is set."""

    id: UUID
    tenant: UUID
    seq: int
    entity_id: UUID
    memory_id: UUID | None
    episode_id: UUID | None
    role: str
    created_at: datetime


@dataclass(slots=True)
class JobRow:
    seq: int
    job: Job
    run_after: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(slots=True)
class RetrievalRow:
    id: UUID
    tenant: UUID
    scope: Scope
    query: str
    request: dict[str, Any]
    stages: dict[str, Any]
    gate: dict[str, Any] | None
    route: str
    results: list[dict[str, Any]]
    created_at: datetime


@dataclass(slots=True)
class FeedbackRow:
    id: UUID
    tenant: UUID
    retrieval_id: UUID
    reward: float
    item_ids: list[UUID]
    created_at: datetime


@dataclass(slots=True)
class IdempotencyRow:
    request_hash: str
    response: dict[str, Any]
    user_id: str | None
    created_at: datetime


@dataclass(slots=True)
class KeyRow:
    seq: int
    key: ApiKey
    """``tenant_name`` is read from the tenants table whenever the key is returned."""
    key_hash: str


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(eq=False, repr=False)
class FakeStore:
    """Every table of one fake database. ``seed`` fixes the ids handed out; ``clock``
    gives each unit of work its ``now`` (PostgreSQL's ``now()`` is the transaction's
    start, so every row one unit of work writes carries the same time)."""

    seed: int = 0
    clock: Clock = _utc_now
    episodes: dict[Key, EpisodeRow] = field(default_factory=dict)
    memories: dict[Key, MemoryRow] = field(default_factory=dict)
    history: dict[Key, HistoryRow] = field(default_factory=dict)
    entities: dict[Key, EntityRow] = field(default_factory=dict)
    members: dict[Key, MemberRow] = field(default_factory=dict)
    jobs: dict[UUID, JobRow] = field(default_factory=dict)
    retrievals: dict[Key, RetrievalRow] = field(default_factory=dict)
    feedback: dict[Key, FeedbackRow] = field(default_factory=dict)
    idempotency: dict[tuple[UUID, str], IdempotencyRow] = field(default_factory=dict)
    tenants: dict[UUID, str] = field(default_factory=dict)
    instructions: dict[UUID, str] = field(default_factory=dict)
    spaces: dict[UUID, EmbeddingSpace] = field(default_factory=dict)
    keys: dict[UUID, KeyRow] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    _ids: random.Random = field(init=False, repr=False)
    _seq: itertools.count[int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._ids = random.Random(self.seed)
        self._seq = itertools.count(1)

    def new_id(self) -> UUID:
        """A version-4 UUID from the seeded generator."""
        return UUID(int=self._ids.getrandbits(128), version=4)

    def next_seq(self) -> int:
        """One sequence shared by every table (only the order matters)."""
        return next(self._seq)

    def drop_members(self, keep: Callable[[MemberRow], bool]) -> None:
        self.members = {i: m for i, m in self.members.items() if keep(m)}

    def delete_episodes(self, keys: Iterable[Key]) -> int:
        """Delete episodes; their memberships go with them (ON DELETE CASCADE)."""
        gone = {k for k in keys if self.episodes.pop(k, None) is not None}
        self.drop_members(lambda m: (m.tenant, m.episode_id) not in gone)
        return len(gone)

    def delete_memories(self, keys: Iterable[Key]) -> int:
        """Delete memories with their history and memberships (ON DELETE CASCADE)."""
        gone = {k for k in keys if self.memories.pop(k, None) is not None}
        self.history = {
            k: h for k, h in self.history.items() if (h.tenant, h.change.memory_id) not in gone
        }
        self.drop_members(lambda m: (m.tenant, m.memory_id) not in gone)
        return len(gone)

    def delete_entities(self, keys: Iterable[Key]) -> int:
        """Delete entities: memberships cascade, ``merged_into`` pointing at them is
        set to NULL."""
        gone = {k for k in keys if self.entities.pop(k, None) is not None}
        self.drop_members(lambda m: (m.tenant, m.entity_id) not in gone)
        for row in self.entities.values():
            if (row.tenant, row.merged_into) in gone:
                row.merged_into = None
        return len(gone)

    def delete_retrievals(self, keys: Iterable[Key]) -> int:
        """Delete logged retrievals; the feedback on them goes too (ON DELETE CASCADE)."""
        gone = {k for k in keys if self.retrievals.pop(k, None) is not None}
        self.feedback = {
            k: f for k, f in self.feedback.items() if (f.tenant, f.retrieval_id) not in gone
        }
        return len(gone)


class HeldLocks:
    """The locks (advisory and row locks) of one unit of work. While it is ``open`` (a
    transaction) each lock it takes is held until it is closed, as PostgreSQL holds
    them until the transaction ends; taking one twice is free. Otherwise a lock is let
    go as soon as it is taken (it still waits for its holder)."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self._held: list[str] = []
        self.open = False

    async def take(self, key: str) -> None:
        if key in self._held:
            return
        lock = self._store.locks.setdefault(key, asyncio.Lock())
        await lock.acquire()
        self._held.append(key)
        if not self.open:
            self.release()

    def release(self) -> None:
        """Let go of every lock held."""
        while self._held:
            self._store.locks[self._held.pop()].release()


def in_scope(row_tenant: UUID, row_scope: Scope, tenant: UUID, scope: Scope) -> bool:
    """``scope_filters``: the tenant matches, and each scope part that is given."""
    return (
        row_tenant == tenant
        and (scope.user_id is None or row_scope.user_id == scope.user_id)
        and (scope.agent_id is None or row_scope.agent_id == scope.agent_id)
        and (scope.session_id is None or row_scope.session_id == scope.session_id)
    )


def in_period(moment: datetime, since: datetime | None, until: datetime | None) -> bool:
    """``since <= moment < until``, each bound only when given."""
    return (since is None or moment >= since) and (until is None or moment < until)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Exact cosine similarity in [-1, 1]; NaN when either vector is zero (pgvector's
    ``1 - cosine_distance`` gives NaN there too)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else math.nan


def best_first(score: float) -> tuple[bool, float]:
    """A sort key for descending scores that puts NaN last (PostgreSQL sorts NaN
    distances after every number)."""
    return (math.isnan(score), -score if not math.isnan(score) else 0.0)


def encode_cursor(moment: datetime, tiebreak: int | str) -> str:
    """The keyset cursor ``memory_service.db.filters`` writes (the same text)."""
    raw = json.dumps([moment.isoformat(), tiebreak]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, tiebreak: Callable[[Any], T]) -> tuple[datetime, T]:
    """What :func:`encode_cursor` wrote; anything else is InvalidInput, as in ``db``."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, last = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = datetime.fromisoformat(moment)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC), tiebreak(last)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInput({"cursor": "malformed cursor"}) from exc


def sequence_number(value: Any) -> int:
    if type(value) is not int or not -(2**63) <= value < 2**63:
        raise ValueError(f"not a sequence number: {value!r}")
    return value


def plain_json(value: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON round trip, as a jsonb column stores a value (a copy, tuples as lists)."""
    out: dict[str, Any] = json.loads(json.dumps(dict(value)))
    return out

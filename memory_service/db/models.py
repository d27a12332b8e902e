"""SQLAlchemy 2 models: the whole schema of every tier, tenant-scoped throughout."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

EMBEDDING_DIM = 384
"""Width of every embedding column; the configured embedder must match it."""

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TSV = "to_tsvector('english'::regconfig, coalesce(text, ''::text))"
EPISODE_TSV = (
    "to_tsvector('english'::regconfig, "
    "(coalesce(speaker, ''::character varying)::text || ' '::text) || coalesce(text, ''::text))"
)
"""Episodes are found by who said them as well as by what was said."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _tenant_fk() -> Mapped[UUID]:
    return mapped_column(
        PgUUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


def _scope_indexes(table: str, time_col: str) -> tuple[Index, ...]:
    return tuple(
        Index(f"ix_{table}_{col}", "tenant_id", col, time_col)
        for col in ("user_id", "agent_id", "session_id")
    )


def _vector_index(table: str) -> Index:
    return Index(
        f"ix_{table}_embedding",
        "embedding",
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )


def _tsv_index(table: str) -> Index:
    return Index(f"ix_{table}_tsv", "tsv", postgresql_using="gin")


class Tenant(Base):
    __tablename__ = "tenants"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    created_at: Mapped[datetime] = _now()


class ApiKeyRow(Base):
    __tablename__ = "api_keys"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), primary_key=True)
    tenant_id: Mapped[UUID] = _tenant_fk()
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = _now()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_api_keys_tenant_id", "tenant_id"),)


class EpisodeRow(Base):
    __tablename__ = "episodes"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False)
    tenant_id: Mapped[UUID] = _tenant_fk()
    user_id: Mapped[str | None] = mapped_column(String(128))
    agent_id: Mapped[str | None] = mapped_column(String(128))
    session_id: Mapped[str | None] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    speaker: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = _now()
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, nullable=False, server_default="{}"
    )
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIM), nullable=False)
    tsv: Mapped[Any] = mapped_column(TSVECTOR, Computed(EPISODE_TSV, persisted=True))
    utility: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    __table_args__ = (
        Index("ix_episodes_tenant_time", "tenant_id", "occurred_at", "seq"),
        Index("uq_episodes_seq", "seq", unique=True),
        *_scope_indexes("episodes", "occurred_at"),
        _vector_index("episodes"),
        _tsv_index("episodes"),
    )


class MemoryRow(Base):
    __tablename__ = "memories"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), primary_key=True)
    tenant_id: Mapped[UUID] = _tenant_fk()
    user_id: Mapped[str | None] = mapped_column(String(128))
    agent_id: Mapped[str | None] = mapped_column(String(128))
    session_id: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text, nullable=False)
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, nullable=False, server_default="{}"
    )
    source_episode_ids: Mapped[list[UUID]] = mapped_column(
        ARRAY(PgUUID(as_uuid=True)), nullable=False, server_default="{}"
    )
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="active")
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIM), nullable=False)
    tsv: Mapped[Any] = mapped_column(TSVECTOR, Computed(TSV, persisted=True))
    utility: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint("status IN ('active', 'superseded', 'deleted')", name="status"),
        Index("ix_memories_tenant_status", "tenant_id", "status", "created_at"),
        Index("ix_memories_sources", "source_episode_ids", postgresql_using="gin"),
        *_scope_indexes("memories", "created_at"),
        _vector_index("memories"),
        _tsv_index("memories"),
    )


class MemoryHistoryRow(Base):
    __tablename__ = "memory_history"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False)
    tenant_id: Mapped[UUID] = _tenant_fk()
    memory_id: Mapped[UUID] = mapped_column(
        PgUUID(as_uuid=True), ForeignKey("memories.id", ondelete="CASCADE"), nullable=False
    )
    op: Mapped[str] = mapped_column(String(8), nullable=False)
    old_text: Mapped[str | None] = mapped_column(Text)
    new_text: Mapped[str | None] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint("op IN ('ADD', 'UPDATE', 'DELETE')", name="op"),
        Index("ix_memory_history_memory", "tenant_id", "memory_id", "seq"),
    )


class EntityRow(Base):
    __tablename__ = "entities"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), primary_key=True)
    tenant_id: Mapped[UUID] = _tenant_fk()
    user_id: Mapped[str | None] = mapped_column(String(128))
    agent_id: Mapped[str | None] = mapped_column(String(128))
    session_id: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(Text, nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    aliases: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default="{}")
    embedding: Mapped[Any] = mapped_column(Vector(EMBEDDING_DIM), nullable=True)
    merged_into: Mapped[UUID | None] = mapped_column(
        PgUUID(as_uuid=True), ForeignKey("entities.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    __table_args__ = (
        Index("ix_entities_tenant_name", "tenant_id", "name"),
        Index("ix_entities_aliases", "aliases", postgresql_using="gin"),
        *_scope_indexes("entities", "created_at"),
        _vector_index("entities"),
    )


class HyperedgeMemberRow(Base):
    """Membership of one entity in one hyperedge (a memory or an episode)."""

    __tablename__ = "hyperedge_members"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), primary_key=True)
    tenant_id: Mapped[UUID] = _tenant_fk()
    entity_id: Mapped[UUID] = mapped_column(
        PgUUID(as_uuid=True), ForeignKey("entities.id", ondelete="CASCADE"), nullable=False
    )
    memory_id: Mapped[UUID | None] = mapped_column(
        PgUUID(as_uuid=True), ForeignKey("memories.id", ondelete="CASCADE")
    )
    episode_id: Mapped[UUID | None] = mapped_column(
        PgUUID(as_uuid=True), ForeignKey("episodes.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(String(32), nullable=False, server_default="mention")
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint("(memory_id IS NULL) <> (episode_id IS NULL)", name="one_edge"),
        Index("ix_hyperedge_members_entity", "tenant_id", "entity_id"),
        Index(
            "uq_hyperedge_members_memory",
            "memory_id",
            "entity_id",
            "role",
            unique=True,
            postgresql_where=text("memory_id IS NOT NULL"),
        ),
        Index(
            "uq_hyperedge_members_episode",
            "episode_id",
            "entity_id",
            "role",
            unique=True,
            postgresql_where=text("episode_id IS NOT NULL"),
        ),
    )


class RetrievalRow(Base):
    __tablename__ = "retrievals"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), primary_key=True)
    tenant_id: Mapped[UUID] = _tenant_fk()
    user_id: Mapped[str | None] = mapped_column(String(128))
    agent_id: Mapped[str | None] = mapped_column(String(128))
    session_id: Mapped[str | None] = mapped_column(String(128))
    query: Mapped[str] = mapped_column(Text, nullable=False)
    request: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    stages: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    gate: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    route: Mapped[str] = mapped_column(String(16), nullable=False)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        Index("ix_retrievals_tenant_time", "tenant_id", "created_at"),
        Index("ix_retrievals_user", "tenant_id", "user_id"),
    )


class FeedbackRow(Base):
    __tablename__ = "feedback"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), primary_key=True)
    tenant_id: Mapped[UUID] = _tenant_fk()
    retrieval_id: Mapped[UUID] = mapped_column(
        PgUUID(as_uuid=True), ForeignKey("retrievals.id", ondelete="CASCADE"), nullable=False
    )
    reward: Mapped[float] = mapped_column(Float, nullable=False)
    item_ids: Mapped[list[UUID]] = mapped_column(
        ARRAY(PgUUID(as_uuid=True)), nullable=False, server_default="{}"
    )
    created_at: Mapped[datetime] = _now()
    __table_args__ = (Index("ix_feedback_retrieval", "tenant_id", "retrieval_id"),)


class JobRow(Base):
    """The outbox: written in the transaction of the data it concerns."""

    __tablename__ = "jobs"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), primary_key=True)
    tenant_id: Mapped[UUID] = _tenant_fk()
    user_id: Mapped[str | None] = mapped_column(String(128))
    agent_id: Mapped[str | None] = mapped_column(String(128))
    session_id: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    run_after: Mapped[datetime] = _now()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name="state"),
        Index("ix_jobs_state", "state", "updated_at"),
        Index("ix_jobs_tenant", "tenant_id", "created_at"),
        Index("ix_jobs_user", "tenant_id", "user_id"),
    )


class IdempotencyRow(Base):
    __tablename__ = "idempotency_keys"
    tenant_id: Mapped[UUID] = mapped_column(
        PgUUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    response: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = _now()


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, typed as such."""
    table = model.__table__
    assert isinstance(table, Table)
    return table

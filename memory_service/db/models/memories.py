"""Episodes (what was said), memories (the facts drawn from them) and memory history."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pgvector.sqlalchemy import SPARSEVEC
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    DateTime,
    Float,
    Identity,
    Index,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.orm import Mapped, mapped_column

from memory_service.db.models.base import (
    EMBEDDING_DIM,
    EPISODE_TSV,
    SPARSE_DIM,
    TSV,
    Base,
    metadata_index,
    scope_indexes,
    server_now,
    tenant_fk,
    tenant_key,
    tenant_ref,
    triple_index,
    tsv_index,
    vector_index,
)
from memory_service.db.vectors import Embedding


class EpisodeRow(Base):
    __tablename__ = "episodes"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True))
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False)
    tenant_id: Mapped[UUID] = tenant_fk()
    user_id: Mapped[str | None] = mapped_column(String(128))
    agent_id: Mapped[str | None] = mapped_column(String(128))
    session_id: Mapped[str | None] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    speaker: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_at: Mapped[datetime] = server_now()
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, nullable=False, server_default="{}"
    )
    embedding: Mapped[Any] = mapped_column(Embedding(EMBEDDING_DIM), nullable=False)
    tsv: Mapped[Any] = mapped_column(TSVECTOR, Computed(EPISODE_TSV, persisted=True))
    sparse: Mapped[Any] = mapped_column(SPARSEVEC(SPARSE_DIM), nullable=True)
    """The learned-sparse vector, written by the consolidation worker (None until then)."""
    utility: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    __table_args__ = (
        tenant_key(),
        Index("ix_episodes_tenant_time", "tenant_id", "occurred_at", "seq"),
        Index("uq_episodes_seq", "seq", unique=True),
        *scope_indexes("episodes", "occurred_at"),
        triple_index("episodes", "created_at"),
        vector_index("episodes"),
        tsv_index("episodes"),
        metadata_index("episodes"),
    )


class MemoryRow(Base):
    __tablename__ = "memories"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True))
    tenant_id: Mapped[UUID] = tenant_fk()
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
    embedding: Mapped[Any] = mapped_column(Embedding(EMBEDDING_DIM), nullable=False)
    tsv: Mapped[Any] = mapped_column(TSVECTOR, Computed(TSV, persisted=True))
    utility: Mapped[float] = mapped_column(Float, nullable=False, server_default="0")
    created_at: Mapped[datetime] = server_now()
    updated_at: Mapped[datetime] = server_now()
    __table_args__ = (
        tenant_key(),
        CheckConstraint("status IN ('active', 'superseded', 'deleted')", name="status"),
        Index("ix_memories_tenant_status", "tenant_id", "status", "created_at"),
        Index("ix_memories_sources", "source_episode_ids", postgresql_using="gin"),
        *scope_indexes("memories", "created_at"),
        triple_index("memories", "status", "updated_at"),
        vector_index("memories"),
        tsv_index("memories"),
        metadata_index("memories"),
    )


class MemoryHistoryRow(Base):
    __tablename__ = "memory_history"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True))
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False)
    tenant_id: Mapped[UUID] = tenant_fk()
    memory_id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), nullable=False)
    op: Mapped[str] = mapped_column(String(8), nullable=False)
    old_text: Mapped[str | None] = mapped_column(Text)
    new_text: Mapped[str | None] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = server_now()
    __table_args__ = (
        tenant_key(),
        tenant_ref("memory_history", "memory_id", "memories"),
        CheckConstraint("op IN ('ADD', 'UPDATE', 'DELETE')", name="op"),
        Index("ix_memory_history_memory", "tenant_id", "memory_id", "seq"),
    )

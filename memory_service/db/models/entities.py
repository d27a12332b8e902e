"""Entities and their hyperedges: which entities a memory or an episode mentions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pgvector.sqlalchemy import Vector
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.orm import Mapped, mapped_column

from memory_service.db.models.base import (
    EMBEDDING_DIM,
    Base,
    scope_indexes,
    server_now,
    tenant_fk,
    vector_index,
)


class EntityRow(Base):
    __tablename__ = "entities"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), primary_key=True)
    tenant_id: Mapped[UUID] = tenant_fk()
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
    created_at: Mapped[datetime] = server_now()
    updated_at: Mapped[datetime] = server_now()
    __table_args__ = (
        Index("ix_entities_tenant_name", "tenant_id", "name"),
        Index("ix_entities_aliases", "aliases", postgresql_using="gin"),
        *scope_indexes("entities", "created_at"),
        vector_index("entities"),
    )


class HyperedgeMemberRow(Base):
    """Membership of one entity in one hyperedge (a memory or an episode)."""

    __tablename__ = "hyperedge_members"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), primary_key=True)
    tenant_id: Mapped[UUID] = tenant_fk()
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
    created_at: Mapped[datetime] = server_now()
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

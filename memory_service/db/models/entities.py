"""Entities and their hyperedges: which entities a memory or an episode mentions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import CheckConstraint, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.orm import Mapped, mapped_column

from memory_service.db.models.base import (
    EMBEDDING_DIM,
    Base,
    scope_indexes,
    server_now,
    tenant_fk,
    tenant_key,
    tenant_ref,
    triple_index,
    vector_index,
)
from memory_service.db.vectors import Embedding


class EntityRow(Base):
    __tablename__ = "entities"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True))
    tenant_id: Mapped[UUID] = tenant_fk()
    user_id: Mapped[str | None] = mapped_column(String(128))
    agent_id: Mapped[str | None] = mapped_column(String(128))
    session_id: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(Text, nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    aliases: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, server_default="{}")
    embedding: Mapped[Any] = mapped_column(Embedding(EMBEDDING_DIM), nullable=True)
    merged_into: Mapped[UUID | None] = mapped_column(PgUUID(as_uuid=True))
    """The entity this one was merged into (same tenant); NULL again if that one goes."""
    created_at: Mapped[datetime] = server_now()
    updated_at: Mapped[datetime] = server_now()
    __table_args__ = (
        tenant_key(),
        # only merged_into is cleared when the survivor goes: tenant_id stays
        tenant_ref("entities", "merged_into", "entities", ondelete="SET NULL (merged_into)"),
        Index("ix_entities_tenant_name", "tenant_id", "name"),
        Index("ix_entities_aliases", "aliases", postgresql_using="gin"),
        *scope_indexes("entities", "created_at"),
        triple_index("entities", where="merged_into IS NULL"),
        vector_index("entities"),
    )


class HyperedgeMemberRow(Base):
    """Membership of one entity in one hyperedge (a memory or an episode)."""

    __tablename__ = "hyperedge_members"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True))
    tenant_id: Mapped[UUID] = tenant_fk()
    entity_id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), nullable=False)
    memory_id: Mapped[UUID | None] = mapped_column(PgUUID(as_uuid=True))
    episode_id: Mapped[UUID | None] = mapped_column(PgUUID(as_uuid=True))
    role: Mapped[str] = mapped_column(String(32), nullable=False, server_default="mention")
    created_at: Mapped[datetime] = server_now()
    __table_args__ = (
        tenant_key(),
        tenant_ref("hyperedge_members", "entity_id", "entities"),
        tenant_ref("hyperedge_members", "memory_id", "memories"),
        tenant_ref("hyperedge_members", "episode_id", "episodes"),
        CheckConstraint("(memory_id IS NULL) <> (episode_id IS NULL)", name="one_edge"),
        Index("ix_hyperedge_members_entity", "tenant_id", "entity_id"),
        Index(
            "uq_hyperedge_members_memory",
            "tenant_id",
            "memory_id",
            "entity_id",
            "role",
            unique=True,
            postgresql_where=text("memory_id IS NOT NULL"),
        ),
        Index(
            "uq_hyperedge_members_episode",
            "tenant_id",
            "episode_id",
            "entity_id",
            "role",
            unique=True,
            postgresql_where=text("episode_id IS NOT NULL"),
        ),
    )

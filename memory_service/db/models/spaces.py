"""Embedding spaces (which model made the stored vectors) and a re-embedding's progress."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Identity,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.orm import Mapped, mapped_column

from memory_service.db.models.base import Base, server_now


class EmbeddingSpaceRow(Base):
    """One embedding model at one width. A tenant names the space its vectors are in
    (``tenants.space_id``); rows of one tenant are all of that space."""

    __tablename__ = "embedding_spaces"
    id: Mapped[int] = mapped_column(SmallInteger, Identity(), primary_key=True)
    model: Mapped[str] = mapped_column(Text, nullable=False)
    dim: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = server_now()
    __table_args__ = (UniqueConstraint("model", "dim", name="uq_embedding_spaces_model_dim"),)


class ReembedProgressRow(Base):
    """How far ``memory-service reembed`` got through one table, towards one space: the
    last ``(tenant_id, id)`` re-embedded (keyset order), committed with its vectors."""

    __tablename__ = "reembed_progress"
    table_name: Mapped[str] = mapped_column(String(32), primary_key=True)
    space_id: Mapped[int] = mapped_column(
        SmallInteger, ForeignKey("embedding_spaces.id"), nullable=False
    )
    after_tenant: Mapped[UUID | None] = mapped_column(PgUUID(as_uuid=True))
    after_id: Mapped[UUID | None] = mapped_column(PgUUID(as_uuid=True))
    done: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    finished: Mapped[bool] = mapped_column(nullable=False, server_default="false")
    started_at: Mapped[datetime] = server_now()
    updated_at: Mapped[datetime] = server_now()

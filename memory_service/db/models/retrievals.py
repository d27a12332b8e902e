"""The retrieval log and the feedback given on what a retrieval returned."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Float, Index, String, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.orm import Mapped, mapped_column

from memory_service.db.models.base import Base, server_now, tenant_fk, tenant_key, tenant_ref


class RetrievalRow(Base):
    __tablename__ = "retrievals"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True))
    tenant_id: Mapped[UUID] = tenant_fk()
    user_id: Mapped[str | None] = mapped_column(String(128))
    agent_id: Mapped[str | None] = mapped_column(String(128))
    session_id: Mapped[str | None] = mapped_column(String(128))
    query: Mapped[str] = mapped_column(Text, nullable=False)
    request: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    stages: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    gate: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    route: Mapped[str] = mapped_column(String(16), nullable=False)
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = server_now()
    __table_args__ = (
        tenant_key(),
        Index("ix_retrievals_tenant_time", "tenant_id", "created_at"),
        Index("ix_retrievals_user", "tenant_id", "user_id"),
    )


class FeedbackRow(Base):
    __tablename__ = "feedback"
    id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True))
    tenant_id: Mapped[UUID] = tenant_fk()
    retrieval_id: Mapped[UUID] = mapped_column(PgUUID(as_uuid=True), nullable=False)
    reward: Mapped[float] = mapped_column(Float, nullable=False)
    item_ids: Mapped[list[UUID]] = mapped_column(
        ARRAY(PgUUID(as_uuid=True)), nullable=False, server_default="{}"
    )
    created_at: Mapped[datetime] = server_now()
    __table_args__ = (
        tenant_key(),
        tenant_ref("feedback", "retrieval_id", "retrievals"),
        Index("ix_feedback_retrieval", "tenant_id", "retrieval_id"),
    )

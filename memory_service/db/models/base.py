"""The declarative base of every model, and the column and index shapes they share."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

EMBEDDING_DIM = 384
"""Width of every embedding column; the configured embedder must match it."""
SPARSE_DIM = 30522
"""Vocabulary of the learned-sparse column (BERT's uncased WordPiece, SPLADE's)."""

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


def tenant_fk() -> Mapped[UUID]:
    return mapped_column(
        PgUUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def tenant_key() -> PrimaryKeyConstraint:
    """The primary key of a tenant-owned table: ``(tenant_id, id)``.

    Ids are unique within a tenant only, so a tenant can import rows whose ids another
    tenant holds (its own export, say) and gets the same answer as for ids nobody holds:
    an id names nothing outside its tenant. The leading ``tenant_id`` is also what a
    database distributed by tenant (Citus) needs of every unique key."""
    return PrimaryKeyConstraint("tenant_id", "id")


def tenant_ref(
    table: str, column: str, target: str, *, ondelete: str = "CASCADE"
) -> ForeignKeyConstraint:
    """``(tenant_id, column)`` referencing ``target (tenant_id, id)``: a row can point only
    at a row of its own tenant. Named as the single-column key it replaces was."""
    return ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        ondelete=ondelete,
        name=f"fk_{table}_{column}_{target}",
    )


def server_now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


def scope_indexes(table: str, time_col: str) -> tuple[Index, ...]:
    return tuple(
        Index(f"ix_{table}_{col}", "tenant_id", col, time_col)
        for col in ("user_id", "agent_id", "session_id")
    )


def triple_index(table: str, *include: str, where: str | None = None) -> Index:
    """``(tenant_id, user_id, agent_id, session_id)`` covering ``include``: the scope
    listing groups a tenant's rows by their exact triple from this index alone, never
    reading the wide rows (embeddings, text) themselves (migration 0010)."""
    return Index(
        f"ix_{table}_scope",
        "tenant_id",
        "user_id",
        "agent_id",
        "session_id",
        postgresql_include=list(include),
        postgresql_where=text(where) if where else None,
    )


def vector_index(table: str) -> Index:
    return Index(
        f"ix_{table}_embedding",
        "embedding",
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )


def tsv_index(table: str) -> Index:
    return Index(f"ix_{table}_tsv", "tsv", postgresql_using="gin")


def metadata_index(table: str) -> Index:
    """Containment on metadata (``@>``, the filters' equality; migration 0007)."""
    return Index(
        f"ix_{table}_metadata",
        "metadata",
        postgresql_using="gin",
        postgresql_ops={"metadata": "jsonb_path_ops"},
    )


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, typed as such."""
    table = model.__table__
    assert isinstance(table, Table)
    return table

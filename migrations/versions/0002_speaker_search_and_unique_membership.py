"""Episodes' full text covers the speaker; one membership per (edge, entity, role).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "to_tsvector('english'::regconfig, coalesce(text, ''::text))"
NEW = (
    "to_tsvector('english'::regconfig, "
    "(coalesce(speaker, ''::character varying)::text || ' '::text) || coalesce(text, ''::text))"
)


def _episode_tsv(expression: str) -> None:
    # A stored generated column's expression cannot change in place before
    # PostgreSQL 17: drop and add it again, with its index.
    op.drop_index("ix_episodes_tsv", table_name="episodes", postgresql_using="gin")
    op.drop_column("episodes", "tsv")
    op.add_column(
        "episodes",
        sa.Column("tsv", postgresql.TSVECTOR(), sa.Computed(expression, persisted=True)),
    )
    op.create_index("ix_episodes_tsv", "episodes", ["tsv"], postgresql_using="gin")


def upgrade() -> None:
    _episode_tsv(NEW)
    op.drop_index("ix_hyperedge_members_memory", table_name="hyperedge_members")
    op.drop_index("ix_hyperedge_members_episode", table_name="hyperedge_members")
    op.create_index(
        "uq_hyperedge_members_memory",
        "hyperedge_members",
        ["memory_id", "entity_id", "role"],
        unique=True,
        postgresql_where=sa.text("memory_id IS NOT NULL"),
    )
    op.create_index(
        "uq_hyperedge_members_episode",
        "hyperedge_members",
        ["episode_id", "entity_id", "role"],
        unique=True,
        postgresql_where=sa.text("episode_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_hyperedge_members_episode", table_name="hyperedge_members")
    op.drop_index("uq_hyperedge_members_memory", table_name="hyperedge_members")
    op.create_index("ix_hyperedge_members_episode", "hyperedge_members", ["episode_id"])
    op.create_index("ix_hyperedge_members_memory", "hyperedge_members", ["memory_id"])
    _episode_tsv(OLD)

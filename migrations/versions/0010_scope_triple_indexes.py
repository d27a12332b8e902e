"""Covering indexes on each row's exact scope triple, for the scope listing.

``GET /v1/scopes`` groups a tenant's episodes, memories and live entities by their
``(user_id, agent_id, session_id)``. Without these indexes that is a sequential scan of
the wide rows (embeddings, text, tsvector): measured on 10,000 scopes (40,000 episodes)
it read 15,664 pages (122 MB); with them, index-only scans with no heap fetch. Each
index carries the columns the listing counts: an episode's ``created_at``, a memory's
``status`` and ``updated_at``; the entities' index holds live (unmerged) ones only.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 11:40:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIPLE = ["tenant_id", "user_id", "agent_id", "session_id"]
INDEXES: dict[str, dict[str, Any]] = {
    "episodes": {"postgresql_include": ["created_at"]},
    "memories": {"postgresql_include": ["status", "updated_at"]},
    "entities": {"postgresql_include": [], "postgresql_where": sa.text("merged_into IS NULL")},
}


def upgrade() -> None:
    for table, options in INDEXES.items():
        op.create_index(f"ix_{table}_scope", table, TRIPLE, **options)


def downgrade() -> None:
    for table in INDEXES:
        op.drop_index(f"ix_{table}_scope", table_name=table)

"""GIN indexes on the metadata of episodes and memories (``jsonb_path_ops``).

Metadata filters (``filters`` on search, context and listings) test equality and ``in``
by containment, ``metadata @> '{"k": "v"}'``, which these indexes serve. ``jsonb_path_ops``
indexes values under their paths only (no key-existence operators), and is smaller and
faster for containment than the default ``jsonb_ops``.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("episodes", "memories")


def upgrade() -> None:
    for table in TABLES:
        op.create_index(
            f"ix_{table}_metadata",
            table,
            ["metadata"],
            postgresql_using="gin",
            postgresql_ops={"metadata": "jsonb_path_ops"},
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_metadata", table_name=table)

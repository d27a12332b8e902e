"""Episodes get a learned-sparse vector (SPLADE), written by the consolidation worker.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 02:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import SPARSEVEC

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("episodes", sa.Column("sparse", SPARSEVEC(30522), nullable=True))


def downgrade() -> None:
    op.drop_column("episodes", "sparse")

"""A tenant's standing extraction instructions (``PUT /v1/instructions``).

What to remember and what to ignore, in words, for every consolidation of the tenant;
a request's own ``instructions`` follow them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 11:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("instructions", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("tenants", "instructions")

"""Ids are unique per tenant: tenant-owned tables are keyed ``(tenant_id, id)``.

With a key of ``id`` alone, an import of a row whose id another tenant held was skipped
(``ON CONFLICT DO NOTHING``) where a fresh id was added: the answer told a tenant which
ids existed elsewhere, and a tenant importing another tenant's export stored nothing.
Now the key of every table whose ids an export carries or a client may give (episodes,
memories, memory_history, entities, hyperedge_members) and of the retrieval log and its
feedback is ``(tenant_id, id)``, and every reference between them names the tenant too:
``FOREIGN KEY (tenant_id, memory_id) REFERENCES memories (tenant_id, id)``, so a row can
point only at a row of its own tenant. A merged entity's ``merged_into`` is cleared alone
when its survivor goes (``ON DELETE SET NULL (merged_into)``, PostgreSQL 15+). A
membership is unique per ``(tenant_id, edge, entity, role)``.

The leading ``tenant_id`` is also what a database distributed by tenant (Citus) asks of
every unique key and foreign key. Jobs keep ``id`` alone: workers address them by id,
across tenants, and their ids are the server's own (never given, never exported).

Upgrade first removes references that cross tenants (a history row, a membership or
feedback tied to another tenant's row, which an older import could make; the new keys
cannot hold them), and clears ``merged_into`` where it names another tenant's entity.
Downgrade refuses while two tenants hold the same id in one table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = (
    "episodes",
    "memories",
    "memory_history",
    "entities",
    "hyperedge_members",
    "retrievals",
    "feedback",
)
"""Referenced tables come before the tables that reference them."""
REFERENCES = (
    # (table, column, referenced table, ON DELETE)
    ("memory_history", "memory_id", "memories", "CASCADE"),
    ("entities", "merged_into", "entities", "SET NULL"),
    ("hyperedge_members", "entity_id", "entities", "CASCADE"),
    ("hyperedge_members", "memory_id", "memories", "CASCADE"),
    ("hyperedge_members", "episode_id", "episodes", "CASCADE"),
    ("feedback", "retrieval_id", "retrievals", "CASCADE"),
)
EDGES = ("memory", "episode")


def _fk(table: str, column: str, target: str) -> str:
    return f"fk_{table}_{column}_{target}"


def _drop_crossing_references() -> None:
    """Rows tied to another tenant's row: cleared (``merged_into``) or deleted."""
    for table, column, target, action in REFERENCES:
        crossing = (
            f"{table}.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {target} p "
            f"WHERE p.tenant_id = {table}.tenant_id AND p.id = {table}.{column})"
        )
        if action == "SET NULL":
            op.execute(f"UPDATE {table} SET {column} = NULL WHERE {crossing}")
        else:
            op.execute(f"DELETE FROM {table} WHERE {crossing}")


def _membership_indexes(tenant_scoped: bool) -> None:
    for edge in EDGES:
        name = f"uq_hyperedge_members_{edge}"
        op.drop_index(name, table_name="hyperedge_members")
        columns = [f"{edge}_id", "entity_id", "role"]
        op.create_index(
            name,
            "hyperedge_members",
            ["tenant_id", *columns] if tenant_scoped else columns,
            unique=True,
            postgresql_where=sa.text(f"{edge}_id IS NOT NULL"),
        )


def upgrade() -> None:
    _drop_crossing_references()
    for table, column, target, _ in REFERENCES:
        op.drop_constraint(_fk(table, column, target), table, type_="foreignkey")
    for table in TABLES:
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.create_primary_key(f"pk_{table}", table, ["tenant_id", "id"])
    _membership_indexes(tenant_scoped=True)
    for table, column, target, action in REFERENCES:
        op.create_foreign_key(
            _fk(table, column, target),
            table,
            target,
            ["tenant_id", column],
            ["tenant_id", "id"],
            ondelete=f"SET NULL ({column})" if action == "SET NULL" else action,
        )


def _refuse_shared_ids() -> None:
    bind = op.get_bind()
    for table in TABLES:
        shared = bind.execute(
            sa.text(f"SELECT id FROM {table} GROUP BY id HAVING count(*) > 1 LIMIT 1")
        ).scalar()
        if shared is not None:
            raise RuntimeError(
                f"cannot downgrade: id {shared} is held by more than one tenant in {table}"
            )


def downgrade() -> None:
    _refuse_shared_ids()
    for table, column, target, _ in REFERENCES:
        op.drop_constraint(_fk(table, column, target), table, type_="foreignkey")
    _membership_indexes(tenant_scoped=False)
    for table in TABLES:
        op.drop_constraint(f"pk_{table}", table, type_="primary")
        op.create_primary_key(f"pk_{table}", table, ["id"])
    for table, column, target, action in REFERENCES:
        op.create_foreign_key(
            _fk(table, column, target), table, target, [column], ["id"], ondelete=action
        )

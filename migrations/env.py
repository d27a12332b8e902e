"""Alembic environment: imports memory_service.db metadata only.

The URL comes from ``-x url=...``, then ``config.attributes["url"]`` (set by
``memory-service migrate`` and the tests), then ``MEMORY_DATABASE_URL``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from memory_service.config import Settings
from memory_service.db.models import Base
from memory_service.db.session import sync_url

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.attributes.get("url")
    if not url:
        url = Settings().database_url
    if not url:
        raise SystemExit(
            "no database: set MEMORY_DATABASE_URL, pass -x url=..., "
            "or run `memory-service migrate`, which starts the embedded server"
        )
    return sync_url(str(url))


def _include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # Extension-owned objects are not ours to compare.
    return not (type_ == "table" and reflected and compare_to is None)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        include_object=_include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

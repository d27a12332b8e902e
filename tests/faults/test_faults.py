"""Faults on a real server: the API killed mid-write and mid-consolidation, the embedded
PostgreSQL restarted under it. Every acknowledged write is there exactly once and every
job completes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp.server.mcpserver.exceptions import ToolError
from sqlalchemy import text

from memory_service.bootstrap import Components, build_consolidator
from memory_service.db.embedded import postgres_bin, start_embedded
from memory_service.db.session import make_engine, make_sessionmaker
from memory_service.domain.errors import DatabaseUnavailable
from memory_service.mcp._errors import tool_errors
from tests.conftest import ROOT, free_port
from workers.dispatch import InProcessWorker

pytestmark = pytest.mark.integration


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
        env.update(
            MEMORY_DATA_DIR=str(self.data_dir),
            MEMORY_EMBEDDER="hash",
            MEMORY_JOB_STALE_AFTER_S="3",
            MEMORY_RATE_LIMIT_PER_MINUTE="0",
            # The restart test restarts PostgreSQL by hand (test_embedded_lifetime has
            # the service do it by itself).
            MEMORY_EMBEDDED_WATCH_S="0",
        )
        log = (self.data_dir / "server.log").open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "memory_service.cli", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, (self.data_dir / "server.log").read_text()[-3000:]
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError("server not ready")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def key(self) -> str:
        return (self.data_dir / "api_key").read_text().strip()


@pytest.fixture
def server() -> Iterator[Server]:
    data_dir = ROOT / ".memory-data-test" / f"faults-{uuid.uuid4().hex[:8]}"
    data_dir.mkdir(parents=True)
    srv = Server(data_dir)
    srv.start()
    yield srv
    srv.stop()
    _stop_postgres(data_dir / "pg")
    if not os.environ.get("KEEP_FAULT_DATA"):
        shutil.rmtree(data_dir, ignore_errors=True)


def _pg_ctl(pgdata: Path, *args: str) -> None:
    cmd = f"{postgres_bin() / 'pg_ctl'} -D {pgdata} {' '.join(args)}"
    subprocess.run(["su", "pgserver", "-s", "/bin/sh", "-c", cmd], check=False, capture_output=True)


def _stop_postgres(pgdata: Path) -> None:
    if (pgdata / "postmaster.pid").exists():
        _pg_ctl(pgdata, "-w", "-m", "fast", "stop")


def batch(key: str, n: int = 20) -> dict[str, Any]:
    return {
        "user_id": "u",
        "messages": [{"content": f"{key} message {i} about hiking"} for i in range(n)],
    }


def post(client: httpx.Client, key: str) -> httpx.Response:
    return client.post("/v1/messages", json=batch(key), headers={"Idempotency-Key": key})


def wait_jobs_done(client: httpx.Client, job_ids: list[str], limit_s: float = 120) -> None:
    deadline = time.monotonic() + limit_s
    pending = set(job_ids)
    while pending and time.monotonic() < deadline:
        for job_id in list(pending):
            state = client.get(f"/v1/jobs/{job_id}").json()["state"]
            assert state != "failed", job_id
            if state == "done":
                pending.discard(job_id)
        time.sleep(0.3)
    assert not pending, f"{len(pending)} jobs never finished"


def count_episodes(client: httpx.Client) -> dict[str, int]:
    seen: dict[str, int] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {
            "user_id": "u",
            "limit": 100,
            **({"cursor": cursor} if cursor else {}),
        }
        page = client.get("/v1/episodes", params=params).json()
        for e in page["items"]:
            seen[e["content"]] = seen.get(e["content"], 0) + 1
        cursor = page["next_cursor"]
        if not cursor:
            return seen


def test_api_killed_mid_write_and_mid_consolidation(server: Server) -> None:
    keys = [f"w{i:03d}" for i in range(30)]
    acknowledged: dict[str, str] = {}
    with httpx.Client(
        base_url=server.base, headers={"Authorization": f"Bearer {server.key}"}, timeout=30
    ) as c:
        for i, key in enumerate(keys):
            if i == 15:
                # Kill while a write is in flight and consolidation jobs are queued or running.
                killer = subprocess.Popen(["sh", "-c", f"sleep 0.02; kill -9 {server.proc.pid}"])  # type: ignore[union-attr]
                with contextlib.suppress(httpx.TransportError):
                    post(c, key)
                killer.wait()
                server.proc.wait()  # type: ignore[union-attr]
                server.start()
                continue
            r = post(c, key)
            assert r.status_code == 201, r.text
            acknowledged[key] = r.json()["job_id"]
        # A client retries everything it is unsure of, with the same keys.
        job_ids = []
        for key in keys:
            r = post(c, key)
            assert r.status_code == 201, r.text
            if key in acknowledged:
                assert r.json()["replayed"] is True
                assert r.json()["job_id"] == acknowledged[key]
            job_ids.append(r.json()["job_id"])
        seen = count_episodes(c)
        assert len(seen) == 30 * 20
        assert set(seen.values()) == {1}, "every acknowledged write is there exactly once"
        wait_jobs_done(c, job_ids)


def test_embedded_postgres_restart_under_a_running_server(server: Server) -> None:
    pgdata = server.data_dir / "pg"
    with httpx.Client(
        base_url=server.base, headers={"Authorization": f"Bearer {server.key}"}, timeout=30
    ) as c:
        before = post(c, "before")
        assert before.status_code == 201
        _stop_postgres(pgdata)
        down = post(c, "during")
        assert down.status_code == 503, down.text
        assert down.json()["error"] == "Unavailable"
        start_embedded(pgdata)  # the same way the service starts it
        deadline = time.monotonic() + 30
        while (r := post(c, "during")).status_code != 201 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert r.status_code == 201, r.text
        assert post(c, "after").status_code == 201
        seen = count_episodes(c)
        assert len(seen) == 3 * 20
        assert set(seen.values()) == {1}
        wait_jobs_done(c, [before.json()["job_id"], r.json()["job_id"]])


async def select_one(parts: Components) -> None:
    async with parts.uow() as uow:
        await uow.session.execute(text("SELECT 1"))


async def test_an_unreachable_database_is_one_error_every_entrypoint_maps(
    components: Components,
) -> None:
    from memory_service.api.app import create_app

    dead = make_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none", pool=False)
    parts = replace(components, engine=dead, sessions=make_sessionmaker(dead))
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            await select_one(parts)
        assert isinstance(caught.value.__cause__, OSError)  # what the driver raised
        app = create_app(components=parts, background=False)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.get("/v1/episodes", headers={"Authorization": "Bearer msk_x"})
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "1"
        assert r.json() == {
            "error": "Unavailable",
            "detail": "the database is unavailable; retry shortly",
        }
        down = r"^UpstreamUnavailable: the database is unavailable"
        with pytest.raises(ToolError, match=down), tool_errors():
            await select_one(parts)
        worker = InProcessWorker(parts, build_consolidator(parts.settings, parts.embedder))
        with pytest.raises(DatabaseUnavailable):
            await worker.drain()
    finally:
        await dead.dispose()

"""A real Celery worker on a real Redis: jobs survive SIGKILL, broker restarts and poison."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, text

from memory_service.bootstrap import Components
from memory_service.db.models import EpisodeRow, JobRow, MemoryRow
from tests.conftest import ROOT, api_client, free_port
from workers.dispatch import CeleryDispatcher
from workers.wiring import attached_worker

pytestmark = pytest.mark.integration
REDIS = shutil.which("redis-server")


class RedisServer:
    """A private Redis on a loopback port that keeps nothing on disk."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS is not None
        self.proc = subprocess.Popen(
            [
                REDIS,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("redis did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class Worker:
    def __init__(
        self, database_url: str, broker_url: str, log: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
        env.update(
            MEMORY_DATABASE_URL=database_url,
            MEMORY_BROKER_URL=broker_url,
            MEMORY_EMBEDDER="hash",  # the API's (``components``): one tenant, one model
            MEMORY_JOB_STALE_AFTER_S="4",
            MEMORY_JOB_SWEEP_INTERVAL_S="1",
            MEMORY_DATA_DIR=str(log.parent),
        )
        env.update(extra_env or {})
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "memory_service.cli", "worker", "--loglevel", "INFO"],
            cwd=ROOT,
            env=env,
            stdout=log.open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its embedded beat is a child: kill them together
        )
        deadline = time.monotonic() + 60
        while "ready." not in log.read_text():
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.2)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(20)
        self.kill()  # and whatever it left behind


@pytest.fixture
async def api(components: Components, redis: RedisServer) -> AsyncIterator[AsyncClient]:
    """The API, dispatching jobs to Celery through ``redis`` (its settings' broker)."""
    settings = components.settings.model_copy(update={"broker_url": redis.url})
    async with attached_worker(replace(components, settings=settings)) as parts:
        assert isinstance(parts.dispatcher, CeleryDispatcher)
        async with api_client(parts, "celery") as client:
            yield client


def turns(n: int, who: str = "Caroline") -> list[dict[str, Any]]:
    topics = ["painting", "hiking in Oregon", "adoption agencies", "a pottery class", "Boston"]
    return [
        {
            "speaker": who,
            "content": f"I talked with Melanie about {topics[i % 5]} on day {i}.",
            "occurred_at": f"2023-05-{1 + i % 28:02d}T10:00:00Z",
        }
        for i in range(n)
    ]


async def wait_for(
    client: AsyncClient, job_id: str, states: set[str], limit_s: float = 120
) -> dict[str, Any]:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        job: dict[str, Any] = (await client.get(f"/v1/jobs/{job_id}")).json()
        if job["state"] in states:
            return job
        await asyncio.sleep(0.2)
    raise AssertionError(f"job {job_id} never reached {states}: {job}")


async def scalar(components: Components, sql: Any) -> Any:
    async with components.uow() as uow:
        return (await uow.session.execute(sql)).scalar()


SCOPE_LOCKS = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


async def wait_consolidating(components: Components, limit_s: float = 60) -> None:
    """Until a worker holds a scope's lock: it is inside a job's transaction."""
    deadline = time.monotonic() + limit_s
    while not await scalar(components, SCOPE_LOCKS):
        assert time.monotonic() < deadline, "no worker started consolidating"
        await asyncio.sleep(0.05)


def settings_url(components: Components) -> str:
    return components.database_url


async def test_messages_in_facts_out(
    api: AsyncClient, components: Components, redis: RedisServer, logdir: Path
) -> None:
    worker = Worker(components.database_url, redis.url, logdir / "worker.log")
    try:
        r = await api.post("/v1/messages", json={"user_id": "u", "messages": turns(5)})
        job = await wait_for(api, r.json()["job_id"], {"done", "failed"})
        assert job["state"] == "done", job
        graph = (await api.get("/v1/graph/export", params={"user_id": "u"})).json()
        assert {"Caroline", "Melanie"} <= {e["name"] for e in graph["entities"]}
        assert await scalar(components, select(func.count()).select_from(MemoryRow)) > 0
    finally:
        worker.stop()


async def test_sigkill_mid_job_loses_nothing_and_repeats_nothing(
    api: AsyncClient, components: Components, redis: RedisServer, logdir: Path
) -> None:
    worker = Worker(components.database_url, redis.url, logdir / "w1.log")
    r = await api.post("/v1/messages", json={"user_id": "big", "messages": turns(400)})
    job_id = r.json()["job_id"]
    await wait_for(api, job_id, {"running"}, limit_s=60)
    await wait_consolidating(components)
    worker.kill()  # mid-job: its transaction dies with it
    assert (await api.get(f"/v1/jobs/{job_id}")).json()["state"] == "running"
    assert await scalar(components, select(func.count()).select_from(MemoryRow)) == 0
    worker = Worker(components.database_url, redis.url, logdir / "w2.log")
    try:
        job = await wait_for(api, job_id, {"done", "failed"}, limit_s=180)
    finally:
        worker.stop()
    assert job["state"] == "done", job
    assert job["attempts"] == 2
    episodes = await scalar(components, select(func.count()).select_from(EpisodeRow))
    assert episodes == 400
    dupes = await scalar(
        components,
        text(
            "SELECT count(*) FROM (SELECT text FROM memories GROUP BY text HAVING count(*) > 1) d"
        ),
    )
    assert dupes == 0
    # Exactly once in effect: a second, clean run of the same input makes as many facts.
    made = await scalar(components, select(func.count()).select_from(MemoryRow))
    worker = Worker(components.database_url, redis.url, logdir / "w3.log")
    try:
        r = await api.post("/v1/messages", json={"user_id": "ref", "messages": turns(400)})
        await wait_for(api, r.json()["job_id"], {"done"}, limit_s=180)
    finally:
        worker.stop()
    reference = await scalar(
        components, select(func.count()).select_from(MemoryRow).where(MemoryRow.user_id == "ref")
    )
    assert made == reference


async def test_redis_restart_loses_no_job(
    api: AsyncClient, components: Components, redis: RedisServer, logdir: Path
) -> None:
    r = await api.post("/v1/messages", json={"user_id": "u", "messages": turns(3)})
    job_id = r.json()["job_id"]
    redis.stop()  # the queued message dies with the broker (nothing on disk)
    redis.start()
    worker = Worker(components.database_url, redis.url, logdir / "worker.log")
    try:
        job = await wait_for(api, job_id, {"done", "failed"}, limit_s=60)
    finally:
        worker.stop()
    assert job["state"] == "done", job
    assert job["attempts"] == 1


async def test_poison_job_fails_and_the_others_go_on(
    api: AsyncClient, components: Components, redis: RedisServer, logdir: Path
) -> None:
    good = (await api.post("/v1/messages", json={"user_id": "u", "messages": turns(2)})).json()
    poison = uuid.uuid4()
    async with components.uow() as uow:
        tenant = await scalar(components, select(JobRow.tenant_id).limit(1))
        await uow.session.execute(
            JobRow.__table__.insert().values(
                id=poison, tenant_id=tenant, kind="consolidate", payload={"episode_ids": [1, 2]}
            )
        )
    worker = Worker(components.database_url, redis.url, logdir / "worker.log")
    try:
        failed = await wait_for(api, str(poison), {"failed", "done"}, limit_s=60)
        done = await wait_for(api, good["job_id"], {"done", "failed"}, limit_s=60)
    finally:
        worker.stop()
    assert failed["state"] == "failed"
    assert "malformed payload" in failed["last_error"]
    assert done["state"] == "done"

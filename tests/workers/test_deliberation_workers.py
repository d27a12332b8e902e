"""Full Deliberation's LLM chunks on a real Celery worker and a real Redis, and what a
search does when the broker is down or no worker answers in time."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select

from memory_service.bootstrap import Components
from memory_service.config import Settings
from memory_service.db.models import RetrievalRow
from memory_service.testing import ScriptedLLM
from tests.api.helpers import add_messages
from tests.conftest import api_client, free_port
from tests.workers.test_celery_worker import RedisServer, Worker, scalar
from workers.celery_app import make_app
from workers.chunks import CeleryChunkRunner
from workers.wiring import with_chunk_runner

pytestmark = pytest.mark.integration

ASK = "find everything relevant"
TURNS = [f"small talk number {i} about the weather" for i in range(130)]
"""Three chunks of 60 messages (every chunk has a message 1)."""


def facts(text: str) -> str:
    fact = {"fact": text, "speaker": "Caroline", "time": "", "score": 9, "messages": [1]}
    return json.dumps({"facts": [fact]})


def scripted(fact: str) -> ScriptedLLM:
    return ScriptedLLM(rules=[(ASK, facts(fact))])


def runner(components: Components, broker_url: str) -> CeleryChunkRunner:
    """Chunks to ``broker_url``, the way the entrypoints wire them."""
    settings = components.settings.model_copy(update={"broker_url": broker_url})
    chunks = with_chunk_runner(replace(components, settings=settings)).chunk_runner
    assert isinstance(chunks, CeleryChunkRunner)
    return chunks


@asynccontextmanager
async def api(
    components: Components, broker_url: str, llm: ScriptedLLM
) -> AsyncIterator[AsyncClient]:
    """The API with its own (scripted) LLM, sending deliberation chunks to ``broker_url``."""
    parts = replace(components, llm=llm, chunk_runner=runner(components, broker_url))
    async with api_client(parts, "chunks") as client:
        yield client


async def deliberate(client: AsyncClient, **budget: Any) -> dict[str, Any]:
    await add_messages(client, TURNS, user_id="u")
    r = await client.post(
        "/v1/search",
        json={"user_id": "u", "query": "What about the weather?", "mode": "deliberate", **budget},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["route"] == "deliberate"
    return body


async def logged(components: Components) -> dict[str, Any]:
    notes: dict[str, Any] = await scalar(components, select(RetrievalRow.stages["deliberation"]))
    return notes


async def test_chunks_are_read_by_a_worker(
    components: Components, redis: RedisServer, logdir: Path
) -> None:
    script = logdir / "llm.json"
    script.write_text(json.dumps({"rules": [[ASK, facts("Read by a worker")]], "default": "hi"}))
    worker = Worker(
        components.database_url,
        redis.url,
        logdir / "worker.log",
        # Its own scripted LLM; the sweeper leaves the test's consolidation job alone.
        extra_env={"MEMORY_LLM_MODEL": f"scripted:{script}", "MEMORY_JOB_STALE_AFTER_S": "600"},
    )
    here = scripted("Read in the API process")
    try:
        async with api(components, redis.url, here) as client:
            body = await deliberate(client)
        chunks = runner(components, redis.url)
        together = await asyncio.gather(
            *(chunks.complete_many([ASK, "hi"], max_tokens=64, timeout_s=30) for _ in range(4))
        )
    finally:
        worker.stop()
    replies = [reply.completion for replies in together for reply in replies]
    assert [out.text if out else None for out in replies] == [facts("Read by a worker"), "hi"] * 4
    assert [hit["text"] for hit in body["results"]] == ["Read by a worker"]  # deduplicated
    cost = body["cost"]
    assert (cost["chunks_total"], cost["chunks_read"], cost["llm_calls"]) == (3, 3, 3)
    assert cost["input_tokens"] > 0
    assert (cost["truncated"], cost["deliberation_errors"]) == (0, 0)
    assert here.calls == []  # nothing read in process
    assert "memory.deliberate_chunk" in (logdir / "worker.log").read_text()
    assert await logged(components) == {"runner": "celery", "truncated": False, "errors": []}


async def test_broker_down_reads_in_process(components: Components) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    here = scripted("Read in the API process")
    started = time.monotonic()
    async with api(components, closed, here) as client:
        body = await deliberate(client)
    assert time.monotonic() - started < 30
    assert [hit["text"] for hit in body["results"]] == ["Read in the API process"]
    assert (body["cost"]["chunks_read"], body["cost"]["llm_calls"]) == (3, 3)
    assert body["cost"]["deliberation_errors"] == 1
    assert len(here.calls) == 3
    notes = await logged(components)
    assert notes["runner"] == "in-process"
    [error] = notes["errors"]
    assert error.startswith("celery unavailable, chunks read by in-process: cannot send")


async def test_chunks_not_back_in_time_are_truncated(
    components: Components, redis: RedisServer
) -> None:
    here = scripted("Read in the API process")
    started = time.monotonic()
    async with api(components, redis.url, here) as client:  # no worker listens
        body = await deliberate(client, budget_seconds=1)
    assert time.monotonic() - started < 20
    assert body["results"] == []
    cost = body["cost"]
    assert (cost["chunks_total"], cost["chunks_read"], cost["llm_calls"]) == (3, 0, 0)
    assert (cost["truncated"], cost["deliberation_errors"]) == (1, 0)
    assert here.calls == []
    assert (await logged(components))["runner"] == "celery"


def test_only_the_chunk_task_keeps_a_result_and_has_its_own_queue(settings: Settings) -> None:
    import workers.tasks  # noqa: F401  (what a worker imports: its tasks join every app)

    app = make_app(settings, current=False)
    assert app.tasks["memory.deliberate_chunk"].ignore_result is False
    assert app.tasks["memory.deliberate_chunk"].acks_late is False  # no one awaits a redelivery
    assert app.tasks["memory.run_job"].ignore_result is True
    assert app.tasks["memory.sweep"].ignore_result is True
    route = app.amqp.router.route({}, "memory.deliberate_chunk")
    assert route["queue"].name == "deliberation"
    assert app.amqp.router.route({}, "memory.run_job")["queue"].name == "memory"
    assert app.conf.result_expires == 3600


def test_the_app_is_built_from_the_settings_given(settings: Settings) -> None:
    given = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/5"})
    assert make_app(given, current=False).conf.broker_url == "redis://127.0.0.1:1/5"

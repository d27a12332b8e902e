"""Full Deliberation's LLM chunks on Celery workers.

The API sends one group of ``memory.deliberate_chunk`` tasks (a prompt each) and waits,
within the search's time budget, for their replies in the result store; each worker
answers with its own LLM (``workers.tasks``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from memory_service.domain.errors import UpstreamUnavailable
from memory_service.domain.models import ChunkReply, Completion

log = logging.getLogger(__name__)
DELIBERATE_CHUNK = "memory.deliberate_chunk"
DELIBERATION_QUEUE = "deliberation"
SEND_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
"""A search does not wait for a broker that is down: it reads in process instead."""


def completion_to_dict(out: Completion) -> dict[str, Any]:
    """A completion as the plain JSON a task returns."""
    return {
        "text": out.text,
        "input_tokens": out.input_tokens,
        "output_tokens": out.output_tokens,
        "model": out.model,
    }


def completion_from_dict(data: Mapping[str, Any]) -> Completion:
    return Completion(
        text=str(data["text"]),
        input_tokens=int(data["input_tokens"]),
        output_tokens=int(data["output_tokens"]),
        model=str(data["model"]),
    )


def _unreachable() -> tuple[type[BaseException], ...]:
    """Errors that mean the broker or the result store cannot be reached. Celery's
    Redis result consumer gives up on reconnecting with a plain RuntimeError."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import RedisError

    return (OperationalError, RedisError, OSError, RuntimeError)


class CeleryChunkRunner:
    """A ``ChunkRunner`` over Celery: every prompt is a task of one group, read by any
    worker consuming the ``deliberation`` queue; replies back within ``timeout_s`` are
    kept, the others count as timed out (their messages expire unread).

    Sending fails with ``UpstreamUnavailable`` when the broker or the result store is
    down, so the caller can read in process. Waiting blocks a thread of this runner's own
    pool, never the event loop nor its default executor.
    """

    name = "celery"

    def __init__(self, app: Any, *, threads: int = 8, poll_s: float = 0.05) -> None:
        self._app = app
        self._poll_s = poll_s
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="deliberation")

    async def complete_many(
        self, prompts: Sequence[str], *, max_tokens: int, timeout_s: float
    ) -> list[ChunkReply]:
        deadline = time.monotonic() + timeout_s  # counted from now, not from a free thread
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, self._run, list(prompts), max_tokens, deadline
        )

    def _run(self, prompts: list[str], max_tokens: int, deadline: float) -> list[ChunkReply]:
        """Send, wait and collect in one thread: a result is only touched where it was
        made."""
        from celery.exceptions import TimeoutError as NotBackYet

        left = deadline - time.monotonic()
        if not prompts or left <= 0:
            return [ChunkReply(timed_out=True) for _ in prompts]
        sent = self._send(prompts, max_tokens, expires_s=left)
        lost: str | None = None
        try:
            left = deadline - time.monotonic()
            if left > 0:  # join(timeout=0) would wait forever
                sent.join(timeout=left, propagate=False, interval=self._poll_s)
        except NotBackYet:
            pass  # keep what is back
        except _unreachable() as exc:
            lost = f"result store unreachable: {type(exc).__name__}"
        replies = []
        for result in sent.results:
            if lost is None:
                try:
                    replies.append(_reply(result))
                    continue
                except _unreachable() as exc:
                    lost = f"result store unreachable: {type(exc).__name__}"
            replies.append(ChunkReply(error=lost))  # no more round trips to a dead store
        if lost is not None:
            log.warning("deliberation: %s; chunk replies lost", lost)
            return replies
        try:
            sent.forget()  # delete what came back, stop listening for the rest
        except _unreachable() as exc:  # they expire within the hour anyway
            log.warning("deliberation: could not forget chunk results: %s", exc)
        return replies

    def _send(self, prompts: list[str], max_tokens: int, *, expires_s: float) -> Any:
        from celery import group

        tasks = group(self._app.signature(DELIBERATE_CHUNK, args=(p, max_tokens)) for p in prompts)
        try:
            return tasks.apply_async(
                ignore_result=False,
                expires=max(expires_s, 1.0),
                retry=True,
                retry_policy=SEND_RETRY,
            )
        except _unreachable() as exc:
            cause = exc.__cause__ or exc  # Celery wraps the connection error in a RuntimeError
            detail = " ".join(f"{type(cause).__name__}: {cause}".split())
            raise UpstreamUnavailable(f"cannot send chunks to the workers: {detail}") from exc


def _reply(result: Any) -> ChunkReply:
    """A chunk's reply from its task's state (one result-store read unless cached)."""
    from celery import states

    state = result.state
    if state == states.SUCCESS:
        return ChunkReply(completion=completion_from_dict(result.result))
    if state == states.FAILURE:
        exc = result.result
        return ChunkReply(error=f"worker: {type(exc).__name__}: {exc}"[:500])
    return ChunkReply(timed_out=True)  # pending, or expired before a worker took it

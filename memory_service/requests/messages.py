"""Messages: storing a batch as episodes, reading and deleting episodes, and the
consolidation jobs a batch queues."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from memory_service.config import Settings
from memory_service.domain.errors import InvalidInput, NotFound
from memory_service.domain.models import Scope
from memory_service.requests.call import Call
from memory_service.requests.fields import as_utc
from memory_service.requests.filters import from_param
from memory_service.requests.inputs import MessagesIn
from memory_service.requests.outputs import EpisodeOut, EpisodePageOut, JobOut, MessagesOut
from memory_service.services import episodes, ingest


async def add_messages(call: Call, body: MessagesIn, *, idempotency_key: str | None) -> MessagesOut:
    """Store the batch as episodes and queue their consolidation (none when ``infer``
    is false: the turns are kept verbatim, nothing is extracted). Under an idempotency
    key a replay answers as the first request did (``replayed``), storing nothing."""
    check_limits(body, call.components.settings)
    result = await ingest.add_messages(
        call.uow,
        call.components.embedder,
        call.tenant,
        body.scope(),
        [m.to_domain() for m in body.messages],
        now=datetime.now(UTC),
        idempotency_key=idempotency_key,
        request_hash=ingest.fingerprint(body.model_dump(mode="json", exclude=_unset(body))),
        infer=body.infer,
        instructions=body.instructions,
    )
    return MessagesOut(
        episode_ids=list(result.episode_ids), job_id=result.job_id, replayed=result.replayed
    )


def _unset(body: MessagesIn) -> set[str]:
    """Fields left out of the request hash when absent, so that an Idempotency-Key stored
    before they existed still replays."""
    return set() if body.instructions is not None else {"instructions"}


def check_limits(body: MessagesIn, settings: Settings) -> None:
    if len(body.messages) > settings.max_batch_messages:
        raise InvalidInput(
            {"messages": f"at most {settings.max_batch_messages} messages per request"}
        )
    for i, message in enumerate(body.messages):
        if len(message.content) > settings.max_text_chars:
            raise InvalidInput(
                {f"messages[{i}].content": f"longer than {settings.max_text_chars} characters"}
            )


async def list_episodes(
    call: Call,
    scope: Scope,
    *,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
    descending: bool,
    filters: str | None = None,
) -> EpisodePageOut:
    """Episodes of the tenant (an empty scope: all of them), in time order, by pages;
    ``filters``: a metadata filter as JSON (its scope keys narrow ``scope``)."""
    call.check_limit(limit)
    parsed = from_param(filters)
    page = await episodes.list_episodes(
        call.uow,
        call.tenant,
        parsed.scope_within(scope),
        since=as_utc(since),
        until=as_utc(until),
        cursor=cursor,
        limit=limit,
        descending=descending,
        where=parsed.where,
    )
    return EpisodePageOut(
        items=[EpisodeOut.of(e) for e in page.items], next_cursor=page.next_cursor
    )


async def get_episode(call: Call, episode_id: UUID) -> EpisodeOut:
    return EpisodeOut.of(await episodes.get_episode(call.uow, call.tenant, episode_id))


async def delete_episode(call: Call, episode_id: UUID) -> list[UUID]:
    """Delete a turn; the ids of the facts retired because it was their only source."""
    return await episodes.delete_episode(call.uow, call.tenant, episode_id, now=datetime.now(UTC))


async def get_job(call: Call, job_id: UUID) -> JobOut:
    job = await call.uow.jobs.get(call.tenant, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return JobOut.of(job)

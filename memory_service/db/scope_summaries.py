"""The tenant's scopes as a listing: one row per exact ``(user_id, agent_id, session_id)``
triple found on its episodes or memories, with its counts, aggregated in one statement."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from sqlalchemy import Select, false, func, literal, null, or_, select, true, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.db.filters import decode_cursor, encode_cursor, scope_filters
from memory_service.db.models import EntityRow, EpisodeRow, MemoryRow
from memory_service.domain.models import Scope, ScopeSummary

SCOPE_PARTS = ("user_id", "agent_id", "session_id")


def _grouped(table: Any, tenant: UUID, scope: Scope, *counts: Any) -> Select[Any]:
    """``counts`` (episodes, facts, entities, last activity, whether the triple is
    listed on its own) per triple of ``table`` inside ``scope``."""
    parts = [getattr(table, name) for name in SCOPE_PARTS]
    return (
        select(*[p.label(n) for p, n in zip(parts, SCOPE_PARTS, strict=True)], *counts)
        .where(*scope_filters(table, tenant, scope))
        .group_by(*parts)
    )


def _summaries(tenant: UUID, scope: Scope) -> Any:
    """Each triple with its counts. A triple is listed when it has episodes or
    memories; entities (written by consolidation, in the scope of its episodes) only
    add their count. ``sort_*``: the triple with '' for an absent part (no scope id is
    empty), so that the keyset compares no NULL."""
    zero = literal(0)
    episodes = _grouped(
        EpisodeRow,
        tenant,
        scope,
        func.count().label("episodes"),
        zero.label("facts"),
        zero.label("entities"),
        func.max(EpisodeRow.created_at).label("at"),
        true().label("listed"),
    )
    memories = _grouped(
        MemoryRow,
        tenant,
        scope,
        zero.label("episodes"),
        func.count().filter(MemoryRow.status == "active").label("facts"),
        zero.label("entities"),
        func.max(MemoryRow.updated_at).label("at"),
        true().label("listed"),
    )
    entities = _grouped(
        EntityRow,
        tenant,
        scope,
        zero.label("episodes"),
        zero.label("facts"),
        func.count().label("entities"),
        null().label("at"),
        false().label("listed"),
    ).where(EntityRow.merged_into.is_(None))
    rows = union_all(episodes, memories, entities).subquery("per_table")
    parts = [rows.c[name] for name in SCOPE_PARTS]
    return (
        select(
            *parts,
            *[func.coalesce(p, "").label(f"sort_{p.name}") for p in parts],
            func.sum(rows.c.episodes).label("episodes"),
            func.sum(rows.c.facts).label("facts"),
            func.sum(rows.c.entities).label("entities"),
            func.max(rows.c.at).label("last_activity"),
        )
        .group_by(*parts)
        .having(func.bool_or(rows.c.listed))
        .subquery("scopes")
    )


def _triple(value: Any) -> tuple[str, str, str]:
    """A cursor's tiebreak: the triple's sort keys, three strings."""
    parts = json.loads(value)
    if not (isinstance(parts, list) and len(parts) == 3 and all(isinstance(p, str) for p in parts)):
        raise ValueError("not a scope")
    return parts[0], parts[1], parts[2]


async def page_scopes(
    session: AsyncSession, tenant: UUID, scope: Scope, *, cursor: str | None, limit: int
) -> tuple[list[ScopeSummary], str | None]:
    """Most recently active first, then by user, agent and session ids (absent first);
    keyset-paged on ``(last_activity, ids)``."""
    scopes = _summaries(tenant, scope)
    keys = tuple_(scopes.c.sort_user_id, scopes.c.sort_agent_id, scopes.c.sort_session_id)
    stmt = select(scopes)
    if cursor:
        moment, after = decode_cursor(cursor, _triple)
        stmt = stmt.where(
            or_(
                scopes.c.last_activity < moment,
                (scopes.c.last_activity == moment) & (keys > tuple_(*after)),
            )
        )
    stmt = stmt.order_by(
        scopes.c.last_activity.desc(),
        scopes.c.sort_user_id,
        scopes.c.sort_agent_id,
        scopes.c.sort_session_id,
    ).limit(limit + 1)
    rows = (await session.execute(stmt)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        sort_keys = [last.sort_user_id, last.sort_agent_id, last.sort_session_id]
        next_cursor = encode_cursor(last.last_activity, json.dumps(sort_keys))
    return [_summary(r) for r in rows], next_cursor


def _summary(row: Any) -> ScopeSummary:
    return ScopeSummary(
        scope=Scope(row.user_id, row.agent_id, row.session_id),
        episodes=int(row.episodes),
        facts=int(row.facts),
        entities=int(row.entities),
        last_activity=row.last_activity,
    )

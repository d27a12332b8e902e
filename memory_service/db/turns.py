"""Episodes read as a conversation: a scope's latest turns, and the turns around a hit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import (
    CompoundSelect,
    Integer,
    Select,
    bindparam,
    false,
    func,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.db.filters import (
    Shape,
    any_ids,
    per_shape,
    scope_binds,
    scope_filters,
    scope_values,
    shape_of,
)
from memory_service.db.metadata_filters import metadata_filters
from memory_service.db.models import EpisodeRow, table_of
from memory_service.domain.filters import MetadataFilter
from memory_service.domain.models import ContextTurn, Scope, Turn


async def recent_turns(
    session: AsyncSession,
    tenant: UUID,
    scope: Scope,
    vector: Sequence[float],
    *,
    limit: int,
    max_tokens: int | None = None,
    where: MetadataFilter | None = None,
) -> tuple[list[tuple[Turn, float]], bool]:
    """The scope's most recent turns (at most ``limit``, and at most ``max_tokens``
    of text at four characters a token), in time order, each with its exact cosine
    similarity to ``vector`` (no index, no approximation); and whether older ones
    were left out. Only turns whose metadata passes ``where`` are read. Only the turns
    returned are scored, and only the four columns a reader needs travel (a scan's
    cost is mostly rows crossing to Python)."""
    newest_first = (EpisodeRow.occurred_at.desc(), EpisodeRow.seq.desc())
    cost = func.greatest(func.length(EpisodeRow.text) / 4, 1)
    recent = (
        select(
            EpisodeRow.id,
            cost.label("cost"),
            func.sum(cost).over(order_by=newest_first).label("spent"),
            func.row_number().over(order_by=newest_first).label("n"),
        )
        .where(
            *scope_filters(EpisodeRow, tenant, scope),
            *metadata_filters(EpisodeRow.metadata_, where),
        )
        .subquery("recent")
    )
    similarity = (1 - EpisodeRow.embedding.cosine_distance(list(vector))).label("similarity")
    over = recent.c.n > limit
    # the first turn past either cap comes too: it tells that older ones exist
    wanted = [recent.c.n <= limit + 1]
    if max_tokens is not None:
        over = over | (recent.c.spent > max_tokens)
        wanted.append(recent.c.spent - recent.c.cost <= max_tokens)
    stmt = (
        select(
            EpisodeRow.id,
            EpisodeRow.speaker,
            EpisodeRow.text,
            EpisodeRow.occurred_at,
            similarity,
            over.label("over"),
        )
        .join(recent, recent.c.id == EpisodeRow.id)
        .where(EpisodeRow.tenant_id == tenant, *wanted)
        .order_by(EpisodeRow.occurred_at, EpisodeRow.seq)
    )
    rows = (await session.execute(stmt)).all()
    kept = [(Turn(r.id, r.speaker, r.text, r.occurred_at), float(r.similarity)) for r in rows]
    fits = [turn for turn, r in zip(kept, rows, strict=True) if not r.over]
    return fits, len(fits) < len(kept)


async def neighbours(
    session: AsyncSession,
    tenant: UUID,
    scope: Scope,
    ids: Sequence[UUID],
    window: int,
    where: MetadataFilter | None = None,
) -> dict[UUID, list[ContextTurn]]:
    """Up to ``window`` episodes of ``scope`` just before and just after each of
    ``ids``, in time order (two small index scans per episode, one round trip); only
    episodes passing ``where`` (a filtered search shows no turn its filter refuses)."""
    if not ids or window < 1:
        return {}
    found: dict[UUID, dict[bool, list[Any]]] = {i: {True: [], False: []} for i in ids}
    binds = scope_values(tenant, scope)
    shape = shape_of(binds)
    binds |= {"ids": list(ids), "window": window}
    for r in (await session.execute(_neighbours(shape, where), binds)).all():
        found[r.anchor][r.before].append(r)
    out: dict[UUID, list[ContextTurn]] = {}
    for anchor, sides in found.items():
        earlier = sorted(sides[True], key=lambda r: (r.occurred_at, r.seq))
        later = sorted(sides[False], key=lambda r: (r.occurred_at, r.seq))
        out[anchor] = [
            ContextTurn(r.id, r.speaker, r.text, r.occurred_at, i - len(earlier))
            for i, r in enumerate(earlier)
        ] + [
            ContextTurn(r.id, r.speaker, r.text, r.occurred_at, i + 1) for i, r in enumerate(later)
        ]
    return out


@per_shape
def _neighbours(shape: Shape, where: MetadataFilter | None) -> CompoundSelect[Any]:
    """The turns before the episodes ``:ids`` and those after them, at most
    ``:window`` each, in a scope of ``shape`` (``scope_binds``) passing ``where``;
    ``before`` says which side a row is on."""
    columns = table_of(EpisodeRow).c
    hit = select(columns.id, columns.occurred_at, columns.seq).where(
        columns.tenant_id == bindparam("tenant"),
        columns.id == any_ids(),
    )
    anchors = hit.cte("anchor")
    return union_all(
        _side(anchors, shape, where, before=True), _side(anchors, shape, where, before=False)
    )


def _side(anchors: Any, shape: Shape, where: MetadataFilter | None, *, before: bool) -> Select[Any]:
    near = table_of(EpisodeRow).alias("near")
    key = tuple_(near.c.occurred_at, near.c.seq)
    anchor_key = tuple_(anchors.c.occurred_at, anchors.c.seq)
    order = (
        (near.c.occurred_at.desc(), near.c.seq.desc())
        if before
        else (near.c.occurred_at, near.c.seq)
    )
    inner = (
        select(near.c.id, near.c.speaker, near.c.text, near.c.occurred_at, near.c.seq)
        .where(
            *scope_binds(near.c, shape),
            *metadata_filters(near.c.metadata, where),
            key < anchor_key if before else key > anchor_key,
        )
        .order_by(*order)
        .limit(bindparam("window", type_=Integer()))
        .lateral("n")
    )
    side = (true() if before else false()).label("before")
    return (
        select(anchors.c.id.label("anchor"), side, inner).select_from(anchors).join(inner, true())
    )

"""Shared SQL pieces: scope filters, keyset cursors, full-text queries."""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Integer,
    Select,
    String,
    Text,
    Uuid,
    any_,
    bindparam,
    cast,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.ext.asyncio import AsyncSession

from memory_service.db.metadata_filters import metadata_filters
from memory_service.domain.errors import InvalidInput
from memory_service.domain.filters import MetadataFilter
from memory_service.domain.models import Scope, SearchQuery

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SearchTuning:
    """How much work a search's lists may do: candidates the HNSW lists visit
    (``hnsw.ef_search``), the scope's newest encoded episodes the learned-sparse list
    scores, and the matched rows above which full text leaves out common terms."""

    ef_search: int = 100
    sparse_scan: int = 10_000
    text_budget: int = 5_000


DEFAULT_TUNING = SearchTuning()
TEXT_OVERFETCH = 4
"""Under a metadata filter, full text asks its function for this many times ``k`` rows:
the function ranks the scope's matches without reading metadata, and the filter drops
some of them when they are joined back (``text_hits``)."""
MAX_TEXT_TERMS = 64
"""The most words of a query full-text search ORs together: a query of thousands of
distinct words overflows PostgreSQL's stack in ``plainto_tsquery`` (and a repeated word
its tsquery size limit), and would read most of the scope anyway."""
_WORD = re.compile(r"\w+")


SCOPE_PARTS = ("user_id", "agent_id", "session_id")

Shape = tuple[str, ...]
"""The names a search statement binds that a search may leave out: those of the scope's
parts and the period's ends that it gives (``search_binds``). A search statement is
built once per shape (``per_shape``), not once per search."""


def scope_filters(table: Any, tenant: Any, scope: Scope) -> list[ColumnElement[bool]]:
    """``tenant_id = :tenant`` plus one equality per scope part that is given."""
    clauses: list[ColumnElement[bool]] = [table.tenant_id == tenant]
    for name in SCOPE_PARTS:
        value = getattr(scope, name)
        if value is not None:
            clauses.append(getattr(table, name) == value)
    return clauses


def scope_values(tenant: Any, scope: Scope) -> dict[str, Any]:
    """The values of ``scope_binds``: ``tenant``, and those of the scope's parts that
    are given. Its keys after the first are the statement's shape (``shape_of``)."""
    binds: dict[str, Any] = {"tenant": tenant}
    for name in SCOPE_PARTS:
        value = getattr(scope, name)
        if value is not None:
            binds[name] = value
    return binds


def search_binds(tenant: Any, query: SearchQuery) -> dict[str, Any]:
    """The values of a search statement's ``scope_binds`` and ``period_binds``:
    ``scope_values``, and those of ``since`` and ``until`` that the query gives."""
    binds = scope_values(tenant, query.scope)
    if query.since is not None:
        binds["since"] = query.since
    if query.until is not None:
        binds["until"] = query.until
    return binds


def shape_of(binds: dict[str, Any]) -> Shape:
    """The shape of ``scope_values`` or ``search_binds``: their keys after ``tenant``."""
    return tuple(binds)[1:]


def scope_binds(table: Any, shape: Shape) -> list[ColumnElement[bool]]:
    """``scope_filters`` with bound parameters: ``tenant_id = :tenant``, and
    ``<part> = :<part>`` for each scope part in ``shape``."""
    clauses: list[ColumnElement[bool]] = [table.tenant_id == bindparam("tenant")]
    clauses += [getattr(table, name) == bindparam(name) for name in SCOPE_PARTS if name in shape]
    return clauses


def period_binds(moment: Any, shape: Shape) -> list[ColumnElement[bool]]:
    """``moment >= :since`` and ``moment < :until``, those in ``shape``."""
    clauses: list[ColumnElement[bool]] = []
    if "since" in shape:
        clauses.append(moment >= bindparam("since"))
    if "until" in shape:
        clauses.append(moment < bindparam("until"))
    return clauses


def any_ids() -> ColumnElement[Any]:
    """``ANY(:ids)``, ``ids`` a list of UUIDs bound as one array: the statement's SQL
    is the same however many there are, so the driver prepares it once per connection
    (an ``IN`` list is new SQL for each length, and prepared again)."""
    return any_(bindparam("ids", type_=ARRAY(PgUUID(as_uuid=True))))


def per_shape(
    build: Callable[[Shape, MetadataFilter | None], T],
) -> Callable[[Shape, MetadataFilter | None], T]:
    """``build(shape, where)``, built once per shape when there is no metadata filter
    (the shapes are few), and each time under one: a filter's values are in its SQL.
    SQLAlchemy building a statement costs more Python than running it once built."""
    once = functools.cache(lambda shape: build(shape, None))

    @functools.wraps(build)
    def statement(shape: Shape, where: MetadataFilter | None) -> T:
        return once(shape) if where is None else build(shape, where)

    return statement


async def tune_vector_scan(session: AsyncSession, ef_search: int) -> None:
    """HNSW with filters: let pgvector 0.8 keep scanning until enough rows pass; and plan
    each search for its own scope (a custom plan), so that a small scope is scored
    exactly from the scope index and a large one is read from the graph, whichever
    scope the connection's cached statement last served. Nothing to do where this
    transaction has them already with as large an ``hnsw.ef_search`` (two vector lists
    on one connection, when a search borrows none)."""
    if vector_scan(session) >= ef_search:
        return
    await session.execute(_TUNE_VECTOR_SCAN, {"ef": str(int(ef_search))})
    mark_vector_scan(session, ef_search)


def mark_vector_scan(session: AsyncSession, ef_search: int) -> None:
    """Note that this transaction has the vector scan's settings (``VECTOR_SETTINGS``,
    sent by ``tune_vector_scan`` or with the transaction's first statement)."""
    session.info[VECTOR_SCAN] = (session.sync_session.get_transaction(), int(ef_search))


def vector_scan(session: AsyncSession) -> int:
    """The ``hnsw.ef_search`` that ``tune_vector_scan`` set in the transaction
    ``session`` is in; 0 when it has not (a later transaction of the same session has
    not, whatever an earlier one did)."""
    marked = session.info.get(VECTOR_SCAN)
    if marked is None or marked[0] is not session.sync_session.get_transaction():
        return 0
    return int(marked[1])


VECTOR_SCAN = "memory.vector_scan"
"""The key in a session's ``info`` of the transaction ``tune_vector_scan`` ran in, and
its ``hnsw.ef_search``."""
VECTOR_SETTINGS = (
    "set_config('hnsw.ef_search', :ef, true), "
    "set_config('plan_cache_mode', 'force_custom_plan', true), "
    "set_config('hnsw.iterative_scan', 'relaxed_order', true)"
)
"""``SET LOCAL`` of the three (``:ef``: ``hnsw.ef_search`` as text), as a select list."""
_TUNE_VECTOR_SCAN = text("SELECT " + VECTOR_SETTINGS)
"""The three in one round trip. Only for the vector lists: a custom plan for every
statement of a search would cost each its planning (about 1 ms more for the full-text
list over 100,000 turns)."""


def few_terms(text: str, most: int = MAX_TEXT_TERMS) -> str:
    """``text`` as it is when it has at most ``most`` words, else its first ``most``
    distinct words (lower-cased): the words a full-text query is built from."""
    words = _WORD.findall(text)
    if len(words) <= most:
        return text
    return " ".join(list(dict.fromkeys(w.lower() for w in words))[:most])


def any_terms_tsquery(terms: ColumnElement[Any]) -> ColumnElement[Any]:
    """A tsquery matching any of the terms (plainto_tsquery ANDs them); bind ``terms``
    to ``few_terms`` of the query's text.

    Wrapped in a scalar subquery so PostgreSQL computes it once per statement (an
    InitPlan) rather than once per row under a generic prepared plan.
    """
    english: ColumnElement[Any] = literal_column("'english'::regconfig")
    plain = cast(func.plainto_tsquery(english, cast(terms, Text)), Text)
    return select(cast(func.replace(plain, " & ", " | "), TSQUERY)).scalar_subquery()


def text_hits(function: str) -> Any:
    """The ``(id, rank)`` rows of a full-text search function (migration 0005): the
    query's best ``:hits`` matches in its scope and period, read through the GIN index
    (its values: ``text_binds``). In a scope of more than ``:budget`` rows the query's
    commonest terms are left out while the rest would match more than ``:budget`` rows
    (by the planner's statistics), so that the ranking never reads the scope's every
    row. Join the rows back to their table, whose row-level security checks the tenant
    again, and there apply the query's metadata filter."""
    call = getattr(func, function)(
        bindparam("tenant", type_=Uuid()),
        any_terms_tsquery(bindparam("terms", type_=String())),
        *(bindparam(name, type_=String()) for name in SCOPE_PARTS),
        bindparam("since", type_=DateTime(timezone=True)),
        bindparam("until", type_=DateTime(timezone=True)),
        bindparam("hits", type_=Integer()),
        bindparam("budget", type_=Integer()),
    )
    return call.table_valued("id", "rank").alias("hits")


def text_search(
    table: Any,
    function: str,
    columns: Sequence[Any],
    tiebreak: Any,
    where: MetadataFilter | None,
) -> Select[Any]:
    """``columns`` of ``table``'s rows that ``function`` (``text_hits``) ranks best,
    ``tiebreak`` breaking equal ranks, at most ``:k`` passing ``where``: binds
    ``text_binds`` and ``k``. The tenant is checked again in the join, under
    row-level security."""
    hits = text_hits(function)
    return (
        select(*columns, hits.c.rank)
        .select_from(hits)
        .join(table, table.c.id == hits.c.id)
        .where(
            table.c.tenant_id == bindparam("tenant"),
            *metadata_filters(table.c.metadata, where),
        )
        .order_by(hits.c.rank.desc(), tiebreak)
        .limit(bindparam("k", type_=Integer()))
    )


def similarities(table: Any) -> Select[Any]:
    """Exact cosine similarity to ``:vector`` and utility Q of ``table``'s rows ``:ids``
    of ``:tenant``."""
    similarity = 1 - table.c.embedding.cosine_distance(bindparam("vector"))
    return select(table.c.id, similarity.label("similarity"), table.c.utility).where(
        table.c.tenant_id == bindparam("tenant"),
        table.c.id == any_ids(),
    )


def text_binds(tenant: Any, query: SearchQuery, k: int, budget: int) -> dict[str, Any]:
    """The values of ``text_hits``: under a metadata filter the function is asked for
    ``TEXT_OVERFETCH`` times ``k`` rows, so that up to ``k`` usually pass it (fewer when
    it keeps less than one in ``TEXT_OVERFETCH`` of the best matches)."""
    scope = query.scope
    return {
        "tenant": tenant,
        "terms": few_terms(query.text),
        "user_id": scope.user_id,
        "agent_id": scope.agent_id,
        "session_id": scope.session_id,
        "since": query.since,
        "until": query.until,
        "hits": k * TEXT_OVERFETCH if query.filters is not None else k,
        "budget": budget,
    }


def encode_cursor(moment: datetime, tiebreak: int | str) -> str:
    raw = json.dumps([moment.isoformat(), tiebreak]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, tiebreak: Callable[[Any], T]) -> tuple[datetime, T]:
    """The position ``encode_cursor`` wrote; ``tiebreak`` reads its second part (raising
    ValueError or TypeError when it is not one). Anything else than a cursor this service
    wrote is a 422, never a value the database would choke on."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment, last = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return _utc_moment(moment), tiebreak(last)
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInput({"cursor": "malformed cursor"}) from exc


def _utc_moment(text: str) -> datetime:
    """A cursor's time, in UTC (naive: taken as UTC); OverflowError when it falls outside
    years 1 to 9999 there, ValueError when it is not a time."""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def sequence_number(value: Any) -> int:
    """A cursor's tiebreak that is a BIGINT sequence number."""
    if type(value) is not int or not -(2**63) <= value < 2**63:
        raise ValueError(f"not a sequence number: {value!r}")
    return value

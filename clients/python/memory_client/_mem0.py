"""Mem0's call shapes, turned into ours: ``run_id`` as ``session_id``, and the ids Mem0
2.x lets a caller put inside ``filters`` pulled out into the scope fields.

Pure functions; ``_routes`` calls them before building a request. A shape that cannot
be said in our terms raises ``ValueError`` here, before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_SCOPE_KEYS: Mapping[str, str] = {
    "user_id": "user_id",
    "agent_id": "agent_id",
    "run_id": "session_id",
    "session_id": "session_id",
}
"""Mem0's id keys (and ours) and the scope field each one sets."""


@dataclass(frozen=True, slots=True)
class Scoped:
    """The scope a call names, and the metadata filter left once ids are pulled out."""

    user_id: str | None = None
    agent_id: str | None = None
    session_id: str | None = None
    filters: dict[str, Any] | None = None


def session_of(session_id: str | None, run_id: str | None) -> str | None:
    """``run_id`` (Mem0's name) and ``session_id`` (ours) are one field: either, or both
    when they agree."""
    if session_id is not None and run_id is not None and session_id != run_id:
        raise ValueError(f"run_id {run_id!r} and session_id {session_id!r} disagree")
    return session_id if session_id is not None else run_id


def scoped(
    filters: Mapping[str, Any] | None,
    *,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    run_id: str | None,
) -> Scoped:
    """The scope from the keyword ids and from ``filters``, and the rest of ``filters``.

    An id may sit at the top level of ``filters`` (``{"user_id": "alice", ...}``) or as
    one clause of its top-level ``AND`` (``{"AND": [{"user_id": "alice"}, ...]}``), as
    an exact value (a string, or ``{"eq": "alice"}``). Anywhere else (under ``OR`` or
    ``NOT``, or as ``in``, ``ne`` or the wildcard ``"*"``) it cannot become a scope, and
    is refused rather than sent on as a metadata key.
    """
    ids: dict[str, str | None] = {
        "user_id": user_id,
        "agent_id": agent_id,
        "session_id": session_of(session_id, run_id),
    }
    rest: dict[str, Any] = {}
    for key, value in (filters or {}).items():
        if key in _SCOPE_KEYS:
            _take(ids, key, value)
        elif key == "AND" and isinstance(value, list):
            kept = [clause for clause in value if not _took_clause(ids, clause)]
            if kept:
                rest["AND"] = kept
        else:
            _refuse_nested_ids(value, key)
            rest[key] = value
    return Scoped(ids["user_id"], ids["agent_id"], ids["session_id"], rest or None)


def _took_clause(ids: dict[str, str | None], clause: Any) -> bool:
    """Whether ``clause`` (one item of the top-level AND) was an id, now in ``ids``."""
    if isinstance(clause, Mapping) and len(clause) == 1:
        ((key, value),) = clause.items()
        if key in _SCOPE_KEYS:
            _take(ids, key, value)
            return True
    _refuse_nested_ids(clause, "AND")
    return False


def _take(ids: dict[str, str | None], key: str, value: Any) -> None:
    exact = value.get("eq") if isinstance(value, Mapping) and set(value) == {"eq"} else value
    if not isinstance(exact, str) or exact == "*":
        raise ValueError(
            f"filters: {key} must be an exact id (a string or {{'eq': id}}); "
            f"got {value!r}, which this service cannot scope by"
        )
    field = _SCOPE_KEYS[key]
    if ids[field] is not None and ids[field] != exact:
        raise ValueError(f"filters: {key} {exact!r} disagrees with {field} {ids[field]!r}")
    ids[field] = exact


def _refuse_nested_ids(value: Any, where: str) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key in _SCOPE_KEYS:
                raise ValueError(
                    f"filters: {key} under {where} cannot be a scope; give it at the top "
                    "level or in the top-level AND"
                )
            _refuse_nested_ids(inner, where)
    elif isinstance(value, list):
        for inner in value:
            _refuse_nested_ids(inner, where)


def limit_of(limit: int, top_k: int | None) -> int:
    """Mem0's ``top_k`` is our ``limit``; given, it wins over the default."""
    return limit if top_k is None else top_k

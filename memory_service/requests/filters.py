"""Metadata filters as requests carry them: a JSON object in a body, or serialized in the
``filters`` query parameter of a listing (``domain.filters`` has the grammar)."""

from __future__ import annotations

import json
from typing import Any

from memory_service.domain.errors import InvalidInput
from memory_service.domain.filters import NO_FILTERS, Filters, parse_filters
from memory_service.domain.text import json_problem

FILTERS_DESCRIPTION = (
    "Mem0's filter grammar over metadata: {'AND'|'OR'|'NOT': [filter, ...]}, "
    "{key: value} (equality; '*': present), {key: {op: value}} with op one of eq, ne, "
    "in, nin, gt, gte, lt, lte, contains, icontains; user_id, agent_id and run_id "
    "select the scope (under AND only)."
)
FILTERS_PARAM = "A metadata filter (as the body field of search) serialized as JSON."
MAX_PARAM_CHARS = 8192


def from_body(raw: dict[str, Any] | None) -> Filters:
    """A body's ``filters`` (already a checked JSON object), parsed."""
    return NO_FILTERS if raw is None else parse_filters(raw)


def from_param(raw: str | None) -> Filters:
    """A query parameter holding the filter object as JSON, parsed; InvalidInput when it
    is not JSON, not an object, or not a filter."""
    if raw is None or not raw.strip():
        return NO_FILTERS
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput({"filters": f"not JSON: {exc}"}) from exc
    if not isinstance(value, dict):
        raise InvalidInput({"filters": "must be a JSON object"})
    problem = json_problem(value)
    if problem is not None:
        raise InvalidInput({"filters": problem})
    return parse_filters(value)

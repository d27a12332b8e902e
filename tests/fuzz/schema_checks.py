"""What schemathesis runs with: the served schema, its settings, the checks every
response gets, and the proof that a rejected write stored nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Connection, text

from memory_service.api.app import create_app
from memory_service.config import Settings

TENANT = "fuzz"
TABLES = (
    "episodes",
    "memories",
    "memory_history",
    "entities",
    "hyperedge_members",
    "retrievals",
    "feedback",
    "jobs",
    "idempotency_keys",
)
# The tables whose rows the others hang from (ON DELETE CASCADE)
ROOTS = ("memories", "episodes", "entities", "retrievals", "jobs", "idempotency_keys")
DATE_FIELDS = frozenset({"occurred_at", "since", "until", "now", "valid_from", "valid_to"})
TENANT_ID = "SELECT id FROM tenants WHERE name = :tenant"
SETTLE_TIMEOUT_S = 10.0
WRITES = frozenset({"POST", "PATCH", "DELETE", "PUT"})
Snapshot = dict[str, tuple[int, str]]
Snapshotter = Callable[[], Snapshot]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20_261_127,
        "generation": {
            "mode": "all",
            "max-examples": 25,
            "deterministic": True,
            "database": "none",
            # The key is ours (a real one); `ignored_auth` checks the 401s.
            "with-security-parameters": False,
            # Unknown query parameters are ignored, as everywhere in FastAPI.
            "allow-extra-parameters": False,
        },
        "request-timeout": 30,
    }
)
# The schema the server serves, built in process without touching a database:
# schemathesis needs it when tests are collected, before any fixture runs.
DOCUMENT = create_app(Settings(_env_file=None, database_url="postgresql+asyncpg://-/-")).openapi()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
SETTINGS = settings(suppress_health_check=list(HealthCheck))
STATEFUL_SETTINGS = settings(
    max_examples=15,
    stateful_step_count=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def error_body(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """Every 4xx and 5xx answer is ``{"error": <str>, "detail": ...}``."""
    if response.status_code < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"error body is not JSON: {response.text[:300]!r}") from None
    assert isinstance(body, dict), f"error body is not an object: {response.text[:300]}"
    assert isinstance(body.get("error"), str), f"no string 'error': {response.text[:300]}"
    assert "detail" in body, f"no 'detail': {response.text[:300]}"
    return True


def rejects_invalid_input(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """``negative_data_rejection``, less pydantic's lax coercions (see the fuzz report):
    a number where the schema says a date-time string (read as Unix seconds), a numeric
    string where it says a number. Any other violation of the schema must get a 4xx."""
    try:
        return negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData as failure:
        one_wrong_type = failure.message.rstrip().endswith(": Incorrect type")
        if (one_wrong_type and "\n  - " not in failure.message) or numeric_dates(case):
            return None
        raise


def numeric_dates(case: Case) -> bool:
    """Whether a date-time field of the request holds a number (or a numeric string)."""
    fields = [case.query or {}]
    if isinstance(case.body, dict):
        fields.append(case.body)
        messages = case.body.get("messages")
        if isinstance(messages, list):
            fields += [m for m in messages if isinstance(m, dict)]
    for values in fields:
        for name in DATE_FIELDS & set(values):
            value = values[name]
            if isinstance(value, int | float) and not isinstance(value, bool):
                return True
            if isinstance(value, str) and value.lstrip("+-").replace(".", "", 1).isdigit():
                return True
    return False


CHECKS = [
    not_a_server_error,
    error_body,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    rejects_invalid_input,
    ignored_auth,
]


def settle(conn: Connection) -> None:
    """Wait until no other session of the database is inside a transaction.

    The server commits a request's transaction after it has sent the answer (FastAPI
    runs the exit of ``get_uow``, a dependency with yield, after the response; see the
    fuzz report), so a 2xx write can land just after its answer: without this wait it
    would look like a change made by the next, rejected, request."""
    busy = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        " AND state <> 'idle'"
    )
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while conn.execute(busy).scalar():
        assert time.monotonic() < deadline, "a transaction of the server stays open"
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))  # see the sessions anew
        time.sleep(0.005)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def call_checking_rejected_writes(case: Case, snapshot: Snapshotter, **kwargs: Any) -> Response:
    """``case.call(**kwargs)``; when it is a write answered 4xx, assert it stored nothing."""
    before = snapshot() if case.method.upper() in WRITES else None
    response = case.call(**kwargs)
    if before is not None and 400 <= response.status_code < 500:
        after = snapshot()
        changed = {t: (before[t], after[t]) for t in TABLES if before[t] != after[t]}
        assert not changed, (
            f"{case.method.upper()} {case.formatted_path} answered {response.status_code} "
            f"but changed (rows, md5) of {changed}: {response.text[:300]}"
        )
    return response

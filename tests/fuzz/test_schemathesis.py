"""Schemathesis over the service's own OpenAPI schema, against a real server.

The app runs under uvicorn in a subprocess (``server_url`` in conftest), over the test
database. In process it cannot: schemathesis' ASGI transport is blocking and runs the
app in an event loop of its own, while the engine of ``components`` belongs to the
session's loop. For the same reason the test bodies (sync, driven by Hypothesis) read
the database through a blocking engine of their own, not through ``components.uow()``.

Checks, on every response: no 5xx; every 4xx/5xx has the body ``{"error", "detail"}``;
status codes, content types, headers and bodies as documented; schema-violating input
is rejected; a missing or wrong key gets 401; and a rejected write (4xx on POST, PATCH,
DELETE) leaves every table of the tenant exactly as it was.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
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
from sqlalchemy import Connection, Engine, create_engine, text

from memory_service.api.app import create_app
from memory_service.bootstrap import Components
from memory_service.config import Settings
from memory_service.db.session import sync_url
from tests.conftest import new_key

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


@pytest.fixture(scope="module")
def sync_engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(sync_url(database_url))
    yield engine
    engine.dispose()


@pytest.fixture
async def fuzz_key(components: Components) -> str:
    """A key of a fresh tenant; the ``components`` teardown empties the database."""
    return await new_key(components, TENANT)


@pytest.fixture
def seeded(server_url: str, fuzz_key: str) -> None:
    """A little data of the tenant, so that lists, search and export have items."""
    with httpx.Client(base_url=server_url, headers=auth(fuzz_key)) as http:
        messages = [{"content": "Caroline adopted a greyhound"}, {"content": "Pixel runs"}]
        r = http.post("/v1/messages", json={"user_id": "u", "messages": messages})
        assert r.status_code == 201, r.text
        r = http.post("/v1/memories", json={"user_id": "u", "text": "Pixel is a greyhound"})
        assert r.status_code == 201, r.text


@pytest.fixture
def snapshot(sync_engine: Engine, fuzz_key: str) -> Snapshotter:
    """Per tenant table: (rows, md5 of their contents) of the fuzzed tenant, once no
    transaction of the server is open."""
    parts = [
        f"SELECT '{t}', count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), ''))"
        f" FROM {t} x WHERE tenant_id = ({TENANT_ID})"
        for t in TABLES
    ]
    query = text(" UNION ALL ".join(parts))

    def take() -> Snapshot:
        with sync_engine.connect() as conn:
            settle(conn)
            rows = conn.execute(query, {"tenant": TENANT}).all()
        return {name: (count, digest) for name, count, digest in rows}

    return take


@pytest.fixture
def empty(sync_engine: Engine, fuzz_key: str) -> Callable[[], None]:
    """Delete every row of the tenant but its key (the rest goes by ON DELETE CASCADE)."""

    def run() -> None:
        with sync_engine.begin() as conn:
            settle(conn)
            for table in ROOTS:
                query = text(f"DELETE FROM {table} WHERE tenant_id = ({TENANT_ID})")
                conn.execute(query, {"tenant": TENANT})

    return run


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


@pytest.mark.usefixtures("seeded")
@SCHEMA.parametrize()
@SETTINGS
def test_every_operation_conforms(
    case: Case, server_url: str, fuzz_key: str, snapshot: Snapshotter
) -> None:
    """Each operation on its own: the schema's examples, its coverage cases (boundaries,
    missing and wrong fields) and 25 generated inputs, valid and invalid."""
    kwargs: dict[str, Any] = {"base_url": server_url, "headers": auth(fuzz_key)}
    response = call_checking_rejected_writes(case, snapshot, **kwargs)
    case.validate_response(
        response, checks=CHECKS, headers=kwargs["headers"], transport_kwargs=kwargs
    )


def test_sequences_over_inferred_links(
    server_url: str, fuzz_key: str, snapshot: Snapshotter, empty: Callable[[], None]
) -> None:
    """Sequences that feed ids from one answer into the next request (links schemathesis
    infers, e.g. POST /v1/memories -> GET, PATCH, DELETE /v1/memories/{id} and history),
    so that reads and edits reach rows that exist."""
    kwargs: dict[str, Any] = {"base_url": server_url, "headers": auth(fuzz_key)}
    reached: Counter[str] = Counter()

    class Sequences(SCHEMA.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each scenario from an empty tenant: the same requests get the same answers,
            # which Hypothesis needs (links make what it draws depend on the answers).
            empty()

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return kwargs

        def call(self, case: Case, **call_kwargs: Any) -> Response:
            response = call_checking_rejected_writes(case, snapshot, **call_kwargs)
            reached[f"{case.method.upper()} {case.path} {response.status_code // 100}xx"] += 1
            return response

        def validate_response(
            self,
            response: Response,
            case: Case,
            additional_checks: Any = None,
            **call_kwargs: Any,
        ) -> None:
            case.validate_response(
                response,
                checks=CHECKS,
                headers=call_kwargs["headers"],
                transport_kwargs=call_kwargs,
            )

    Sequences.run(settings=STATEFUL_SETTINGS)
    # The links must have carried real ids: some reads and edits found their row.
    # (One of them is enough: which ones a seeded run reaches depends on the data left
    # by earlier tests, and a coverage check must not make the suite flaky.)
    by_id = ("GET", "PATCH", "DELETE")
    found = sum(reached[f"{m} /v1/memories/{{memory_id}} 2xx"] for m in by_id)
    assert found > 0, sorted(reached.items())

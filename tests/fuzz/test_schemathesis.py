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

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from schemathesis import Case, Response
from sqlalchemy import Engine, create_engine, text

from memory_service.bootstrap import Components
from memory_service.db.session import sync_url
from tests.conftest import new_key
from tests.fuzz.schema_checks import (
    CHECKS,
    ROOTS,
    SCHEMA,
    SETTINGS,
    STATEFUL_SETTINGS,
    TABLES,
    TENANT,
    TENANT_ID,
    Snapshot,
    Snapshotter,
    auth,
    call_checking_rejected_writes,
    settle,
)


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

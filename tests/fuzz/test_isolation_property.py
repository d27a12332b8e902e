"""Property: whatever two tenants do, through any endpoint, neither ever sees, changes or
deletes the other's data; and each one's data is exactly what its own operations imply.

Hypothesis drives a state machine (sync) against the in-process app. The app, its own
engine and the HTTP clients live on an event loop in a thread of their own: the
session loop of pytest-asyncio is not running while a sync test runs, and its engine
cannot be used from another loop. httpx's ASGI transport returns only once the app is
done (the transaction committed), so every answer is already visible to the next call.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant, run_state_machine_as_test

from memory_service.config import Settings
from tests.fuzz.tenant_reads import Reads
from tests.fuzz.tenant_writes import Writes
from tests.fuzz.two_tenants import NAMES, Loop, Service, in_process

MODEL_KINDS = ("episode", "memory", "history")  # the export records checked against the model
SETTINGS = settings(
    max_examples=30,
    stateful_step_count=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture
def service(settings: Settings) -> Iterator[Service]:
    loop = Loop()
    parts, http = in_process(settings)
    engine = parts.engine
    service = Service(loop, parts, http)
    try:
        yield service
    finally:
        service.reset()
        loop.run(http.aclose())
        loop.run(engine.dispose())
        loop.close()


class TwoTenants(Writes, Reads):
    """Every rule of ``Writes`` and ``Reads``, interleaved; the invariant after each."""

    @invariant()
    def stored_as_implied(self) -> None:
        for who in NAMES:
            self.check_lists(who)
            self.check_export(who)

    def check_lists(self, who: str) -> None:
        t = self.t[who]
        r = self.call(who, "GET", "/v1/episodes", params={"limit": 100})
        assert r.status_code == 200, r.text
        episodes = {e["id"]: e for e in r.json()["items"]}
        assert episodes.keys() == t.episodes.keys()
        for i, e in episodes.items():
            want = t.episodes[i]
            assert (e["content"], e["user_id"]) == (want.text, want.user)
            assert math.isclose(e["utility"], want.utility, abs_tol=1e-9), (e, want)
        params = {"limit": 100, "include_inactive": "true"}
        r = self.call(who, "GET", "/v1/memories", params=params)
        assert r.status_code == 200, r.text
        memories = {m["id"]: m for m in r.json()["items"]}
        assert memories.keys() == t.memories.keys()
        for i, m in memories.items():
            want = t.memories[i]
            assert (m["text"], m["user_id"], m["status"]) == (want.text, want.user, want.status)
            assert math.isclose(m["utility"], want.utility, abs_tol=1e-9), (m, want)

    def check_export(self, who: str) -> None:
        r = self.call(who, "GET", "/v1/export")
        assert r.status_code == 200, r.text
        records = [json.loads(line) for line in r.text.splitlines()]
        t = self.t[who]
        of = {kind: [x for x in records if x["type"] == kind] for kind in MODEL_KINDS}
        assert {x["id"]: x["text"] for x in of["episode"]} == {
            i: e.text for i, e in t.episodes.items()
        }
        assert {x["id"]: (x["text"], x["status"]) for x in of["memory"]} == {
            i: (m.text, m.status) for i, m in t.memories.items()
        }
        assert sorted((x["memory_id"], x["op"]) for x in of["history"]) == sorted(
            (i, op) for i, m in t.memories.items() for op in m.ops
        )


def test_tenants_never_touch_each_other(service: Service) -> None:
    TwoTenants.service = service
    run_state_machine_as_test(TwoTenants, settings=SETTINGS)

"""Property: whatever two tenants do, through any endpoint, neither ever sees, changes or
deletes the other's data; and each one's data is exactly what its own operations imply.

Hypothesis drives a state machine (sync) against the in-process app. The app, its own
engine and the HTTP clients live on an event loop in a thread of their own: the
session loop of pytest-asyncio is not running while a sync test runs, and its engine
cannot be used from another loop. httpx's ASGI transport returns only once the app is
done (the transaction committed), so every answer is already visible to the next call.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from memory_service.api.app import create_app
from memory_service.bootstrap import Components
from memory_service.config import Settings
from memory_service.db.session import make_engine, make_sessionmaker
from memory_service.services import tenants
from memory_service.testing import HashEmbedder

T = TypeVar("T")
NAMES = ("alpha", "beta")
USERS = ("u1", "u2")
# Words both tenants use, so that search and context would find the other's rows if a
# tenant filter were missing; each text also carries its tenant's marker.
WORDS = ("greyhound", "vault code", "pixel", "holiday in Lisbon")
MODEL_KINDS = ("episode", "memory", "history")  # the export records checked against the model
ALPHA = 0.3  # the feedback learning rate (services.feedback.ALPHA)
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SETTINGS = settings(
    max_examples=30,
    stateful_step_count=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@dataclass
class Item:
    text: str
    user: str
    status: str = "active"
    utility: float = 0.0
    ops: list[str] = field(default_factory=list)


@dataclass
class Tenant:
    """What one tenant's own operations imply is stored."""

    name: str
    key: str = ""
    n: int = 0
    episodes: dict[str, Item] = field(default_factory=dict)
    memories: dict[str, Item] = field(default_factory=dict)
    # retrieval id -> (user, the (kind, id) it returned, whether /v1/context made it)
    retrievals: dict[str, tuple[str, list[tuple[str, str]], bool]] = field(default_factory=dict)
    jobs: dict[str, str] = field(default_factory=dict)
    # every id it ever got, with its kind, in the order it got them (so that what
    # Hypothesis picks by index does not depend on the random values of the ids)
    born: dict[str, str] = field(default_factory=dict)

    @property
    def marker(self) -> str:
        return f"{self.name}qx"

    def text(self, word: str) -> str:
        self.n += 1
        return f"{self.marker} {word} {self.n}"

    def ids(self) -> set[str]:
        return set(self.born)


class Loop:
    """An event loop in a thread of its own; ``run`` blocks on a coroutine there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class Service:
    loop: Loop
    components: Components
    http: httpx.AsyncClient

    def reset(self) -> dict[str, str]:
        """Empty every tenant table; a fresh key per tenant."""
        return self.loop.run(self._reset())

    async def _reset(self) -> dict[str, str]:
        async with self.components.engine.begin() as conn:
            await conn.execute(text("TRUNCATE tenants CASCADE"))
        keys = {}
        for name in NAMES:
            async with self.components.uow() as uow:
                keys[name] = (await tenants.issue_key(uow, name, "property")).secret
        return keys

    def request(self, key: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"}
        return self.loop.run(self.http.request(method, url, headers=headers, **kwargs))


@pytest.fixture
def service(settings: Settings) -> Iterator[Service]:
    loop = Loop()
    engine = make_engine(settings.database_url or "", pool_size=2)
    parts = Components(
        settings=settings.model_copy(update={"rate_limit_per_minute": 0}),
        engine=engine,
        sessions=make_sessionmaker(engine),
        embedder=HashEmbedder(),
        database_url=settings.database_url or "",
    )
    app = create_app(components=parts, background=False)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")
    service = Service(loop, parts, http)
    try:
        yield service
    finally:
        service.reset()
        loop.run(http.aclose())
        loop.run(engine.dispose())
        loop.close()


class TwoTenants(RuleBasedStateMachine):
    service: Service

    def __init__(self) -> None:
        super().__init__()
        keys = self.service.reset()
        self.t = {name: Tenant(name, key=keys[name]) for name in NAMES}

    # -- calls, and the check every answer gets ----------------------------------

    def call(self, who: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """The request as ``who``; its answer must hold nothing of the other tenant's
        (its ids, unless ``who`` sent them, or its marker)."""
        r = self.service.request(self.t[who].key, method, url, **kwargs)
        assert r.status_code < 500, f"{method} {url} {kwargs}: {r.status_code} {r.text}"
        other = self.t[self.other(who)]
        sent = set(UUID_RE.findall(url + json.dumps(kwargs, default=str)))
        leaked = (set(UUID_RE.findall(r.text)) - sent) & other.ids()
        assert not leaked, f"{who} got {other.name}'s ids {leaked}: {method} {url} -> {r.text}"
        assert other.marker not in r.text, f"{who} saw {other.name}'s text: {url} -> {r.text}"
        return r

    @staticmethod
    def other(who: str) -> str:
        return NAMES[1 - NAMES.index(who)]

    def pick(self, data: st.DataObject, who: str, kind: str) -> tuple[str, str | None]:
        """An id of ``kind`` to aim at: the caller's own or the other's; with its owner."""
        pool = [(i, n) for n in NAMES for i, k in self.t[n].born.items() if k == kind]
        return data.draw(st.sampled_from(pool)) if pool else (str(data.draw(st.uuids())), None)

    # -- writes ------------------------------------------------------------------

    @initialize(word=st.sampled_from(WORDS))
    def seed(self, word: str) -> None:
        """Both tenants start with episodes and facts of the same users, with the same
        words: every later step has rows of both to aim at."""
        for who in NAMES:
            for user in USERS:
                self.add_messages(who, user, [word])
                self.add_memory(who, user, word)

    @rule(
        who=st.sampled_from(NAMES),
        user=st.sampled_from(USERS),
        words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=2),
    )
    def add_messages(self, who: str, user: str, words: list[str]) -> None:
        t = self.t[who]
        texts = [t.text(w) for w in words]
        body = {"user_id": user, "messages": [{"content": x} for x in texts]}
        r = self.call(who, "POST", "/v1/messages", json=body)
        assert r.status_code == 201, r.text
        out = r.json()
        for episode_id, content in zip(out["episode_ids"], texts, strict=True):
            t.episodes[episode_id] = Item(content, user)
            t.born[episode_id] = "episode"
        t.jobs[out["job_id"]] = user
        t.born[out["job_id"]] = "job"

    @rule(who=st.sampled_from(NAMES), user=st.sampled_from(USERS), word=st.sampled_from(WORDS))
    def add_memory(self, who: str, user: str, word: str) -> None:
        t = self.t[who]
        fact = t.text(word)
        r = self.call(who, "POST", "/v1/memories", json={"user_id": user, "text": fact})
        assert r.status_code == 201, r.text
        t.memories[r.json()["id"]] = Item(fact, user, ops=["ADD"])
        t.born[r.json()["id"]] = "memory"

    @rule(who=st.sampled_from(NAMES), word=st.sampled_from(WORDS), data=st.data())
    def patch_memory(self, who: str, word: str, data: st.DataObject) -> None:
        target, owner = self.pick(data, who, "memory")
        fact = self.t[who].text(word)
        r = self.call(who, "PATCH", f"/v1/memories/{target}", json={"text": fact})
        mine = self.t[who].memories.get(target) if owner == who else None
        if mine is None:
            assert r.status_code == 404, r.text
        elif mine.status == "deleted":
            assert r.status_code == 409, r.text
        else:
            assert r.status_code == 200, r.text
            assert r.json()["text"] == fact
            mine.text = fact
            mine.ops.append("UPDATE")

    @rule(who=st.sampled_from(NAMES), data=st.data())
    def delete_memory(self, who: str, data: st.DataObject) -> None:
        target, owner = self.pick(data, who, "memory")
        r = self.call(who, "DELETE", f"/v1/memories/{target}")
        mine = self.t[who].memories.get(target) if owner == who else None
        if mine is None or mine.status == "deleted":
            assert r.status_code == 404, r.text
        else:
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "deleted"
            mine.status = "deleted"
            mine.ops.append("DELETE")

    @rule(who=st.sampled_from(NAMES), data=st.data())
    def delete_episode(self, who: str, data: st.DataObject) -> None:
        target, owner = self.pick(data, who, "episode")
        r = self.call(who, "DELETE", f"/v1/episodes/{target}")
        if owner == who and target in self.t[who].episodes:
            assert r.status_code == 204, r.text
            del self.t[who].episodes[target]
        else:
            assert r.status_code == 404, r.text

    @rule(who=st.sampled_from(NAMES), user=st.sampled_from(USERS))
    def forget_user(self, who: str, user: str) -> None:
        t = self.t[who]
        episodes = [i for i, e in t.episodes.items() if e.user == user]
        memories = [i for i, m in t.memories.items() if m.user == user]
        r = self.call(who, "DELETE", f"/v1/users/{user}")
        if episodes or memories:
            assert r.status_code == 200, r.text
        assert r.status_code in (200, 404), r.text
        if r.status_code == 200:
            deleted = r.json()["deleted"]
            assert (deleted["episodes"], deleted["memories"]) == (len(episodes), len(memories))
        for table in (t.episodes, t.memories):
            for i in [i for i, item in table.items() if item.user == user]:
                del table[i]
        for i in [i for i, (u, _, _) in t.retrievals.items() if u == user]:
            del t.retrievals[i]
        for i in [i for i, u in t.jobs.items() if u == user]:
            del t.jobs[i]

    @rule(who=st.sampled_from(NAMES), reward=st.sampled_from([-1.0, 0.5, 1.0]), data=st.data())
    def feedback(self, who: str, reward: float, data: st.DataObject) -> None:
        """On a search: all it returned is credited. On a context block: the ids the block
        used, named (the retrieval logged every candidate, the block holds those that fit)."""
        target, owner = self.pick(data, who, "retrieval")
        t = self.t[who]
        _, items, named = t.retrievals.get(target, ("", [], False))
        body: dict[str, Any] = {"retrieval_id": target, "reward": reward}
        if named:
            body["memory_ids"] = [i for _, i in items]
        r = self.call(who, "POST", "/v1/feedback", json=body)
        if owner != who or target not in t.retrievals:
            assert r.status_code == 404, r.text
            return
        assert r.status_code == 200, r.text
        expected: dict[str, float] = {}
        for kind, item_id in items:
            item = (t.episodes if kind == "episode" else t.memories).get(item_id)
            if item is not None:
                item.utility += ALPHA * (reward - item.utility)
                expected[item_id] = item.utility
        got = r.json()["utilities"]
        assert set(got) == set(expected), (got, expected)
        assert all(math.isclose(got[i], q, abs_tol=1e-9) for i, q in expected.items())

    @rule(who=st.sampled_from(NAMES))
    def reimport_own_export(self, who: str) -> None:
        """An export imported back into its own tenant adds nothing (all rows exist)."""
        lines = self.call(who, "GET", "/v1/export").text
        records = [json.loads(line) for line in lines.splitlines()]
        if len(records) == 1:  # the header only: nothing to import is a 422
            return
        r = self.call(who, "POST", "/v1/import", content=lines)
        assert r.status_code == 200, r.text
        assert all(c["added"] == 0 for c in r.json()["imported"].values()), r.text

    @rule(who=st.sampled_from(NAMES), fresh=st.booleans(), data=st.data())
    def import_history_of(self, who: str, fresh: bool, data: st.DataObject) -> None:
        """A history row aimed at a memory: its own (live) one is added; the other's and
        one that does not exist are refused alike (422, the same error, nothing stored)."""
        target, owner = (
            (str(data.draw(st.uuids())), None) if fresh else self.pick(data, who, "memory")
        )
        row = {"type": "history", "id": str(data.draw(st.uuids())), "memory_id": target}
        row |= {"op": "UPDATE", "old_text": None, "new_text": None, "cause": "import"}
        r = self.call(who, "POST", "/v1/import", content=json.dumps(row))
        mine = self.t[who].memories.get(target) if owner == who else None
        if mine is None:
            assert r.status_code == 422, r.text
            assert r.json()["detail"] == {
                "line": 1,
                "field": "memory_id",
                "error": f"no memory {target} in this tenant or this import",
            }
            return
        assert r.status_code == 200, r.text
        assert r.json()["imported"]["history"] == {"received": 1, "added": 1, "skipped": 0}
        mine.ops.append("UPDATE")

    # -- reads -------------------------------------------------------------------

    @rule(
        who=st.sampled_from(NAMES),
        user=st.sampled_from(USERS),
        word=st.sampled_from(WORDS),
        theirs=st.booleans(),
    )
    def search(self, who: str, user: str, word: str, theirs: bool) -> None:
        marker = self.t[self.other(who) if theirs else who].marker
        body = {"user_id": user, "query": f"{marker} {word}", "limit": 20, "mode": "fast"}
        r = self.call(who, "POST", "/v1/search", json=body)
        assert r.status_code == 200, r.text
        t = self.t[who]
        hits = r.json()["results"]
        for hit in hits:
            item = (t.episodes if hit["kind"] == "episode" else t.memories).get(hit["id"])
            assert item is not None, f"{who} found an id not its own: {hit}"
            assert (item.text, item.user, item.status) == (hit["text"], user, "active"), hit
        items = [(h["kind"], h["id"]) for h in hits]
        t.retrievals[r.json()["retrieval_id"]] = (user, items, False)
        t.born[r.json()["retrieval_id"]] = "retrieval"

    @rule(who=st.sampled_from(NAMES), user=st.sampled_from(USERS), word=st.sampled_from(WORDS))
    def context(self, who: str, user: str, word: str) -> None:
        r = self.call(who, "POST", "/v1/context", json={"user_id": user, "query": word})
        assert r.status_code == 200, r.text
        out, t = r.json(), self.t[who]
        alive = {i for i, e in t.episodes.items() if e.user == user}
        active = {i for i, m in t.memories.items() if m.user == user and m.status == "active"}
        assert set(out["episode_ids"]) <= alive, (out, alive)
        assert set(out["memory_ids"]) <= active, (out, active)
        if out["retrieval_id"]:
            used = [("memory", i) for i in out["memory_ids"]]
            used += [("episode", i) for i in out["episode_ids"]]
            t.retrievals[out["retrieval_id"]] = (user, used, True)
            t.born[out["retrieval_id"]] = "retrieval"

    @rule(
        who=st.sampled_from(NAMES),
        kind=st.sampled_from(["episode", "memory", "history", "job"]),
        data=st.data(),
    )
    def read_by_id(self, who: str, kind: str, data: st.DataObject) -> None:
        target, owner = self.pick(data, who, "memory" if kind == "history" else kind)
        url = {
            "episode": f"/v1/episodes/{target}",
            "memory": f"/v1/memories/{target}",
            "history": f"/v1/memories/{target}/history",
            "job": f"/v1/jobs/{target}",
        }[kind]
        r = self.call(who, "GET", url)
        t = self.t[who]
        table: dict[str, Any] = {"episode": t.episodes, "job": t.jobs}.get(kind, t.memories)
        if owner != who or target not in table:
            assert r.status_code == 404, r.text
            return
        assert r.status_code == 200, r.text
        if kind == "episode":
            assert r.json()["content"] == t.episodes[target].text
        elif kind == "memory":
            assert (r.json()["text"], r.json()["status"]) == (
                t.memories[target].text,
                t.memories[target].status,
            )
        elif kind == "history":
            assert [c["op"] for c in r.json()] == t.memories[target].ops

    @rule(who=st.sampled_from(NAMES), user=st.sampled_from(USERS))
    def list_one_user(self, who: str, user: str) -> None:
        t = self.t[who]
        r = self.call(who, "GET", "/v1/episodes", params={"user_id": user, "limit": 100})
        assert r.status_code == 200, r.text
        assert {e["id"] for e in r.json()["items"]} == {
            i for i, e in t.episodes.items() if e.user == user
        }
        r = self.call(who, "GET", "/v1/memories", params={"user_id": user, "limit": 100})
        assert r.status_code == 200, r.text
        assert {m["id"] for m in r.json()["items"]} == {
            i for i, m in t.memories.items() if m.user == user and m.status == "active"
        }

    @rule(who=st.sampled_from(NAMES), user=st.sampled_from(USERS))
    def graph_export(self, who: str, user: str) -> None:
        r = self.call(who, "GET", "/v1/graph/export", params={"user_id": user})
        assert r.status_code == 200, r.text

    # -- after every step: each tenant's rows are what its own operations imply ----

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

"""The two-tenant state machine's world: what each tenant's own operations imply is
stored, the app on an event loop of its own, and the call every rule makes through it."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine
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
ALPHA = 0.3  # the feedback learning rate (services.feedback.ALPHA)
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


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


def in_process(settings: Settings) -> tuple[Components, httpx.AsyncClient]:
    """The app on the test database (hash embedder, no rate limit, no background
    worker) and an HTTP client that calls it in process."""
    engine = make_engine(settings.database_url or "", pool_size=2)
    parts = Components(
        settings=settings.model_copy(update={"rate_limit_per_minute": 0}),
        engine=engine,
        sessions=make_sessionmaker(engine),
        embedder=HashEmbedder(),
        database_url=settings.database_url or "",
    )
    app = create_app(components=parts, background=False)
    return parts, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app")


class TenantMachine(RuleBasedStateMachine):
    """What the rules share: the service, both tenants' models, and the checked call."""

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

"""Test data for the inspector, stored through the REST API of the real server: two
tenants, episodes in several scripts, facts with history (one edited, one deleted),
texts that are markup, a queued consolidation job, and entities joined to facts and
episodes (through /v1/import: without a worker nothing extracts them)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

XSS_SCRIPT = "<script>alert('xss-script')</script>"
XSS_IMG = "<img src=x onerror=\"alert('xss-img')\">"
XSS_FACT = f"Alice pasted {XSS_SCRIPT} and {XSS_IMG} into the chat"
CHINESE = (
    "爱丽丝说她下个月要搬到里斯本去，她的妹妹玛尔塔已经在那里住了三年，"
    "她们打算一起在阿尔法玛区开一家小咖啡馆，专门卖葡式蛋挞和中国茶。"
) * 4
ARABIC = (
    "قالت أليس إنها ستنتقل إلى لشبونة في الشهر المقبل، وإن أختها مارتا تعيش هناك منذ "
    "ثلاث سنوات، وإنهما تخططان لفتح مقهى صغير في حي ألفاما."
) * 2
LONG_WORD = "Supercalifragilistic" * 12
FIRST_FACT = "Alice is moving to Lisbon in March"
EDITED_FACT = "Alice is moving to Lisbon in April"
CLOSED_FACT = "Alice works at Globex"
FILLER_TURNS = 60
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    """What ``seed`` stored, by id."""

    episodes: list[str]
    moved_fact: str
    xss_fact: str
    closed_fact: str
    job_id: str
    entities: dict[str, str]


def _client(url: str, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30.0)


async def _ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


async def seed(url: str, key: str) -> World:
    scope = {"user_id": "alice", "session_id": "lisbon-trip"}
    async with _client(url, key) as api:
        turns = [
            ("Alice", "I'm moving to Lisbon in March; my sister Marta lives there."),
            ("assistant", "Lisbon is lovely in spring. Where will you live?"),
            ("Alice", CHINESE),
            ("Alice", ARABIC),
            ("Alice", f"Look what I found: {XSS_SCRIPT} {XSS_IMG}"),
            ("Alice", f"A very long word: {LONG_WORD}"),
            ("Alice", "I used to work at Globex, but not any more."),
        ]
        messages = [
            {
                "role": "assistant" if speaker == "assistant" else "user",
                "speaker": speaker,
                "content": text,
                "occurred_at": f"2026-03-0{i + 1}T09:{i:02d}:00Z",
            }
            for i, (speaker, text) in enumerate(turns)
        ]
        added = await _ok(await api.post("/v1/messages", json={**scope, "messages": messages}))
        episodes = [str(e) for e in added["episode_ids"]]
        filler = [
            {
                "role": "user",
                "speaker": "Alice",
                "content": f"Small talk number {n}.",
                "occurred_at": f"2026-04-01T{n // 60:02d}:{n % 60:02d}:00Z",
            }
            for n in range(FILLER_TURNS)
        ]
        await _ok(
            await api.post("/v1/messages", json={**scope, "messages": filler, "infer": False})
        )

        async def fact(text: str, *sources: str) -> str:
            body = {**scope, "text": text, "source_episode_ids": list(sources)}
            return str((await _ok(await api.post("/v1/memories", json=body)))["id"])

        moved = await fact(FIRST_FACT, episodes[0])
        await _ok(await api.patch(f"/v1/memories/{moved}", json={"text": EDITED_FACT}))
        xss = await fact(XSS_FACT, episodes[4])
        await fact(CHINESE[:60], episodes[2])
        await fact(ARABIC[:80], episodes[3])
        closed = await fact(CLOSED_FACT, episodes[6])
        await _ok(await api.delete(f"/v1/memories/{closed}"))

        entities = {name: str(uuid.uuid4()) for name in ("Alice", "Lisbon", "Marta")}
        types = {"Alice": "person", "Lisbon": "place", "Marta": "person"}
        lines: list[dict[str, Any]] = [
            {"type": "entity", "id": id_, "name": name, "entity_type": types[name], **scope}
            for name, id_ in entities.items()
        ]
        members = [
            ("Alice", "memory", moved),
            ("Lisbon", "memory", moved),
            ("Alice", "memory", xss),
            ("Alice", "episode", episodes[0]),
            ("Lisbon", "episode", episodes[0]),
            ("Marta", "episode", episodes[0]),
        ]
        for name, kind, edge in members:
            lines.append(
                {
                    "type": "membership",
                    "id": str(uuid.uuid4()),
                    "entity_id": entities[name],
                    f"{kind}_id": edge,
                    "role": "mention",
                }
            )
        body = "\n".join(json.dumps(line) for line in lines)
        await _ok(
            await api.post(
                "/v1/import",
                content=body.encode(),
                headers={"Content-Type": "application/x-ndjson"},
            )
        )
    return World(episodes, moved, xss, closed, str(added["job_id"]), entities)


async def seed_other(url: str, key: str) -> None:
    """A second tenant's scope, which the first tenant's key must never show."""
    async with _client(url, key) as api:
        body = {"user_id": "bob-of-beta", "messages": [{"content": "Bob's secret plan."}]}
        await _ok(await api.post("/v1/messages", json=body))


async def seed_many(url: str, key: str, *, user_id: str, count: int, batch: int = 500) -> None:
    """``count`` turns of one user, stored without consolidation, ``batch`` a request."""
    async with _client(url, key) as api:
        for start in range(0, count, batch):
            messages = [
                {
                    "content": f"Turn {n} of a long conversation.",
                    "occurred_at": (EPOCH + timedelta(seconds=n)).isoformat(),
                }
                for n in range(start, min(start + batch, count))
            ]
            body = {"user_id": user_id, "messages": messages, "infer": False}
            await _ok(await api.post("/v1/messages", json=body))

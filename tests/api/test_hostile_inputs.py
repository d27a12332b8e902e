"""Input an attacker sends on purpose is a 422 with the error body, and stores nothing.

Each case here was a 500 (or an accepted body) before: metadata ``jsonb`` cannot hold
(NaN, the infinities, a lone surrogate), times that overflow once converted to UTC,
nesting past the stack, queries long enough to break full-text search, bodies that are
not UTF-8. The JSON is sent as raw text: ``NaN`` and ``\\ud800`` are not what a JSON
encoder writes.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import datetime
from typing import Any
from uuid import uuid4

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from memory_service.adapters.local_extractor import LocalExtractor
from memory_service.bootstrap import Components
from memory_service.domain.consolidation import EpisodeText
from memory_service.domain.text import MAX_JSON_DEPTH
from tests.api.helpers import add_memory, add_messages
from tests.conftest import new_key
from tests.mcp.helpers import SCOPE, connect, fails

TABLES = ("episodes", "memories", "memory_history", "entities", "retrievals", "jobs")
JSON = {"content-type": "application/json"}
FEEDBACK = '{"retrieval_id": "00000000-0000-0000-0000-000000000001", "reward": %s}'
LATE = "9999-12-31T23:59:59-14:00"  # year 10000 in UTC
EARLY = "0001-01-01T00:00:00+14:00"  # year 0 in UTC
# asyncpg writes these two as -infinity and infinity, and reads them back naive
FIRST, LAST = "0001-01-01T14:00:00+14:00", "9999-12-31T23:59:59.999999"
BAD_NUMBERS = ("NaN", "Infinity", "-Infinity", "1e400", "-1e400")
BAD_STRINGS = ('"\\ud800"', '"a\\udfffb"', '["ok", "\\udc00"]')


def nested(depth: int) -> str:
    """A JSON object ``depth`` levels deep: ``{"k": {"k": ... 1}}``."""
    return '{"k": ' * depth + "1" + "}" * depth


def metadata_bodies(metadata: str) -> list[tuple[str, str, str]]:
    """``metadata`` (JSON text) on every route that takes metadata: (method, url, body);
    ``{memory}`` in a url is an existing memory's id."""
    return [
        (
            "POST",
            "/v1/messages",
            f'{{"user_id":"u1","messages":[{{"content":"hi","metadata":{metadata}}}]}}',
        ),
        ("POST", "/v1/memories", f'{{"user_id":"u1","text":"hi","metadata":{metadata}}}'),
        ("PATCH", "/v1/memories/{memory}", f'{{"metadata":{metadata}}}'),
    ]


def time_bodies(moment: str) -> list[tuple[str, str, str]]:
    """``moment`` in every time field of a body."""
    t = json.dumps(moment)
    return [
        (
            "POST",
            "/v1/messages",
            f'{{"user_id":"u1","messages":[{{"content":"hi","occurred_at":{t}}}]}}',
        ),
        ("POST", "/v1/memories", f'{{"user_id":"u1","text":"hi","valid_from":{t}}}'),
        ("POST", "/v1/memories", f'{{"user_id":"u1","text":"hi","valid_to":{t}}}'),
        ("PATCH", "/v1/memories/{memory}", f'{{"valid_to":{t}}}'),
        ("POST", "/v1/search", f'{{"user_id":"u1","query":"dog","since":{t}}}'),
        ("POST", "/v1/search", f'{{"user_id":"u1","query":"dog","until":{t}}}'),
        ("POST", "/v1/search", f'{{"user_id":"u1","query":"dog","now":{t}}}'),
        ("POST", "/v1/answer", f'{{"user_id":"u1","question":"dog?","now":{t}}}'),
        ("POST", "/v1/context", f'{{"user_id":"u1","query":"dog","now":{t}}}'),
    ]


# (name, method, url, body as JSON text)
CASES: list[tuple[str, str, str, str]] = [
    *[
        (f"metadata {value} on {method} {url}", method, url, body)
        for value in (*BAD_NUMBERS, *BAD_STRINGS)
        for method, url, body in metadata_bodies(f'{{"k": {value}}}')
    ],
    *[
        (f"metadata key {key} on {method} {url}", method, url, body)
        for key in ('"\\ud800"', '"x\\udbff"')
        for method, url, body in metadata_bodies(f"{{{key}: 1}}")
    ],
    *[
        (f"metadata {depth} deep on {method} {url}", method, url, body)
        for depth in (MAX_JSON_DEPTH + 1, 900)
        for method, url, body in metadata_bodies(nested(depth))
    ],
    *[
        (f"{moment} in {body[:60]}", method, url, body)
        for moment in (LATE, EARLY, FIRST, LAST)
        for method, url, body in time_bodies(moment)
    ],
    ("NaN reward", "POST", "/v1/feedback", FEEDBACK % "NaN"),
    ("Infinity reward", "POST", "/v1/feedback", FEEDBACK % "Infinity"),
    ("NaN time budget", "POST", "/v1/search", '{"query":"dog","budget_seconds":NaN}'),
    ("surrogate content", "POST", "/v1/messages", '{"messages":[{"content":"h\\ud800"}]}'),
    (
        "surrogate speaker",
        "POST",
        "/v1/messages",
        '{"messages":[{"content":"h","speaker":"\\udc00"}]}',
    ),
    ("surrogate query", "POST", "/v1/search", '{"query":"dog \\ud800"}'),
    ("surrogate question", "POST", "/v1/answer", '{"question":"dog \\ud800"}'),
    ("surrogate focus", "POST", "/v1/context", '{"query":"dog \\ud800"}'),
    ("surrogate text", "POST", "/v1/memories", '{"user_id":"u1","text":"\\ud800"}'),
    ("surrogate patch text", "PATCH", "/v1/memories/{memory}", '{"text":"\\ud800"}'),
    (
        "surrogate feedback id",
        "POST",
        "/v1/feedback",
        '{"retrieval_id":"00000000-0000-0000-0000-000000000001","reward":1,"feedback_id":"\\ud800"}',
    ),
    ("surrogate unknown field", "POST", "/v1/memories", '{"user_id":"u1","text":"x","\\ud800":1}'),
    *[
        (f"100,000 [ on {method} {url}", method, url, "[" * 100_000)
        for method, url in (
            ("POST", "/v1/messages"),
            ("POST", "/v1/memories"),
            ("PATCH", "/v1/memories/{memory}"),
            ("POST", "/v1/search"),
            ("POST", "/v1/answer"),
            ("POST", "/v1/context"),
            ("POST", "/v1/feedback"),
        )
    ],
]


async def row_counts(components: Components) -> dict[str, int]:
    async with components.uow() as uow:  # no tenant: every tenant's rows
        return {
            t: (await uow.session.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()
            for t in TABLES
        }


def assert_invalid(r: Any) -> list[dict[str, Any]]:
    """The 422 with the error body; its detail."""
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["error"] == "InvalidInput"
    return body["detail"]  # type: ignore[no-any-return]


@pytest.fixture
async def memory(client: AsyncClient) -> dict[str, Any]:
    return await add_memory(client, "Pixel is a greyhound", user_id="u1", metadata={"k": 1})


@pytest.mark.parametrize(
    ("method", "url", "body"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
async def test_hostile_body_is_422_and_stores_nothing(
    client: AsyncClient,
    components: Components,
    memory: dict[str, Any],
    method: str,
    url: str,
    body: str,
) -> None:
    before = await row_counts(components)
    r = await client.request(method, url.format(memory=memory["id"]), content=body, headers=JSON)
    detail = assert_invalid(r)
    assert detail, r.text
    assert await row_counts(components) == before
    fact = (await client.get(f"/v1/memories/{memory['id']}")).json()
    assert (fact["text"], fact["metadata"], fact["valid_to"]) == (memory["text"], {"k": 1}, None)


async def test_metadata_errors_say_what_and_where(client: AsyncClient) -> None:
    for metadata, says in (
        ('{"a": [1, {"b": NaN}]}', "an infinity (at ['a'][1]['b'])"),
        ('{"a": "\\ud800"}', "lone surrogate (U+D800 to U+DFFF): it is not text (at ['a'])"),
        (nested(MAX_JSON_DEPTH + 1), f"deeper than {MAX_JSON_DEPTH} levels"),
    ):
        body = f'{{"user_id":"u1","text":"hi","metadata":{metadata}}}'
        [error] = assert_invalid(await client.post("/v1/memories", content=body, headers=JSON))
        assert error["loc"] == ["body", "metadata"]
        assert says in error["msg"]


async def test_metadata_as_deep_as_the_limit_is_stored(client: AsyncClient) -> None:
    body = f'{{"user_id":"u1","text":"hi","metadata":{nested(MAX_JSON_DEPTH)}}}'
    r = await client.post("/v1/memories", content=body, headers=JSON)
    assert r.status_code == 201, r.text
    assert r.json()["metadata"] == json.loads(nested(MAX_JSON_DEPTH))


@pytest.mark.parametrize("moment", [LATE, EARLY, FIRST, LAST])
@pytest.mark.parametrize("param", ["since", "until"])
async def test_episode_list_times_out_of_range_are_422(
    client: AsyncClient, moment: str, param: str
) -> None:
    [error] = assert_invalid(await client.get("/v1/episodes", params={param: moment}))
    assert error["loc"] == ["query", param]
    assert "once converted to UTC" in error["msg"]


def cursor(moment: str, tiebreak: int | str) -> str:
    raw = json.dumps([moment, tiebreak]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("moment", [LATE, EARLY])
async def test_a_cursor_with_a_time_out_of_range_is_422(client: AsyncClient, moment: str) -> None:
    await add_messages(client, ["one", "two"], user_id="u1")
    await add_memory(client, "a fact", user_id="u1")
    for url, tiebreak in (
        ("/v1/episodes", 1),
        ("/v1/memories", "00000000-0000-0000-0000-000000000001"),
    ):
        r = await client.get(url, params={"cursor": cursor(moment, tiebreak)})
        assert assert_invalid(r) == {"cursor": "malformed cursor"}


async def test_a_naive_cursor_time_is_taken_as_utc(client: AsyncClient) -> None:
    await add_messages(client, ["one", "two"], user_id="u1")
    r = await client.get("/v1/episodes", params={"cursor": cursor("2000-01-01T00:00:00", 1)})
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 2


@pytest.mark.parametrize(
    ("query", "now"),
    [
        ("what did I do last week", "0001-01-01T00:00:01Z"),
        ("what happens this year", "9999-12-31T23:00:00Z"),
        ("what happened this week", "9999-12-31T23:00:00Z"),
        ("what happened in 9999", None),
        ("what happened on December 31 9999", None),
    ],
)
async def test_time_references_at_the_edges_of_the_calendar_are_not_a_500(
    client: AsyncClient, query: str, now: str | None
) -> None:
    await add_messages(client, ["I sailed to Oslo"], user_id="u1")
    body = {"user_id": "u1", "query": query, **({"now": now} if now else {})}
    r = await client.post("/v1/search", json=body)
    assert r.status_code == 200, r.text
    r = await client.post("/v1/context", json=body)
    assert r.status_code == 200, r.text


def distinct_words(chars: int) -> str:
    """Distinct made-up words, ``chars`` characters in all."""
    words, n = [], 0
    while sum(map(len, words)) + len(words) < chars:
        words.append(f"w{n:x}q")
        n += 1
    return " ".join(words)[:chars]


@pytest.mark.parametrize(
    ("url", "field"),
    [("/v1/search", "query"), ("/v1/answer", "question"), ("/v1/context", "query")],
)
@pytest.mark.parametrize("query", ["long", "sailing"])
async def test_a_query_past_the_cap_is_422(
    client: AsyncClient, components: Components, url: str, field: str, query: str
) -> None:
    most = components.settings.max_query_chars
    value = distinct_words(most + 1) if query == "long" else "sailing " * (most // 8 + 1)
    before = await row_counts(components)
    r = await client.post(url, json={"user_id": "u1", field: value})
    assert assert_invalid(r) == {field: f"longer than {most} characters"}
    assert await row_counts(components) == before


def query_at_the_cap(kind: str, most: int) -> str:
    """A query of ``most`` characters: distinct made-up words, one word over and over,
    dates (which time-reference parsing reads), numbers."""
    if kind == "distinct":
        return distinct_words(most)
    if kind == "sailing":
        return ("sailing " * most)[:most]
    if kind == "dates":
        return " ".join(f"{i % 28 + 1} May {1990 + i % 30}" for i in range(most))[:most]
    return " ".join(str(i) for i in range(most))[:most]


@pytest.mark.parametrize("url", ["/v1/search", "/v1/context"])
@pytest.mark.parametrize("kind", ["distinct", "sailing", "dates", "numbers"])
async def test_a_query_at_the_cap_is_answered_quickly(
    client: AsyncClient, components: Components, url: str, kind: str
) -> None:
    await add_messages(client, ["I went sailing with w1q on 3 May 1992"], user_id="u1")
    value = query_at_the_cap(kind, components.settings.max_query_chars)
    await client.post(url, json={"user_id": "u1", "query": "warm up: last week"})
    started = time.perf_counter()
    r = await client.post(url, json={"user_id": "u1", "query": value})
    assert r.status_code == 200, r.text
    assert time.perf_counter() - started < 3.0
    found = r.json()["results"] if url == "/v1/search" else r.json()["episode_ids"]
    assert found, "the first words still find the episode"


UTF8 = json.dumps({"user_id": "u1", "text": "Pixel is a greyhound"})


@pytest.mark.parametrize(
    "raw",
    [
        UTF8.encode("utf-16"),
        UTF8.encode("utf-16-le"),
        UTF8.encode("utf-16-be"),
        UTF8.encode("utf-32"),
        UTF8.encode("utf-32-le"),
        UTF8.replace("Pixel", "Pix\u00e9l").encode("latin-1"),
        UTF8.encode() + b"\xed\xa0\x80",  # a surrogate, encoded
    ],
    ids=["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "latin-1", "cesu"],
)
async def test_a_body_not_in_utf8_is_422(
    client: AsyncClient, components: Components, raw: bytes
) -> None:
    before = await row_counts(components)
    [error] = assert_invalid(await client.post("/v1/memories", content=raw, headers=JSON))
    assert error["loc"][0] == "body"
    assert "not valid UTF-8" in error["msg"] or "NUL byte" in error["msg"]
    assert await row_counts(components) == before


async def test_a_body_with_no_content_type_is_checked_too(client: AsyncClient) -> None:
    r = await client.post("/v1/memories", content=UTF8.encode("utf-16"))
    assert_invalid(r)


async def test_a_utf8_body_with_a_byte_order_mark_is_read(client: AsyncClient) -> None:
    r = await client.post("/v1/memories", content=b"\xef\xbb\xbf" + UTF8.encode(), headers=JSON)
    assert r.status_code == 201, r.text
    assert r.json()["text"] == "Pixel is a greyhound"


async def test_a_utf8_body_in_many_chunks_is_read(client: AsyncClient) -> None:
    raw = json.dumps({"user_id": "u1", "text": "Zoë 🐕 " * 2000}).encode()

    async def chunks() -> Any:
        for i in range(0, len(raw), 7):  # cuts through multi-byte characters
            yield raw[i : i + 7]

    r = await client.post("/v1/memories", content=chunks(), headers=JSON)
    assert r.status_code == 201, r.text
    assert r.json()["text"] == "Zoë 🐕 " * 2000


async def test_the_mcp_tools_refuse_the_same_inputs(components: Components) -> None:
    most = components.settings.max_query_chars
    long = distinct_words(most + 1)
    async with connect(components, await new_key(components, "alpha")) as client:
        before = await row_counts(components)
        search = await fails(client, "search_memories", **SCOPE, query=long)
        when = await fails(client, "search_memories", **SCOPE, query="dog", since=LATE)
        meta = await fails(client, "add_memory", **SCOPE, text="hi", metadata={"k": "\ud800"})
        deep = await fails(
            client,
            "add_memory",
            **SCOPE,
            text="hi",
            metadata=json.loads(nested(MAX_JSON_DEPTH + 1)),
        )
        focus = await fails(client, "context", **SCOPE, query="dog \ud800")
        assert await row_counts(components) == before
    assert search == f"InvalidInput: query: longer than {most} characters"
    assert "once converted to UTC" in when
    assert "lone surrogate" in meta
    assert f"deeper than {MAX_JSON_DEPTH} levels" in deep
    assert "unicode string" in focus  # refused by the tool's input schema


async def test_the_first_and_last_moments_in_utc_are_stored_listed_and_searched(
    client: AsyncClient,
) -> None:
    first, last = "0001-01-01T00:00:00.000001Z", "9999-12-31T23:59:59.999998Z"
    times = [first, "0001-01-01T14:00:01+14:00", "9999-12-31T10:00:00-13:59", last]
    await add_messages(
        client,
        ["sailing early", "sailing a", "sailing b", "sailing late"],
        user_id="u1",
        times=times,
    )
    seen, cursor = [], None
    while True:
        params = {"user_id": "u1", "limit": 1, "since": first, "until": last}
        r = await client.get(
            "/v1/episodes", params={**params, **({"cursor": cursor} if cursor else {})}
        )
        assert r.status_code == 200, r.text
        seen += [e["content"] for e in r.json()["items"]]
        if (cursor := r.json()["next_cursor"]) is None:
            break
    assert seen == ["sailing early", "sailing a", "sailing b"]  # until is exclusive
    for now in (first, last):
        body = {"user_id": "u1", "query": "sailing last week", "since": first, "now": now}
        r = await client.post("/v1/search", json=body)
        assert r.status_code == 200, r.text
        r = await client.post("/v1/context", json={"user_id": "u1", "query": "sailing", "now": now})
        assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("said", "text"),
    [
        ("0001-01-01T00:00:01Z", "Caroline adopted a dog last Monday."),
        ("0001-01-01T00:00:01Z", "Caroline went hiking last weekend."),
        ("9999-12-31T23:59:00Z", "Caroline will fly to Oslo next Friday."),
    ],
)
def test_consolidation_reads_a_date_past_the_calendar_as_none(said: str, text: str) -> None:
    """An episode said on the calendar's first or last day: its relative dates would fall
    outside years 1 to 9999; extraction leaves them undated instead of failing the job."""
    episode = EpisodeText(uuid4(), text, "Caroline", datetime.fromisoformat(said))
    extraction = LocalExtractor().extract_sync([episode])
    assert extraction is not None

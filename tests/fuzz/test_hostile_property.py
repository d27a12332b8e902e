"""Property: a hostile value in any field of any JSON body is a 4xx with the error body,
and stores nothing.

The classes an outside attack used (issue 14): numbers JSON has no value for (``NaN``,
``Infinity``, ``1e400``), lone surrogates (``\\ud800``, escaped or CESU-encoded), times
that leave years 1 to 9999 once converted to UTC (or sit on their very ends), nesting
past the metadata limit or past the parser's stack, strings longer than their field
allows, bodies in UTF-16 or UTF-32. Each example puts one such value in one slot of a
valid body of one route (the JSON is written as text: no encoder writes ``NaN`` or a
lone surrogate) and checks the answer and every table's row count. The app runs in
process, on an event loop of its own (``two_tenants.Loop``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from memory_service.bootstrap import Components
from memory_service.config import Settings
from memory_service.domain.text import MAX_JSON_DEPTH
from memory_service.requests.retrieval import PRESET_NAMES
from memory_service.services import tenants
from tests.fuzz.two_tenants import Loop, in_process

TABLES = ("episodes", "memories", "memory_history", "entities", "retrievals", "jobs", "feedback")
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
HOLE = "@@"
# (method, url, body with one HOLE): where a value of each kind goes; {memory} is an
# existing memory's id. Strings are slots whose length is limited.
STRING_SLOTS = [
    ("POST", "/v1/messages", '{"user_id":"u1","messages":[{"content":@@}]}'),
    ("POST", "/v1/messages", '{"user_id":"u1","messages":[{"content":"hi","speaker":@@}]}'),
    ("POST", "/v1/messages", '{"user_id":@@,"messages":[{"content":"hi"}]}'),
    ("POST", "/v1/memories", '{"user_id":"u1","text":@@}'),
    ("PATCH", "/v1/memories/{memory}", '{"text":@@}'),
    ("POST", "/v1/search", '{"user_id":"u1","query":@@}'),
    ("POST", "/v1/search", '{"user_id":"u1","query":"dog","preset":@@}'),
    ("POST", "/v1/answer", '{"user_id":"u1","question":@@}'),
    ("POST", "/v1/context", '{"user_id":"u1","query":@@}'),
    (
        "POST",
        "/v1/feedback",
        '{"retrieval_id":"00000000-0000-0000-0000-000000000001","reward":1,"feedback_id":@@}',
    ),
]
METADATA_SLOTS = [
    ("POST", "/v1/messages", '{"user_id":"u1","messages":[{"content":"hi","metadata":{"k":@@}}]}'),
    ("POST", "/v1/memories", '{"user_id":"u1","text":"hi","metadata":{"a":[1,{"b":@@}]}}'),
    ("PATCH", "/v1/memories/{memory}", '{"metadata":{"k":@@}}'),
]
KEY_SLOTS = [
    ("POST", "/v1/messages", '{"user_id":"u1","messages":[{"content":"hi","metadata":{@@:1}}]}'),
    ("POST", "/v1/memories", '{"user_id":"u1","text":"hi","metadata":{@@:1}}'),
    ("PATCH", "/v1/memories/{memory}", '{"metadata":{"k":{@@:"v"}}}'),
]
NUMBER_SLOTS = [
    ("POST", "/v1/search", '{"user_id":"u1","query":"dog","budget_seconds":@@}'),
    ("POST", "/v1/search", '{"user_id":"u1","query":"dog","limit":@@}'),
    ("POST", "/v1/context", '{"user_id":"u1","query":"dog","token_budget":@@}'),
    ("POST", "/v1/feedback", '{"retrieval_id":"00000000-0000-0000-0000-000000000001","reward":@@}'),
]
TIME_SLOTS = [
    ("POST", "/v1/messages", '{"user_id":"u1","messages":[{"content":"hi","occurred_at":@@}]}'),
    ("POST", "/v1/memories", '{"user_id":"u1","text":"hi","valid_from":@@}'),
    ("POST", "/v1/memories", '{"user_id":"u1","text":"hi","valid_to":@@}'),
    ("PATCH", "/v1/memories/{memory}", '{"valid_to":@@}'),
    ("POST", "/v1/search", '{"user_id":"u1","query":"dog","since":@@}'),
    ("POST", "/v1/search", '{"user_id":"u1","query":"dog","until":@@}'),
    ("POST", "/v1/search", '{"user_id":"u1","query":"dog","now":@@}'),
    ("POST", "/v1/answer", '{"user_id":"u1","question":"dog?","now":@@}'),
    ("POST", "/v1/context", '{"user_id":"u1","query":"dog","now":@@}'),
]
VALUE_SLOTS = STRING_SLOTS + METADATA_SLOTS + NUMBER_SLOTS + TIME_SLOTS


@dataclass
class Service:
    loop: Loop
    components: Components
    http: httpx.AsyncClient
    key: str = ""
    memory: str = ""

    def request(self, method: str, url: str, body: bytes) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}", "content-type": "application/json"}
        url = url.format(memory=self.memory)
        return self.loop.run(self.http.request(method, url, content=body, headers=headers))

    def counts(self) -> dict[str, int]:
        return self.loop.run(self._counts())

    async def _counts(self) -> dict[str, int]:
        async with self.components.uow() as uow:
            return {
                t: (await uow.session.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()
                for t in TABLES
            }

    async def _reset(self) -> None:
        async with self.components.engine.begin() as conn:
            await conn.execute(text("TRUNCATE tenants CASCADE"))


@pytest.fixture
def service(settings: Settings) -> Iterator[Service]:
    loop = Loop()
    parts, http = in_process(settings)
    engine = parts.engine
    service = Service(loop, parts, http)
    try:
        loop.run(service._reset())

        async def key() -> str:
            async with parts.uow() as uow:
                return (await tenants.issue_key(uow, "hostile", "property")).secret

        service.key = loop.run(key())
        r = service.request("POST", "/v1/memories", b'{"user_id":"u1","text":"Pixel runs"}')
        assert r.status_code == 201, r.text
        service.memory = r.json()["id"]
        yield service
    finally:
        loop.run(service._reset())
        loop.run(http.aclose())
        loop.run(engine.dispose())
        loop.close()


def check_refused(service: Service, slot: tuple[str, str, str], value: str | bytes) -> None:
    """``value`` (JSON text) in ``slot``: a 4xx with the error body, nothing stored."""
    method, url, template = slot
    raw = value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
    before, _, after = template.encode().partition(HOLE.encode())
    counts = service.counts()
    r = service.request(method, url, before + raw + after)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:500])
    assert r.headers["content-type"] == "application/json", r.text[:500]
    body = r.json()
    assert set(body) >= {"error", "detail"}, body
    assert body["detail"], body
    assert service.counts() == counts


# -- the hostile values, as JSON text ------------------------------------------------

NON_FINITE = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1E999"])


@st.composite
def with_surrogate(draw: st.DrawFn) -> str:
    """A JSON string holding a lone surrogate, as an escape (``\\ud800``)."""
    head = draw(st.text(max_size=8))
    lone = draw(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))
    tail = draw(st.text(max_size=8))
    return json.dumps(head + lone + tail)  # ensure_ascii: the surrogate is escaped


def cesu(text: str) -> bytes:
    """A JSON string with a lone surrogate encoded as UTF-8 would if it could (CESU)."""
    return json.dumps(text, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def late_or_early(draw: st.DrawFn) -> str:
    """A time that falls after 9999-12-31 or before 0001-01-01 once in UTC."""
    offset = draw(st.integers(min_value=1, max_value=14 * 60 - 1))
    minutes = draw(st.integers(min_value=0, max_value=offset - 1))
    if draw(st.booleans()):
        zone = timezone(-timedelta(minutes=offset))
        local = datetime(9999, 12, 31, 23, 59, tzinfo=zone) - timedelta(minutes=minutes)
    else:
        zone = timezone(timedelta(minutes=offset))
        local = datetime(1, 1, 1, tzinfo=zone) + timedelta(minutes=minutes)
    return json.dumps(local.isoformat())


ENDS = st.sampled_from(
    [  # the first and last microsecond: asyncpg's -infinity and infinity
        '"0001-01-01T00:00:00Z"',
        '"0001-01-01T00:00:00"',
        '"0001-01-01T05:30:00+05:30"',
        '"9999-12-31T23:59:59.999999Z"',
        '"9999-12-31T18:29:59.999999-05:30"',
    ]
)


def nested(depth: int, kind: str) -> str:
    return '{"k":' * depth + "1" + "}" * depth if kind == "dict" else "[" * depth + "]" * depth


DEEP = st.builds(
    nested,
    st.one_of(st.integers(MAX_JSON_DEPTH, 1200), st.integers(1200, 100_000)),
    st.sampled_from(["dict", "list"]),
)


@st.composite
def too_long(draw: st.DrawFn) -> str:
    """A string longer than any limited string field allows (the longest: a message)."""
    most = Settings().max_text_chars
    n = draw(st.integers(min_value=most + 1, max_value=most + 5000))
    unit = draw(st.sampled_from(["a", "sailing ", "é", "🐕"]))
    return json.dumps((unit * n)[:n], ensure_ascii=False)


# -- the properties --------------------------------------------------------------------


@PROPERTY
@given(slot=st.sampled_from(VALUE_SLOTS), value=NON_FINITE)
def test_non_finite_numbers_are_refused(service: Service, slot: Any, value: str) -> None:
    check_refused(service, slot, value)


@PROPERTY
@given(
    slot=st.sampled_from(STRING_SLOTS + METADATA_SLOTS + KEY_SLOTS),
    value=st.one_of(with_surrogate(), st.text(max_size=4).map(lambda t: cesu(t + "\udc80"))),
)
def test_lone_surrogates_are_refused(service: Service, slot: Any, value: str | bytes) -> None:
    check_refused(service, slot, value)


@PROPERTY
@given(slot=st.sampled_from(TIME_SLOTS), value=st.one_of(late_or_early(), ENDS))
def test_times_past_the_calendar_in_utc_are_refused(
    service: Service, slot: Any, value: str
) -> None:
    check_refused(service, slot, value)


@PROPERTY
@given(slot=st.sampled_from(VALUE_SLOTS), value=DEEP)
def test_deep_nesting_is_refused(service: Service, slot: Any, value: str) -> None:
    check_refused(service, slot, value)


@PROPERTY
@given(slot=st.sampled_from(STRING_SLOTS), value=too_long())
def test_strings_past_their_limit_are_refused(service: Service, slot: Any, value: str) -> None:
    check_refused(service, slot, value)


@PROPERTY
@given(
    value=st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"]),
    slot=st.sampled_from(STRING_SLOTS + METADATA_SLOTS),
    words=st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20),
)
def test_bodies_not_in_utf8_are_refused(
    service: Service, value: str, slot: Any, words: str
) -> None:
    method, url, template = slot
    raw = template.replace(HOLE, json.dumps(words or "x")).encode(value)
    check_refused(service, (method, url, HOLE), raw)


def test_the_slots_take_a_fine_value(service: Service) -> None:
    """The templates are valid bodies: a fine value in each is not refused for its shape
    (feedback's unknown retrieval is a 404; answer without a model a 409)."""
    now = datetime.now(UTC).isoformat()
    for slots, value in (
        (STRING_SLOTS, '"ok"'),
        (METADATA_SLOTS, '"ok"'),
        (KEY_SLOTS, '"ok"'),
        (NUMBER_SLOTS, "60"),
        (TIME_SLOTS, json.dumps(now)),
    ):
        for method, url, template in slots:
            fine = value
            if '"preset":@@' in template:
                fine = json.dumps(PRESET_NAMES[0])
            elif '"reward":@@' in template:
                fine = "1"
            r = service.request(method, url, template.replace(HOLE, fine).encode())
            assert r.status_code in (200, 201, 404, 409), (template, r.text[:300])

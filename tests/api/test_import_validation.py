"""``POST /v1/import`` checks every field as the REST API does (issue 14, items 1-3, 5
and 10): a line the API would have refused, one whose rows the API could not reach
afterwards, or one that would break every later search is a 422 naming its line (and
field), and nothing of the import is stored."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text

from memory_service.bootstrap import Components
from memory_service.db.models import EMBEDDING_DIM
from memory_service.requests import imports
from tests.api.helpers import episode_record
from tests.conftest import api_client

TABLES = ("episodes", "memories", "memory_history", "entities", "hyperedge_members")
GOOD = json.dumps(episode_record(id="00000000-0000-0000-0000-0000000000ab"))
UNIT = [0.0] * 383 + [1.0]


def memory_record(**fields: Any) -> dict[str, Any]:
    record = {"type": "memory", "id": "00000000-0000-0000-0000-0000000000cc"}
    return {**record, "text": "a fact", "embedding": UNIT, "user_id": "u", **fields}


def entity_record(**fields: Any) -> dict[str, Any]:
    record = {"type": "entity", "id": "00000000-0000-0000-0000-0000000000dd"}
    return {**record, "name": "Pixel", "user_id": "u", **fields}


async def row_counts(components: Components) -> dict[str, int]:
    async with components.uow() as uow:
        return {
            t: (await uow.session.execute(text(f"SELECT count(*) FROM {t}"))).scalar_one()
            for t in TABLES
        }


async def refused(client: AsyncClient, components: Components, line: str) -> dict[str, Any]:
    """Import a good line then ``line``: 422 naming line 2, nothing stored; the detail."""
    before = await row_counts(components)
    r = await client.post("/v1/import", content=f"{GOOD}\n{line}\n".encode())
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "InvalidInput"
    assert body["detail"]["line"] == 2, body
    assert await row_counts(components) == before
    detail: dict[str, Any] = body["detail"]
    return detail


def locs(detail: dict[str, Any]) -> list[list[Any]]:
    return [e["loc"] for e in detail["errors"]]


# -- item 10: scope ids the API refuses -------------------------------------------------


@pytest.mark.parametrize("field", ["user_id", "agent_id", "session_id"])
@pytest.mark.parametrize("value", ["bad user/../x", "", "😀", "x" * 129, " u"])
@pytest.mark.parametrize("make", [episode_record, memory_record, entity_record])
async def test_scope_ids_the_api_refuses(
    client: AsyncClient, components: Components, field: str, value: str, make: Any
) -> None:
    detail = await refused(client, components, json.dumps(make(**{field: value})))
    assert locs(detail) == [[field]]


@pytest.mark.parametrize("make", [episode_record, memory_record, entity_record])
async def test_a_row_without_any_scope_is_refused(
    client: AsyncClient, components: Components, make: Any
) -> None:
    """As every write through the API, an import row must name an owner."""
    record = {k: v for k, v in make().items() if k != "user_id"}
    detail = await refused(client, components, json.dumps(record))
    assert "at least one of user_id, agent_id, session_id" in json.dumps(detail)
    nulls = json.dumps({**make(), "user_id": None, "agent_id": None})
    await refused(client, components, nulls)


async def test_rows_imported_are_reachable_by_the_api(
    client: AsyncClient, components: Components
) -> None:
    """What import accepts, ``DELETE /v1/users/{user_id}`` can reach."""
    scope = {"user_id": "a.b:c@d-e_f"}
    body = f"{json.dumps(episode_record(**scope))}\n{json.dumps(memory_record(**scope))}"
    r = await client.post("/v1/import", content=body.encode())
    assert r.status_code == 200, r.text
    r = await client.delete(f"/v1/users/{scope['user_id']}")
    assert r.status_code in (200, 204), r.text
    assert await row_counts(components) == dict.fromkeys(TABLES, 0)


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"role": "Bad Role"}, "role"),
        ({"role": ""}, "role"),
        ({"speaker": ""}, "speaker"),
        ({"speaker": "s" * 129}, "speaker"),
        ({"text": "   "}, "text"),
        ({"text": ""}, "text"),
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"utility": "high"}, "utility"),
    ],
)
async def test_episode_fields_the_api_refuses(
    client: AsyncClient, components: Components, fields: dict[str, Any], loc: str
) -> None:
    detail = await refused(client, components, json.dumps(episode_record(**fields)))
    assert locs(detail) == [[loc]]


async def test_text_longer_than_the_api_allows(components: Components) -> None:
    settings = components.settings.model_copy(update={"max_text_chars": 10})
    async with api_client(replace(components, settings=settings), "short") as client:
        for record in (episode_record(text="x" * 11), memory_record(text="x" * 11)):
            detail = await refused(client, components, json.dumps(record))
            assert detail["errors"] == [{"loc": ["text"], "msg": "longer than 10 characters"}]
        r = await client.post("/v1/import", content=json.dumps(episode_record(text="x" * 10)))
        assert r.status_code == 200, r.text


# -- items 1-3: values jsonb, text and timestamptz cannot hold --------------------------

BAD_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]


@pytest.mark.parametrize("number", BAD_NUMBERS)
@pytest.mark.parametrize("where", ["metadata", "nested", "utility"])
async def test_non_finite_numbers_are_refused(
    client: AsyncClient, components: Components, number: str, where: str
) -> None:
    placeholder = 12345.5
    choices: dict[str, dict[str, Any]] = {
        "metadata": {"metadata": {"score": placeholder}},
        "nested": {"metadata": {"a": [1, {"b": placeholder}]}},
        "utility": {"utility": placeholder},
    }
    fields = choices[where]
    line = json.dumps(episode_record(**fields)).replace(str(placeholder), number)
    assert number in line
    detail = await refused(client, components, line)
    assert locs(detail) == [["utility" if where == "utility" else "metadata"]]


@pytest.mark.parametrize("make", [episode_record, memory_record])
@pytest.mark.parametrize(
    "metadata",
    ['{"\\ud800": 1}', '{"k": "\\ud800"}', '{"k": ["ok", "a\\udfffb"]}', '{"k": {"\\udc00": 1}}'],
)
async def test_lone_surrogates_in_metadata_are_refused(
    client: AsyncClient, components: Components, make: Any, metadata: str
) -> None:
    line = json.dumps(make(metadata={"k": "PLACEHOLDER"})).replace('{"k": "PLACEHOLDER"}', metadata)
    detail = await refused(client, components, line)
    assert locs(detail) == [["metadata"]]
    assert "surrogate" in detail["errors"][0]["msg"]


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (episode_record, "text"),
        (episode_record, "speaker"),
        (memory_record, "text"),
        (entity_record, "name"),
    ],
)
async def test_lone_surrogates_in_text_are_refused(
    client: AsyncClient, components: Components, make: Any, field: str
) -> None:
    line = json.dumps(make(**{field: "PLACEHOLDER"})).replace("PLACEHOLDER", "a\\ud800b")
    detail = await refused(client, components, line)
    assert locs(detail) == [[field]]


async def test_an_unknown_field_named_by_a_lone_surrogate_is_a_readable_422(
    client: AsyncClient, components: Components
) -> None:
    """Pydantic cannot read such a key at all: a 422 for the line, in a reply that is
    valid UTF-8 JSON (``refused`` reads it)."""
    line = json.dumps(episode_record(extra=1)).replace('"extra"', '"\\ud800"')
    detail = await refused(client, components, line)
    assert "unicode string" in detail["errors"][0]["msg"]


async def test_an_escaped_surrogate_pair_is_text(client: AsyncClient) -> None:
    line = json.dumps(episode_record(text="Pixel 😀", metadata={"😀": "😀"}))  # \ud83d\ude00
    assert "\\ud83d\\ude00" in line
    r = await client.post("/v1/import", content=line)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("make", "field", "moment"),
    [
        (episode_record, "occurred_at", "9999-12-31T23:59:59-14:00"),
        (episode_record, "occurred_at", "0001-01-01T00:00:00+14:00"),
        (episode_record, "created_at", "9999-12-31T23:59:59-14:00"),
        (memory_record, "valid_from", "0001-01-01T00:00:00+14:00"),
        (memory_record, "valid_to", "9999-12-31T23:59:59-14:00"),
        (memory_record, "updated_at", "9999-12-31T23:59:59-01:00"),
        (entity_record, "updated_at", "0001-01-01T00:30:00+01:00"),
    ],
)
async def test_times_outside_the_calendar_once_in_utc_are_refused(
    client: AsyncClient, components: Components, make: Any, field: str, moment: str
) -> None:
    detail = await refused(client, components, json.dumps(make(**{field: moment})))
    assert locs(detail) == [[field]]


async def test_times_are_stored_in_utc(client: AsyncClient) -> None:
    record = episode_record(occurred_at="2024-01-01T09:00:00+09:00")
    r = await client.post("/v1/import", content=json.dumps(record))
    assert r.status_code == 200, r.text
    [episode] = (await client.get("/v1/episodes")).json()["items"]
    assert episode["occurred_at"].startswith("2024-01-01T00:00:00")


async def test_metadata_nested_too_deep_is_refused(
    client: AsyncClient, components: Components
) -> None:
    for depth in (33, 900):
        nested: Any = 1
        for _ in range(depth):
            nested = {"k": nested}
        line = json.dumps(episode_record(metadata=nested))
        detail = await refused(client, components, line)
        assert locs(detail) == [["metadata"]], depth
    nested = 1
    for _ in range(32):
        nested = {"k": nested}
    r = await client.post("/v1/import", content=json.dumps(episode_record(metadata=nested)))
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("opening", ["[", '{"a":'])
async def test_a_line_nested_past_the_parser_is_a_422(
    client: AsyncClient, components: Components, opening: str
) -> None:
    """100,000 levels: a RecursionError in the parser, not a 500."""
    detail = await refused(client, components, opening * 100_000)
    assert "nested too deeply" in detail["error"]


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ('{"type": ["episode"]}', "unknown record type"),
        ('{"type": {"a": 1}}', "unknown record type"),
        ("[1, 2]", "unknown record type"),
        ('{"type": "episode", "n": ' + "9" * 5000 + "}", "not JSON"),
    ],
)
async def test_odd_lines_are_422_not_500(
    client: AsyncClient, components: Components, line: str, fragment: str
) -> None:
    detail = await refused(client, components, line)
    assert fragment in detail["error"]


async def test_lines_are_split_on_newlines_only(client: AsyncClient) -> None:
    """U+2028 and friends may stand raw in a JSON string: not a line break of JSON Lines."""
    odd = "a\u2028b\u2029c\x85d\x1ce"
    line = json.dumps(episode_record(text=odd), ensure_ascii=False)
    r = await client.post("/v1/import", content=f"{GOOD}\r\n{line}\n".encode())
    assert r.status_code == 200, r.text
    texts = {e["content"] for e in (await client.get("/v1/episodes")).json()["items"]}
    assert texts == {"ok", odd}


# -- item 5: vectors a cosine cannot be taken of ----------------------------------------

ZERO = [0.0] * 384


@pytest.mark.parametrize(
    ("embedding", "fragment"),
    [
        (ZERO, "no direction"),
        ([1e-30] * 384, "no direction"),
        ([1e300] * 384, "no direction"),
        ([1.0] * 383, "at least 384"),
        ([1.0] * 385, "at most 384"),
        ([], "at least 384"),
        ("[0.5, 0.5]", "list"),
    ],
)
@pytest.mark.parametrize("make", [episode_record, memory_record, entity_record])
async def test_embeddings_without_a_direction_are_refused(
    client: AsyncClient, components: Components, embedding: Any, fragment: str, make: Any
) -> None:
    detail = await refused(client, components, json.dumps(make(embedding=embedding)))
    assert locs(detail)[0][0] == "embedding"
    assert fragment in json.dumps(detail), detail


@pytest.mark.parametrize("number", BAD_NUMBERS)
@pytest.mark.parametrize("make", [episode_record, memory_record, entity_record])
async def test_embeddings_with_non_finite_values_are_refused(
    client: AsyncClient, components: Components, number: str, make: Any
) -> None:
    line = json.dumps(make(embedding=[*UNIT[:-1], 12345.5])).replace("12345.5", number)
    detail = await refused(client, components, line)
    assert locs(detail) == [["embedding", 383]]


async def test_the_embedding_dimension_is_the_columns() -> None:
    assert imports.EMBEDDING_DIM == EMBEDDING_DIM


async def test_any_direction_of_any_sensible_length_is_accepted(client: AsyncClient) -> None:
    record = episode_record(embedding=[-0.001] * 384)
    r = await client.post("/v1/import", content=json.dumps(record))
    assert r.status_code == 200, r.text

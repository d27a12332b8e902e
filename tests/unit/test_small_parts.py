"""Cursors, time normalisation, the hash embedder, settings."""

from __future__ import annotations

import base64
import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from memory_service.config import Settings
from memory_service.db.embedded import asyncpg_url
from memory_service.db.filters import decode_cursor, encode_cursor, sequence_number
from memory_service.domain.errors import InvalidInput
from memory_service.requests.fields import as_utc
from memory_service.services.recall.presets import PRESETS
from memory_service.testing import HashEmbedder

ROOT = Path(__file__).resolve().parents[2]


def test_cursor_round_trip() -> None:
    moment = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert decode_cursor(encode_cursor(moment, 42), sequence_number) == (moment, 42)


@pytest.mark.parametrize("bad", ["", "!!!", "bm90IGpzb24", "WzFd"])
def test_bad_cursor_is_invalid_input(bad: str) -> None:
    with pytest.raises(InvalidInput):
        decode_cursor(bad, sequence_number)


@pytest.mark.parametrize("tiebreak", ["x\u0000", "7", 1.5, True, 2**63, None])
def test_cursor_with_a_foreign_tiebreak_is_invalid_input(tiebreak: object) -> None:
    """A cursor not written by the service (hand-made, edited) is a 422, not a value
    the database would choke on."""
    raw = json.dumps([datetime(2024, 5, 1, tzinfo=UTC).isoformat(), tiebreak]).encode()
    forged = base64.urlsafe_b64encode(raw).decode()
    with pytest.raises(InvalidInput):
        decode_cursor(forged, sequence_number)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (datetime(2024, 1, 1, 10), datetime(2024, 1, 1, 10, tzinfo=UTC)),
        (
            datetime(2024, 1, 1, 10, tzinfo=timezone(timedelta(hours=2))),
            datetime(2024, 1, 1, 8, tzinfo=UTC),
        ),
        (None, None),
    ],
)
def test_as_utc(given: datetime | None, expected: datetime | None) -> None:
    assert as_utc(given) == expected


def test_hash_embedder_is_deterministic_and_normalised() -> None:
    emb = HashEmbedder()
    a, b, c = emb.embed_sync(["red apple pie", "red apple pie", "quantum flux"])
    assert a == b
    assert math.isclose(sum(x * x for x in a), 1.0)
    assert sum(x * y for x, y in zip(a, c, strict=True)) < sum(
        x * y for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("", None),
    ],
)
def test_database_url_uses_asyncpg(given: str, expected: str | None) -> None:
    assert Settings(database_url=given).database_url == expected


def test_embedded_uri_becomes_asyncpg_url() -> None:
    uri = "postgresql://postgres:@/postgres?host=/data/pg"
    assert asyncpg_url(uri) == "postgresql+asyncpg://postgres@/postgres?host=/data/pg"
    assert asyncpg_url(uri, "other").endswith("/other?host=/data/pg")


def test_the_inspectors_preset_menu_names_every_preset() -> None:
    script = (ROOT / "memory_service/inspector/static/inspector.js").read_text()
    menu = script[script.index("const PRESETS = [") :]
    menu = menu[: menu.index("];")]
    named = set(re.findall(r'"([^"]*)"', menu)) - {""}
    # the cross-encoder preset needs a model trained here; the menu leaves it out
    assert named == set(PRESETS) - {"sparse-focus2-ce"}

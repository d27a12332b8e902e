"""pgvector's ``vector`` values travel in binary: exact float32 round trips from a
list, a tuple, a NumPy array or text, and the codec reaches a connection that was
opened before the extension existed."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select, text

from memory_service.db.embedded import asyncpg_url
from memory_service.db.models import EpisodeRow
from memory_service.db.session import make_engine
from memory_service.db.vectors import decode, encode
from tests.conftest import api_client

ECHO = text("SELECT CAST(:v AS vector) AS vec, CAST(:v AS vector)::text AS txt")


def test_the_binary_form_is_pgvectors() -> None:
    data = encode([1.0, -2.5, 0.125])
    assert data[:4] == b"\x00\x03\x00\x00"  # dimensions, then an unused zero
    assert decode(data) == [1.0, -2.5, 0.125]
    assert encode("[1,-2.5,0.125]") == encode((1.0, -2.5, 0.125)) == data
    assert encode(np.array([1.0, -2.5, 0.125])) == data


async def test_every_form_of_a_vector_binds_and_comes_back_as_floats(engine: Any) -> None:
    values = np.random.default_rng(3).normal(size=384).astype(np.float32)
    expected = values.tolist()
    async with engine.connect() as conn:
        for bound in (values, values.astype(np.float64), expected, tuple(expected)):
            row = (await conn.execute(ECHO, {"v": bound})).one()
            assert row.vec == expected  # float32 exactly, as a list
            assert np.allclose(np.array(row.txt[1:-1].split(","), dtype=np.float32), values)
        row = (await conn.execute(ECHO, {"v": "[0.5,2,3]"})).one()
        assert row.vec == [0.5, 2.0, 3.0]


async def test_a_stored_embedding_reads_back_exactly(components: Any) -> None:
    async with api_client(components, "binary-vectors") as client:
        r = await client.post(
            "/v1/messages", json={"user_id": "u", "messages": [{"content": "a red kite"}]}
        )
        assert r.status_code == 201, r.text
    [vector] = await components.embedder.embed(["a red kite"])
    async with components.engine.connect() as conn:
        stored = (
            await conn.execute(select(EpisodeRow.embedding).where(EpisodeRow.text == "a red kite"))
        ).scalar_one()
    assert stored == np.asarray(vector, dtype=np.float32).tolist()


async def test_a_connection_opened_before_the_extension_gets_the_codec_later(
    pg_server: Any,
) -> None:
    pg_server.psql("DROP DATABASE IF EXISTS memory_novector WITH (FORCE);")
    pg_server.psql("CREATE DATABASE memory_novector;")
    engine = make_engine(asyncpg_url(pg_server.get_uri(), "memory_novector"), pool_size=1)
    try:
        async with engine.connect() as conn:
            types = text("SELECT count(*) FROM pg_type WHERE typname = 'vector'")
            assert (await conn.execute(types)).scalar_one() == 0
            await conn.execute(text("CREATE EXTENSION vector"))
            await conn.commit()
        async with engine.connect() as conn:  # the same pooled connection
            row = (await conn.execute(ECHO, {"v": [1.0, 2.0]})).one()
        assert row.vec == [1.0, 2.0]
        assert row.txt == "[1,2]"
    finally:
        await engine.dispose()
        pg_server.psql("DROP DATABASE IF EXISTS memory_novector WITH (FORCE);")

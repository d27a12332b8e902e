"""pgvector's ``vector`` values in binary on the wire.

pgvector's SQLAlchemy type sends each vector as text: 384 floats formatted by Python
(about a third of a millisecond a vector, on the event loop) and parsed by the server,
three times a search (the query vector goes into three statements) and once per
written turn; and parses each one read back (a sixth of a millisecond).
Here each asyncpg connection gets a binary codec for ``vector`` (four bytes a float,
packed in C), and the ``Embedding`` column type hands values to it untouched.
"""

from __future__ import annotations

from typing import Any

from pgvector import Vector
from pgvector.sqlalchemy import VECTOR


class Embedding(VECTOR):
    """A ``vector(dim)`` column whose values go to the driver as they are (a list of
    floats, a NumPy array or a pgvector ``Vector``) and come back as lists of floats:
    the connection's codec (``register_binary_vectors``) encodes and decodes them."""

    cache_ok = True

    def bind_processor(self, dialect: Any) -> Any:
        return None

    def result_processor(self, dialect: Any, coltype: Any) -> Any:
        return None


def encode(value: Any) -> bytes:
    """pgvector's binary form of ``value``; text (``'[1,2,3]'``, as raw SQL may bind
    it) is read as pgvector reads it."""
    if isinstance(value, str):
        return Vector.from_text(value).to_binary()
    vector = (
        value
        if isinstance(value, Vector)
        else Vector(value if hasattr(value, "ndim") else list(value))
    )
    return vector.to_binary()


def decode(data: bytes) -> list[float]:
    return Vector.from_binary(data).to_list()


async def register_binary_vectors(connection: Any) -> bool:
    """Give an asyncpg connection the binary ``vector`` codec, in the schema the
    extension was installed in; False (and nothing changed) where the database has no
    ``vector`` type yet."""
    schema = await connection.fetchval(_VECTOR_SCHEMA)
    if schema is None:
        return False
    await connection.set_type_codec(
        "vector", schema=schema, encoder=encode, decoder=decode, format="binary"
    )
    return True


_VECTOR_SCHEMA = (
    "SELECT n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
    "WHERE t.typname = 'vector' ORDER BY n.nspname <> 'public' LIMIT 1"
)

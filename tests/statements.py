"""What a block sends to the database, seen by SQLAlchemy's ``before_cursor_execute``
(one event a statement; BEGIN and COMMIT are not statements here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


class Sent(NamedTuple):
    statement: str
    params: Any


@contextmanager
def statements_sent(engine: AsyncEngine) -> Iterator[list[Sent]]:
    """The statements ``engine``'s connections send while the block runs, in order."""
    sent: list[Sent] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        sent.append(Sent(statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)

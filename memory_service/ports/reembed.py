"""The store side of ``memory-service reembed``: every vector re-made with another
embedder, beside the live ones, then switched to in one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from memory_service.domain.spaces import EmbeddingSpace, TableProgress, TextToEmbed

EmbedFn = Callable[[Sequence[str]], Awaitable[list[list[float]]]]


class ReembedStore(Protocol):
    """The vector tables, walked in keyset order ``(tenant_id, id)``; the cursor of
    each is committed with the vectors it stands for, so a killed run resumes."""

    @property
    def tables(self) -> Sequence[str]:
        """The vector tables, in the order they are re-embedded."""
        ...

    def exclusive(self) -> AbstractAsyncContextManager[None]:
        """Held for the whole run: a second run at the same time is a ``Conflict``."""
        ...

    async def needed(self, space: EmbeddingSpace) -> bool:
        """Whether anything is not in ``space`` yet (or a run towards it is unfinished)."""
        ...

    async def start(self, space: EmbeddingSpace) -> dict[str, TableProgress]:
        """Begin a run towards ``space``, or resume the one towards it; a run towards
        another space is dropped. Returns each table's progress."""
        ...

    async def next_batch(self, table: str, limit: int) -> list[TextToEmbed]:
        """Up to ``limit`` rows after the table's cursor."""
        ...

    async def store(
        self, table: str, rows: Sequence[TextToEmbed], vectors: Sequence[Sequence[float]]
    ) -> None:
        """The new vectors of ``rows``, and the cursor moved past the last, in one
        transaction (rows written meanwhile without one are found by ``stale``)."""
        ...

    async def stale(self, table: str, limit: int) -> list[TextToEmbed]:
        """Up to ``limit`` rows that have no new vector (written, or re-embedded by the
        service, since the cursor passed them)."""
        ...

    async def store_stale(
        self, table: str, rows: Sequence[TextToEmbed], vectors: Sequence[Sequence[float]]
    ) -> None: ...

    async def build_indexes(self) -> None:
        """The nearest-neighbour index of each table's new vectors (built concurrently:
        the service keeps writing)."""
        ...

    async def switch(self, space: EmbeddingSpace, embed: EmbedFn) -> None:
        """In one transaction: embed the rows still without a new vector, make the new
        vectors (and their indexes) the live ones, and record ``space`` as every
        tenant's. Writers wait for it; searches started before it end first."""
        ...

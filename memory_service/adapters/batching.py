"""A micro-batching queue: concurrent calls to a model, made while it is busy, become
one call.

The first caller runs at once (no timed wait). Callers that arrive while a call runs
are gathered, oldest first, into the next call, up to ``max_batch`` items; each gets
its own results back, in order. The model runs in a worker thread, one call at a
time per queue, so the event loop keeps serving and two calls of one model never
fight for the same cores.

Items can weigh more than one: a text model pads a call to its longest text, so a
call of ``n`` items costs ``n`` times the heaviest, and ``max_weight`` bounds that.
Long texts then go a few to a call, and nobody waits behind a call longer than one
of ``max_weight`` (about a second on two CPU cores, for the local embedder). Nor is
a light caller padded by heavy items: past ``max_weight / max_batch`` an item joins
a call only if that makes it no heavier (a search goes alone rather than with a
piece of a bulk write, and waits for at most the one call that was running).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from memory_service.ports import metrics

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Request(Generic[T, R]):
    items: list[T]
    future: asyncio.Future[list[R]]
    results: list[R] = field(default_factory=list)
    """Results of the items served so far (a large request is served in pieces)."""

    @property
    def left(self) -> int:
        return len(self.items) - len(self.results)


@dataclass
class _Queue(Generic[T, R]):
    """One event loop's waiting requests and the task that drains them."""

    waiting: deque[_Request[T, R]] = field(default_factory=deque)
    drain: asyncio.Task[None] | None = None


@dataclass
class BatchStats:
    """What the model was asked: calls made, items in them, the largest call, and
    requests (pieces of requests) served."""

    calls: int = 0
    items: int = 0
    requests: int = 0
    largest: int = 0


Piece = tuple[_Request[T, R], int]
"""A request and how many of its next items go into a call."""


class Batcher(Generic[T, R]):
    """``await batcher(items)`` -> ``run(items)``, coalesced with other callers.

    ``run`` maps a list of items to a list of results of the same length (a model's
    batch call). No call holds more than ``max_batch`` items: requests go in whole
    while they fit, and one larger than ``max_batch`` goes in pieces, taking its turn
    behind the callers that came meanwhile (a bulk import does not hold up a search
    for all of its length). An exception from ``run`` reaches every caller in that
    call; the queue goes on with the next. A cancelled caller leaves the others alone.
    Usable from several event loops, one after another or at once: each loop has its
    own queue, created on first use, and the model calls of all of them take turns.
    """

    def __init__(
        self,
        run: Callable[[list[T]], list[R]],
        *,
        max_batch: int = 64,
        weight: Callable[[T], int] | None = None,
        max_weight: int | None = None,
        light: int | None = None,
    ) -> None:
        """``weight`` (default 1 an item) and ``max_weight`` (default ``max_batch``):
        no call holds items whose count times the heaviest's weight passes
        ``max_weight``, but for a single item, which always goes; an item heavier than
        ``light`` (default ``max_weight // max_batch``) only joins a call as heavy as
        itself."""
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run = run
        self._max_batch = max_batch
        self._weight = weight or (lambda _: 1)
        self._max_weight = max_batch if max_weight is None else max_weight
        self._light = self._max_weight // max_batch if light is None else light
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue[T, R]] = (
            weakref.WeakKeyDictionary()
        )
        self._queues_lock = threading.Lock()
        self._model_lock = threading.Lock()
        self.stats = BatchStats()

    async def __call__(self, items: Sequence[T]) -> list[R]:
        if not items:
            return []
        loop = asyncio.get_running_loop()
        queue = self._queue(loop)
        request: _Request[T, R] = _Request(list(items), loop.create_future())
        queue.waiting.append(request)
        if queue.drain is None or queue.drain.done():
            queue.drain = loop.create_task(self._drain(queue))
        return await request.future

    def _queue(self, loop: asyncio.AbstractEventLoop) -> _Queue[T, R]:
        with self._queues_lock:
            queue = self._queues.get(loop)
            if queue is None:
                queue = self._queues[loop] = _Queue()
            return queue

    async def _drain(self, queue: _Queue[T, R]) -> None:
        try:
            while queue.waiting:
                pieces = self._next_call(queue.waiting)
                try:
                    await self._serve(pieces)
                except asyncio.CancelledError:  # the loop is closing: nobody is left to serve
                    for request in [*(r for r, _ in pieces), *queue.waiting]:
                        request.future.cancel()
                    queue.waiting.clear()
                    raise
                # A request with items left goes behind those that came during the call.
                queue.waiting.extend(r for r, _ in pieces if r.left and not r.future.done())
        finally:
            queue.drain = None  # no reference from the queue back to its loop

    def _next_call(self, waiting: deque[_Request[T, R]]) -> list[Piece[T, R]]:
        """The next call's pieces, oldest request first: whole requests while they fit,
        a piece of one that could never fit whole; callers that have gone are dropped."""
        pieces: list[Piece[T, R]] = []
        taken, heaviest = 0, 0
        while waiting:
            request = waiting[0]
            if request.future.done():  # cancelled while it waited
                waiting.popleft()
                continue
            rest = request.items[len(request.results) :]
            count, heavier = self._room(taken, heaviest, rest)
            if count == 0 or (count < len(rest) and taken and self._fits_whole(rest)):
                break  # the next call has room for it whole
            pieces.append((waiting.popleft(), count))
            taken, heaviest = taken + count, heavier
            if count < len(rest):
                break
        return pieces

    def _room(self, taken: int, heaviest: int, items: Sequence[T]) -> tuple[int, int]:
        """How many of ``items``, from the first, join a call of ``taken`` items whose
        heaviest weighs ``heaviest``; and the call's heaviest then."""
        count = 0
        for item in items:
            heavier = max(heaviest, self._weight(item))
            size = taken + count + 1
            if size > self._max_batch:
                break
            if size > 1 and (
                size * heavier > self._max_weight or heavier > max(heaviest, self._light)
            ):
                break  # over the call's bound, or padding lighter items past light
            count, heaviest = count + 1, heavier
        return count, heaviest

    def _fits_whole(self, items: Sequence[T]) -> bool:
        return self._room(0, 0, items)[0] == len(items)

    async def _serve(self, pieces: list[Piece[T, R]]) -> None:
        if not pieces:
            return
        items = [
            item
            for request, count in pieces
            for item in request.items[len(request.results) : len(request.results) + count]
        ]
        try:
            results = await asyncio.to_thread(self._call, items, len(pieces))
        except Exception as exc:
            for request, _ in pieces:
                if not request.future.done():
                    request.future.set_exception(exc)
            return
        start = 0
        for request, count in pieces:
            request.results += results[start : start + count]
            start += count
            if not request.left and not request.future.done():
                request.future.set_result(request.results)

    def _call(self, items: list[T], pieces: int) -> list[R]:
        with self._model_lock:
            self.stats.calls += 1
            self.stats.items += len(items)
            self.stats.requests += pieces
            self.stats.largest = max(self.stats.largest, len(items))
            results = self._run(items)
        metrics.embed_batch(len(items))
        if len(results) != len(items):
            raise RuntimeError(f"the batch call gave {len(results)} results for {len(items)} items")
        return results

"""One search's trace: how long each stage took and what it cost."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from memory_service.domain.models import Completion


class Trace:
    """Milliseconds per stage and the search's cost, filled as the stages run.

    ``with trace.stage(name):`` adds the block's own time to ``name``: a stage timed
    inside another is not counted twice (its parent's time excludes it). A stage run
    twice adds up. Work that runs beside the stages (the query's encodings, computed
    while the first candidate lists run) is added with ``record``; so the stages' times
    may add up to more than the whole, which ``total_ms`` measures from the start.
    """

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.timings_ms: dict[str, float] = {}
        self.cost: dict[str, float] = {"llm_calls": 0, "input_tokens": 0, "output_tokens": 0}
        self.notes: dict[str, Any] = {}
        self._open: list[float] = []
        """Per open stage: the milliseconds its nested stages took."""

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        self._open.append(0.0)
        try:
            yield
        finally:
            nested = self._open.pop()
            spent = (time.perf_counter() - started) * 1000
            self.timings_ms[name] = self.timings_ms.get(name, 0.0) + spent - nested
            if self._open:
                self._open[-1] += spent

    def record(self, name: str, ms: float) -> None:
        """Add ``ms`` to ``name``: work timed by itself, beside the stages (not inside
        one, whose time it would not leave)."""
        self.timings_ms[name] = self.timings_ms.get(name, 0.0) + ms

    def charge(self, completion: Completion) -> None:
        """One LLM call's tokens."""
        self.cost["llm_calls"] += 1
        self.cost["input_tokens"] += completion.input_tokens
        self.cost["output_tokens"] += completion.output_tokens

    def add(self, **amounts: float) -> None:
        """Add to (or start) cost counters, e.g. ``chunks_read=3``."""
        for key, value in amounts.items():
            self.cost[key] = self.cost.get(key, 0) + value

    def total_ms(self) -> float:
        """Milliseconds since the trace began (the search's whole time so far)."""
        return (time.perf_counter() - self.started) * 1000

"""Per-key rate limits: a token bucket per API key, in this process."""

from __future__ import annotations

import math
import threading
import time
from uuid import UUID

from memory_service.domain.errors import RateLimited


class RateLimiter:
    """``per_minute`` requests a minute on average, bursts up to ``burst``.

    State lives in this process: with N API processes a key gets up to N times the
    rate (documented; a shared limiter would live in Redis).
    """

    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[UUID, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: UUID) -> float | None:
        """Take one token; None when allowed, else seconds until one is available."""
        if self.rate <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def admit(self, key: UUID) -> None:
        """Take one token, or raise RateLimited saying when to retry."""
        wait = self.acquire(key)
        if wait is not None:
            raise RateLimited(
                f"rate limit of this API key exceeded; retry in {wait:.1f} s", retry_after_s=wait
            )


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))

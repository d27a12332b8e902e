"""Rate limits, as token buckets in this process: requests per API key and per tenant,
and failed authentications per client address."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Hashable
from uuid import UUID

from memory_service.config import Settings
from memory_service.domain.errors import RateLimited

MAX_BUCKETS = 100_000
"""Buckets kept per kind; past it the least recently used goes (it starts again full)."""


class Buckets:
    """Token buckets by key: ``per_minute`` tokens a minute, up to ``burst``; a rate of
    0 is no limit. Not locked: ``RateLimiter`` holds one lock around its buckets.

    A bucket may go into debt (below zero tokens): failures that were checked at the
    same time are all paid for, one token each.
    """

    def __init__(self, per_minute: int, burst: int, *, max_keys: int = MAX_BUCKETS) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._tokens: dict[Hashable, tuple[float, float]] = {}

    def __len__(self) -> int:
        return len(self._tokens)

    def tokens(self, key: Hashable, now: float) -> float:
        tokens, last = self._tokens.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def wait(self, key: Hashable, now: float) -> float | None:
        """None when ``key`` has a token now, else the seconds until it has one."""
        if self.rate <= 0:
            return None
        tokens = self.tokens(key, now)
        return None if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def spend(self, key: Hashable, now: float) -> None:
        if self.rate <= 0:
            return
        tokens = self.tokens(key, now) - 1.0
        self._tokens.pop(key, None)  # re-inserted last: the dict is in order of use
        self._tokens[key] = (tokens, now)
        if len(self._tokens) > self.max_keys:
            del self._tokens[next(iter(self._tokens))]


class RateLimiter:
    """Requests per API key and per tenant (all its keys together), so rotating keys
    does not multiply a tenant's budget; failed authentications per client address, so
    guessing keys is slow.

    State lives in this process: with N API processes a caller gets up to N times the
    rate (documented; a shared limiter would live in Redis).
    """

    def __init__(
        self,
        per_minute: int,
        burst: int,
        *,
        tenant_per_minute: int | None = None,
        tenant_burst: int | None = None,
        failures_per_minute: int = 0,
        failures_burst: int = 1,
    ) -> None:
        self.keys = Buckets(per_minute, burst)
        self.tenants = Buckets(
            per_minute if tenant_per_minute is None else tenant_per_minute,
            burst if tenant_burst is None else tenant_burst,
        )
        self.failures = Buckets(failures_per_minute, failures_burst)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        return cls(
            settings.rate_limit_per_minute,
            settings.rate_limit_burst,
            tenant_per_minute=settings.rate_limit_tenant_per_minute,
            tenant_burst=settings.rate_limit_tenant_burst,
            failures_per_minute=settings.auth_failures_per_minute,
            failures_burst=settings.auth_failures_burst,
        )

    def acquire(self, key: UUID, tenant: UUID) -> tuple[str, float] | None:
        """One token from the key's bucket and one from its tenant's, or neither: None
        when taken, else (whose limit, seconds until both have one)."""
        now = time.monotonic()
        with self._lock:
            waits = [
                (who, wait)
                for who, buckets, k in (
                    ("API key", self.keys, key),
                    ("tenant", self.tenants, tenant),
                )
                if (wait := buckets.wait(k, now)) is not None
            ]
            if waits:
                return max(waits, key=lambda w: w[1])
            self.keys.spend(key, now)
            self.tenants.spend(tenant, now)
            return None

    def admit(self, key: UUID, tenant: UUID) -> None:
        """Take a token for the key and its tenant, or raise RateLimited saying when to retry."""
        refused = self.acquire(key, tenant)
        if refused is not None:
            who, wait = refused
            raise RateLimited(
                f"rate limit of this {who} exceeded; retry in {wait:.1f} s", retry_after_s=wait
            )

    def check_address(self, address: str | None) -> None:
        """RateLimited when ``address`` has used up its failed authentications, before
        its key is looked at (a guess then costs a wait, not a lookup)."""
        if address is None:
            return
        with self._lock:
            wait = self.failures.wait(address, time.monotonic())
        if wait is not None:
            raise RateLimited(
                f"too many failed authentications from this address; retry in {wait:.1f} s",
                retry_after_s=wait,
            )

    def failed(self, address: str | None) -> None:
        """Count one failed authentication against ``address``."""
        if address is None:
            return
        with self._lock:
            self.failures.spend(address, time.monotonic())


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))

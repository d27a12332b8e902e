"""Keeps the embedded PostgreSQL running: started again when its postmaster dies."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from typing import Any

from memory_service.db.embedded import ensure_running, postmaster
from memory_service.domain.errors import ConfigurationError

log = logging.getLogger(__name__)

RESTART_FAILURES = (subprocess.SubprocessError, OSError, ConfigurationError, AssertionError)
"""What a failed start raises: pg_ctl's exit or timeout, a folder it cannot use, and
pgserver's own checks that the server came up (plain asserts)."""


class Supervisor:
    """A thread that looks at the embedded server's postmaster every ``interval_s``
    seconds and, when it is gone (killed, crashed), starts the server again; a failed
    start is tried again after a delay that doubles from ``backoff_min_s`` up to
    ``backoff_max_s``. Processes sharing the data folder each run one: the first to
    find the server gone restarts it, the others adopt that server (see
    ``ensure_running``). The engine's pre-ping drops the dead connections."""

    def __init__(
        self,
        server: Any,
        *,
        interval_s: float = 1.0,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 30.0,
    ) -> None:
        self.server = server
        self.interval_s = interval_s
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.restarts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="pg-supervisor", daemon=True)

    def start(self) -> Supervisor:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop watching (before the server is stopped on purpose); waits for a start
        in progress, up to ``timeout_s``."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def __enter__(self) -> Supervisor:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _watch(self) -> None:
        delay = self.backoff_min_s
        wait = self.interval_s
        while not self._stop.wait(wait):
            if postmaster(self.server.pgdata) is not None and self._adopted():
                delay, wait = self.backoff_min_s, self.interval_s
                continue
            if self._restart():
                delay, wait = self.backoff_min_s, self.interval_s
            else:
                wait, delay = delay, min(delay * 2, self.backoff_max_s)

    def _adopted(self) -> bool:
        """Whether our handle names the running postmaster (not one restarted by
        another process, which the next ``_restart`` adopts)."""
        info = self.server._postmaster_info
        return info is not None and info.is_running()

    def _restart(self) -> bool:
        """One attempt; False if the server is still not running."""
        began = time.monotonic()
        try:
            started = ensure_running(self.server)
        except RESTART_FAILURES as exc:
            log.warning("the embedded PostgreSQL is down; restarting it failed: %r", exc)
            return False
        if started:
            self.restarts += 1
            log.warning(
                "the embedded PostgreSQL had stopped; restarted it in %s (pid %s) in %.1f s",
                self.server.pgdata,
                self.server.get_pid(),
                time.monotonic() - began,
            )
        return True

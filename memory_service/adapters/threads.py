"""How many CPU threads a model call runs on: one for a light call, all for a heavy one.

torch splits each op of a forward over its intra-op threads, and every op ends at a
barrier where the threads wait for each other. A search query's forward is hundreds of
small ops, so on two cores with PostgreSQL (or another search) busy on one of them, a
two-thread forward waits at each barrier for a thread the OS has put aside: with one
core kept busy, MiniLM on one query took 17 ms at p50 and 151 ms at p95 on two threads,
10 / 13 ms on one (``python -m evals.bench.encoder_threads``, 2-core machine). On one
thread each, a query's two encodings also run at once: 10.8 ms for both, against 20.4
one after the other on two threads. A batch of 50 messages is another matter: two
threads embed it in 114 ms against 188 on one, when the other core is free.

So a call of at most ``LIGHT_PIECES`` word pieces in all (a few queries) runs on one
thread, a heavier one on the process's threads. torch's thread count belongs to the
calling thread (OpenMP's, and MKL's through ``mkl_set_num_threads_local``), but a thread
that never set it starts from the last value set anywhere; so a call sets its own, and
puts the process's back when it ends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

LIGHT_PIECES = 128
"""A call of at most this many word pieces in all runs on one thread (a query is
10-30 pieces; a 50-message write about a thousand)."""

_default: int | None = None
_lock = threading.Lock()


def process_threads() -> int:
    """torch's thread count as the process started with it (before any call set one)."""
    global _default
    with _lock:
        if _default is None:
            import torch

            _default = torch.get_num_threads()
        return _default


def threads_for(pieces: int) -> int:
    """The threads a call of ``pieces`` word pieces in all runs on."""
    return 1 if pieces <= LIGHT_PIECES else process_threads()


@contextmanager
def call_threads(pieces: int) -> Iterator[int]:
    """Run the calling thread's torch ops of a call of ``pieces`` word pieces on
    :func:`threads_for` threads; yields that count."""
    import torch

    default = process_threads()  # read before the first call sets a count of its own
    count = threads_for(pieces)
    torch.set_num_threads(count)
    try:
        yield count
    finally:
        torch.set_num_threads(default)

"""The local encoders on one torch thread or on all, with the other core free or busy.

    python -m evals.bench.encoder_threads [--reps 30] [--sizes 1,4,16,50]

For each batch size, MiniLM's ``embed_sync`` and SPLADE's ``encode_sync`` are timed
with torch on one thread and on the process's threads (``adapters.threads`` picks
between them by a call's word pieces), first with the machine as it is, then with one
busy process per core but one (a spinning ``while True`` loop in a child process, as
PostgreSQL is while it ranks a list). Then a query's two encodings, one after the
other and at once (a thread each), on each thread count. Printed: p50 / p95 ms per call.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Any

TEXTS = (
    "What did Melanie paint after the camping trip with her kids last summer?",
    "Caroline went to the support group yesterday and said it was so powerful.",
    "I finally booked the flights to Lisbon for the second week of June.",
    "When did Caroline go to the LGBTQ support group?",
)


def spin() -> None:
    while True:
        pass


@contextmanager
def busy(cores: int) -> Iterator[None]:
    """``cores`` processes spinning for as long as the block runs."""
    procs = [multiprocessing.Process(target=spin, daemon=True) for _ in range(cores)]
    for proc in procs:
        proc.start()
    try:
        time.sleep(0.2)
        yield
    finally:
        for proc in procs:
            proc.terminate()
            proc.join()


def timed(call: Callable[[], Any], reps: int) -> tuple[float, float]:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def on_threads(count: int, call: Callable[[], Any]) -> Callable[[], Any]:
    """``call`` with the encoders' calls on ``count`` threads whatever their size: the
    light-call bound moved so that every call is light (1) or heavy (the process's)."""
    from memory_service.adapters import threads

    def run() -> Any:
        threads.LIGHT_PIECES = 10**9 if count == 1 else -1
        return call()

    return run


def measure(args: argparse.Namespace, embedder: Any, splade: Any, label: str) -> None:
    from memory_service.adapters import threads
    from memory_service.adapters.threads import process_threads

    counts = sorted({1, process_threads()})
    pool = ThreadPoolExecutor(2)
    bound = threads.LIGHT_PIECES
    for size in args.sizes:
        texts = [TEXTS[i % len(TEXTS)] for i in range(size)]
        reps = args.reps if size < 16 else max(3, args.reps // 5)
        for count in counts:
            dense = timed(on_threads(count, partial(embedder.embed_sync, texts)), reps)
            sparse = timed(on_threads(count, partial(splade.encode_sync, texts)), reps)
            print(
                f"{label}: {size:>3} texts, {count} thread(s): MiniLM {dense[0]:.1f} / "
                f"{dense[1]:.1f} ms, SPLADE {sparse[0]:.1f} / {sparse[1]:.1f} ms",
                flush=True,
            )
    query = [TEXTS[3]]
    for count in counts:

        def both_in_turn(c: int = count) -> None:
            pool.submit(
                on_threads(c, lambda: (embedder.embed_sync(query), splade.encode_sync(query)))
            ).result()

        def both_at_once(c: int = count) -> None:
            futures = [
                pool.submit(on_threads(c, lambda: embedder.embed_sync(query))),
                pool.submit(on_threads(c, lambda: splade.encode_sync(query))),
            ]
            for future in futures:
                future.result()

        in_turn = timed(both_in_turn, args.reps)
        at_once = timed(both_at_once, args.reps)
        print(
            f"{label}: a query's two encodings, {count} thread(s) each: one after the other "
            f"{in_turn[0]:.1f} / {in_turn[1]:.1f} ms, at once {at_once[0]:.1f} / "
            f"{at_once[1]:.1f} ms",
            flush=True,
        )
    pool.shutdown()
    threads.LIGHT_PIECES = bound


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[1, 4, 16, 50]
    )
    args = parser.parse_args(argv)
    from memory_service.adapters.local_embedder import LocalEmbedder
    from memory_service.adapters.splade import SpladeEncoder
    from memory_service.adapters.threads import process_threads

    embedder, splade = LocalEmbedder(), SpladeEncoder()
    embedder.embed_sync(["warm"])
    splade.encode_sync(["warm"])
    print(f"cores: {os.cpu_count()}, torch threads: {process_threads()}", flush=True)
    measure(args, embedder, splade, "as it is")
    with busy(max(1, (os.cpu_count() or 2) - 1)):
        measure(args, embedder, splade, "a core busy")


if __name__ == "__main__":
    main()

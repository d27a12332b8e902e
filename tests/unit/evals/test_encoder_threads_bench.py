"""The encoder-threads benchmark end to end at a tiny size: both encoders, each thread
count, idle and with a core kept busy, and the two encodings of a query in turn and at
once."""

from __future__ import annotations

import pytest

from evals.bench import encoder_threads
from memory_service.adapters import threads
from memory_service.adapters.threads import process_threads


def test_the_bench_prints_every_case(capsys: pytest.CaptureFixture[str]) -> None:
    bound = threads.LIGHT_PIECES
    encoder_threads.main(["--reps", "1", "--sizes", "1,2"])
    assert bound == threads.LIGHT_PIECES  # the service's bound is back
    lines = capsys.readouterr().out.splitlines()
    counts = sorted({1, process_threads()})
    for label in ("as it is", "a core busy"):
        mine = [line for line in lines if line.startswith(f"{label}:")]
        assert len(mine) == 2 * len(counts) + len(counts)
        assert all("MiniLM" in line and "SPLADE" in line for line in mine[: 2 * len(counts)])
        assert all("at once" in line for line in mine[2 * len(counts) :])

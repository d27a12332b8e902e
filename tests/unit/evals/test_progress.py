"""The runner's progress: a plain line with totals and ETA when stderr is not a terminal."""

from __future__ import annotations

import io
import time

from evals.quality.progress import BarProgress, LineProgress, NoProgress, progress_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_line_has_totals_rate_and_eta() -> None:
    clock = Clock()
    progress = LineProgress(io.StringIO(), every=5, clock=clock)
    assert progress.line().endswith("ETA unknown")
    progress.expect(100)
    progress.phase("conv-26: ingesting")
    clock.now += 30
    for _ in range(20):
        progress.tick("conv-26")
    clock.now += 10  # 20 questions in 40 s: 80 left at 2 s each
    assert progress.line() == (
        "questions 20/100 (20.0%), conv-26, 0m40s elapsed, 2.0 s each, ETA 2m40s"
    )
    for _ in range(60):
        progress.tick("conv-41")
    assert progress.line() == ("questions 80/100 (80.0%), conv-41, 0m40s elapsed, 2.0/s, ETA 0m10s")


def test_lines_keep_coming_when_not_a_terminal() -> None:
    stream = io.StringIO()
    progress = progress_for(stream, every=0.02)
    assert isinstance(progress, LineProgress)
    with progress:
        progress.expect(3)
        progress.phase("q1: ingesting")  # a long ingestion: no tick, lines still come
        deadline = time.monotonic() + 5
        while stream.getvalue().count("\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        progress.tick("q1")
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 3
    assert lines[0].startswith("questions 0/3 (0.0%), q1: ingesting, ")
    assert lines[-1].startswith("questions 1/3 (33.3%), q1, ")  # the last, on close


def test_a_terminal_gets_the_bar_and_zero_turns_it_off() -> None:
    assert isinstance(progress_for(Terminal(), every=10), BarProgress)
    assert isinstance(progress_for(io.StringIO(), every=0), NoProgress)


def test_the_bar_shows_the_total_and_an_eta() -> None:
    stream = Terminal()
    with BarProgress(stream) as bar:
        bar.expect(10)
        for _ in range(3):
            bar.tick("conv-26")
    text = stream.getvalue()
    assert "3/10" in text
    assert "30%" in text
    assert "ETA" in text

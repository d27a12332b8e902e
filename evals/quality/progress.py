"""A run's progress: a rich bar on a terminal, else a plain line every few seconds.

The plain line (totals, rate and ETA) is what a run in the background, with stderr in
a log file, shows; it comes from a timer thread, so it keeps coming while a long
ingestion blocks the event loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RunProgress(Protocol):
    """What a dataset's loop reports: how many questions, what it is doing, each one done."""

    def expect(self, total: int) -> None: ...
    def phase(self, text: str) -> None: ...
    def tick(self, label: str) -> None: ...
    def note(self, text: str) -> None: ...


def _clock_text(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


class LineProgress:
    """One line to ``stream`` every ``every`` seconds (and a last one on close)."""

    def __init__(
        self,
        stream: TextIO,
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.every = every
        self.clock = clock
        self.total: int | None = None
        self.done = 0
        self.doing = "starting"
        self.started = clock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def expect(self, total: int) -> None:
        self.total = total

    def phase(self, text: str) -> None:
        self.doing = text

    def tick(self, label: str) -> None:
        self.done += 1
        self.doing = label

    def note(self, text: str) -> None:
        self._write(text)

    def line(self) -> str:
        """``questions 120/1018 (11.8%), conv-41, 3m05s elapsed, 1.5 s each, ETA 22m27s``."""
        elapsed = self.clock() - self.started
        total = "?" if self.total is None else str(self.total)
        share = f" ({self.done / self.total:.1%})" if self.total else ""
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if self.total is not None and rate > 0:
            eta = _clock_text((self.total - self.done) / rate)
        else:
            eta = "unknown"
        speed = f"{rate:.1f}/s" if rate >= 1 or rate == 0 else f"{1 / rate:.1f} s each"
        return (
            f"questions {self.done}/{total}{share}, {self.doing}, "
            f"{_clock_text(elapsed)} elapsed, {speed}, ETA {eta}"
        )

    def _write(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._write(self.line())

    def __enter__(self) -> LineProgress:
        self._thread = threading.Thread(target=self._run, name="eval-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._write(self.line())


class BarProgress:
    """rich's bar, for a terminal: done/total, share, elapsed and ETA."""

    def __init__(self, stream: TextIO) -> None:
        self.bar = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self.task = self.bar.add_task("questions", total=None)

    def expect(self, total: int) -> None:
        self.bar.update(self.task, total=total)

    def phase(self, text: str) -> None:
        self.bar.update(self.task, description=text)

    def tick(self, label: str) -> None:
        self.bar.update(self.task, advance=1, description=label)

    def note(self, text: str) -> None:
        self.bar.console.print(text)

    def __enter__(self) -> BarProgress:
        self.bar.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.bar.stop()


class NoProgress:
    """Silence (``--progress-every 0``)."""

    def expect(self, total: int) -> None:
        return None

    def phase(self, text: str) -> None:
        return None

    def tick(self, label: str) -> None:
        return None

    def note(self, text: str) -> None:
        return None

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def progress_for(stream: TextIO, every: float) -> LineProgress | BarProgress | NoProgress:
    """A bar on a terminal, else a line every ``every`` seconds; nothing if ``every`` <= 0."""
    if every <= 0:
        return NoProgress()
    if stream.isatty():
        return BarProgress(stream)
    return LineProgress(stream, every)

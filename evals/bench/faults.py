"""Fault script: a real server on loopback, writes with idempotency keys, and faults.

    python -m evals.bench.faults --rounds 3 --seconds 20

Each round starts ``memory-service serve`` on its embedded PostgreSQL (one data folder
for the whole run), keeps ``--writers`` clients sending keyed writes, and meanwhile:
kills the API with SIGKILL (and starts it again), kills the PostgreSQL postmaster with
SIGKILL (the service starts it again by itself), then stops the API with SIGTERM. A
client retries a write whose answer it did not get (connection lost, 503) with the
same ``Idempotency-Key`` until it is acknowledged. Afterwards the round counts the
acknowledged writes against the stored episodes (missing and duplicates must be 0) and
looks for PostgreSQL processes left behind on the data folder (must be 0).

Everything listens on 127.0.0.1 only; every wait is bounded, and the run stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from memory_service.db.embedded import stop_postgres

ROOT = Path(__file__).resolve().parents[2]
READY_LIMIT_S = 120.0
"""The longest a start (or a restart, either kind) may take before the round fails."""
GRACE_S = 60.0
"""After the round's time, how long a client may still retry the write it is on."""


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """``memory-service serve`` on a loopback port, over the embedded PostgreSQL of
    ``data_dir`` (``data_dir/pg``), with the hash embedder and no rate limit."""

    def __init__(self, data_dir: Path, *, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.pgdata = data_dir / "pg"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.data_dir / "server.log"

    def start(self, limit_s: float = READY_LIMIT_S) -> float:
        """Start it and wait until ready; the seconds that took."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
        env.update(
            MEMORY_DATA_DIR=str(self.data_dir),
            MEMORY_EMBEDDER="hash",
            MEMORY_SPARSE_ENCODER="hash",
            MEMORY_RATE_LIMIT_PER_MINUTE="0",
            **self.extra_env,
        )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        with self.log.open("ab") as out:
            command = [sys.executable, "-m", "memory_service.cli", "serve"]
            self.proc = subprocess.Popen(
                [*command, "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.wait_ready(limit_s)
        return time.monotonic() - began

    def wait_ready(self, limit_s: float = READY_LIMIT_S) -> None:
        """Until ``/readyz`` answers 200; RuntimeError with the log's end if the process
        exits or ``limit_s`` passes."""
        assert self.proc is not None
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited ({self.proc.returncode}):\n{self.tail()}")
            if self.ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"serve not ready in {limit_s} s:\n{self.tail()}")

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def kill(self) -> None:
        """SIGKILL: no cleanup at all."""
        self.signal(signal.SIGKILL, 30)

    def signal(self, sig: int, limit_s: float = 60) -> float:
        """Send ``sig`` and wait for the exit (SIGKILL after ``limit_s``); its seconds."""
        assert self.proc is not None
        began = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(limit_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return time.monotonic() - began

    @property
    def key(self) -> str:
        return (self.data_dir / "api_key").read_text().strip()

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None


def postgres_processes(pgdata: Path) -> list[int]:
    """The PostgreSQL processes working in ``pgdata`` (their working folder: the
    postmaster and every backend it forked, orphans of a killed postmaster too). Linux:
    read from /proc."""
    target = str(pgdata.resolve())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres" and (
                os.readlink(entry / "cwd") == target
            ):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_for(check: Callable[[], bool], limit_s: float, step_s: float = 0.1) -> float | None:
    """Seconds until ``check()`` holds, or None if it did not within ``limit_s``."""
    began = time.monotonic()
    while time.monotonic() - began < limit_s:
        if check():
            return time.monotonic() - began
        time.sleep(step_s)
    return None


@dataclass
class Round:
    """One round's figures; ``ok`` when nothing acknowledged was lost or doubled and
    no PostgreSQL process was left behind."""

    round: int
    sent: int = 0
    acknowledged: int = 0
    stored: int = 0
    missing: int = 0
    duplicates: int = 0
    unavailable_503: int = 0
    connection_errors: int = 0
    other_errors: dict[str, int] = field(default_factory=dict)
    other_bodies: list[str] = field(default_factory=list)
    """The first few answers that were neither 201, 503 nor a lost connection."""
    api_restart_s: float | None = None
    pg_restart_s: float | None = None
    stop_s: float | None = None
    leftover_postgres: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.duplicates or self.leftover_postgres or self.other_errors)


class Writers:
    """``n`` clients, each sending keyed writes one after another until told to stop,
    and retrying a write until it is acknowledged (the same key each time)."""

    def __init__(self, server: ServeProcess, user: str, n: int) -> None:
        self.server = server
        self.user = user
        self.acked: set[str] = set()
        self.sent = 0
        self.answers: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._write, args=(i,)) for i in range(n)]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(GRACE_S + 15)

    def _write(self, writer: int) -> None:
        headers = {"Authorization": f"Bearer {self.server.key}"}
        with httpx.Client(base_url=self.server.base, headers=headers, timeout=10) as client:
            i = 0
            while not self._stop.is_set():
                key = f"{self.user}-w{writer}-{i:05d}"
                with self._lock:
                    self.sent += 1
                if self._until_acknowledged(client, key):
                    with self._lock:
                        self.acked.add(key)
                i += 1

    def _until_acknowledged(self, client: httpx.Client, key: str) -> bool:
        body = {"user_id": self.user, "messages": [{"content": key}]}
        deadline: float | None = None
        while deadline is None or time.monotonic() < deadline:
            if deadline is None and self._stop.is_set():
                deadline = time.monotonic() + GRACE_S
            text = ""
            try:
                r = client.post("/v1/messages", json=body, headers={"Idempotency-Key": key})
                answer, text = str(r.status_code), r.text
            except httpx.TransportError:
                answer = "connection"
            with self._lock:
                self.answers[answer] += 1
                if answer not in {"201", "503", "connection"} and len(self.unexpected) < 5:
                    self.unexpected.append(f"{answer} {text[:300]}")
            if answer == "201":
                return True
            time.sleep(0.1)
        return False


def stored_contents(server: ServeProcess, user: str) -> Counter[str]:
    """How many times each content is stored among ``user``'s episodes."""
    seen: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {server.key}"}
    cursor: str | None = None
    with httpx.Client(base_url=server.base, headers=headers, timeout=30) as client:
        while True:
            params: dict[str, Any] = {"user_id": user, "limit": 100}
            if cursor:
                params["cursor"] = cursor
            r = client.get("/v1/episodes", params=params)
            r.raise_for_status()
            page = r.json()
            seen.update(e["content"] for e in page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return seen


def kill_postgres(server: ServeProcess) -> float | None:
    """SIGKILL the postmaster; seconds until the service answers ready again by itself."""
    pid = server.postmaster_pid()
    if pid is None:
        raise RuntimeError("no postmaster.pid: the embedded server is not running")
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not alive(pid), 10)
    began = time.monotonic()
    back = wait_for(lambda: server.postmaster_pid() not in (None, pid) and server.ready(), 90)
    return None if back is None else time.monotonic() - began


def run_round(n: int, server: ServeProcess, seconds: float, writers: int) -> Round:
    """One round on ``server`` (started here, stopped with SIGTERM at the end)."""
    result = Round(round=n)
    server.start()
    clients = Writers(server, f"faults-r{n}", writers)
    began = time.monotonic()
    clients.start()
    try:
        _sleep_until(began + seconds * 0.25)
        server.kill()
        result.api_restart_s = round(server.start(), 2)
        _sleep_until(began + seconds * 0.55)
        back = kill_postgres(server)
        result.pg_restart_s = None if back is None else round(back, 2)
        _sleep_until(began + seconds)
    finally:
        clients.stop()
    _count(result, clients, stored_contents(server, clients.user))
    result.stop_s = round(server.signal(signal.SIGTERM), 2)
    wait_for(lambda: not postgres_processes(server.pgdata), 10)
    result.leftover_postgres = len(postgres_processes(server.pgdata))
    return result


def _count(result: Round, clients: Writers, stored: Counter[str]) -> None:
    result.sent = clients.sent
    result.acknowledged = len(clients.acked)
    result.stored = sum(stored.values())
    result.missing = len(clients.acked - set(stored))
    result.duplicates = sum(c - 1 for c in stored.values() if c > 1)
    result.unavailable_503 = clients.answers["503"]
    result.connection_errors = clients.answers["connection"]
    others = {k: v for k, v in clients.answers.items() if k not in {"201", "503", "connection"}}
    result.other_errors = others
    result.other_bodies = list(clients.unexpected)


def _sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


COLUMNS = (
    ("round", "round"),
    ("sent", "sent"),
    ("acknowledged", "acked"),
    ("stored", "stored"),
    ("missing", "missing"),
    ("duplicates", "dup"),
    ("unavailable_503", "503s"),
    ("connection_errors", "conn err"),
    ("other_errors", "other"),
    ("api_restart_s", "API restart s"),
    ("pg_restart_s", "PG restart s"),
    ("stop_s", "SIGTERM stop s"),
    ("leftover_postgres", "PG left"),
)


def table(rounds: list[Round]) -> str:
    """A Markdown table of the rounds."""
    head = "| " + " | ".join(title for _, title in COLUMNS) + " |"
    rule = "|" + "|".join("---:" for _ in COLUMNS) + "|"
    rows = []
    for r in rounds:
        values = asdict(r)
        cells = [_cell(values[name]) for name, _ in COLUMNS]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *rows])


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) or "0"
    return "-" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.bench.faults", description=__doc__)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=20.0, help="writing time per round")
    p.add_argument("--writers", type=int, default=4, help="concurrent clients")
    p.add_argument("--data-dir", type=Path, help="default: a new temporary folder")
    p.add_argument("--keep", action="store_true", help="keep the data folder afterwards")
    p.add_argument("--out", type=Path, help="also write the rounds as JSON here")
    args = p.parse_args(argv)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="memory-faults-"))
    server = ServeProcess(data_dir)
    rounds: list[Round] = []
    try:
        for n in range(1, args.rounds + 1):
            rounds.append(run_round(n, server, args.seconds, args.writers))
            state = "ok" if rounds[-1].ok else "FAILED"
            print(f"round {n}: {state}", file=sys.stderr, flush=True)
            for body in rounds[-1].other_bodies:
                print(f"  unexpected answer: {body}", file=sys.stderr, flush=True)
            if rounds[-1].other_bodies and server.log.exists():
                tail = server.log.read_text(errors="replace").splitlines()[-60:]
                print("  server log, last lines:", *tail, sep="\n  ", file=sys.stderr)
    finally:
        if server.proc is not None:
            server.signal(signal.SIGTERM)
        if postgres_processes(server.pgdata):  # a round that failed half way
            stop_postgres(server.pgdata)
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(table(rounds))
    if args.out:
        args.out.write_text(json.dumps([asdict(r) for r in rounds], indent=2))
    return 0 if rounds and all(r.ok for r in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())

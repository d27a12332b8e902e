"""The embedded PostgreSQL's lifetime under `memory-service serve` and `mcp`: SIGTERM
and SIGINT stop it with the last process holding it, a killed process's handle does
not keep it running, and it is started again by itself when it dies."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest

from evals.bench.faults import ServeProcess, postgres_processes, wait_for
from memory_service.db.embedded import stop_postgres
from tests.conftest import ROOT

pytestmark = pytest.mark.integration


@pytest.fixture
def server() -> Iterator[ServeProcess]:
    """A server on a new data folder (not started); afterwards nothing of it runs."""
    data_dir = ROOT / ".memory-data-test" / f"lifetime-{uuid.uuid4().hex[:8]}"
    srv = ServeProcess(data_dir)
    yield srv
    if srv.proc is not None:
        srv.signal(signal.SIGKILL)
    if postgres_processes(srv.pgdata):
        stop_postgres(srv.pgdata)
    shutil.rmtree(data_dir, ignore_errors=True)


def handles(srv: ServeProcess) -> list[int]:
    return [int(pid) for pid in json.loads((srv.pgdata / ".handle_pids.json").read_text())]


def assert_postgres_stopped(srv: ServeProcess) -> None:
    gone = wait_for(lambda: not postgres_processes(srv.pgdata), 10)
    assert gone is not None, f"left running: {postgres_processes(srv.pgdata)}\n{srv.tail()}"
    assert not (srv.pgdata / "postmaster.pid").exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_serve_and_its_embedded_postgres(
    server: ServeProcess, sig: signal.Signals
) -> None:
    server.start()
    assert postgres_processes(server.pgdata)
    server.signal(sig)
    assert server.proc is not None
    assert server.proc.returncode == 0, server.tail()
    assert_postgres_stopped(server)


def test_a_killed_process_handle_is_dropped_at_the_next_start(server: ServeProcess) -> None:
    server.start()
    assert server.proc is not None
    killed = server.proc.pid
    server.kill()  # no cleanup: its id stays in the handle list, PostgreSQL runs on
    assert killed in handles(server)
    assert postgres_processes(server.pgdata)
    server.start()
    assert killed not in handles(server)
    server.signal(signal.SIGTERM)
    assert_postgres_stopped(server)


def test_the_embedded_postgres_is_started_again_when_it_dies(server: ServeProcess) -> None:
    server.start()
    postmaster = server.postmaster_pid()
    assert postmaster is not None
    os.kill(postmaster, signal.SIGKILL)
    statuses: list[int] = []

    def ready() -> bool:
        try:
            statuses.append(httpx.get(f"{server.base}/readyz", timeout=2).status_code)
        except httpx.TransportError:
            statuses.append(0)
        return statuses[-1] == 200

    back = wait_for(ready, 60, step_s=0.05)
    assert back is not None, f"not ready again in 60 s: {statuses[-5:]}\n{server.tail()}"
    assert 503 in statuses
    assert server.postmaster_pid() not in (None, postmaster)
    # the restart is logged once the server is back: /readyz may answer 200 just before
    logged = wait_for(lambda: "restarted it in" in server.tail(200_000), 10, step_s=0.1)
    assert logged is not None, server.tail()
    r = httpx.post(
        f"{server.base}/v1/messages",
        headers={"Authorization": f"Bearer {server.key}"},
        json={"user_id": "u", "messages": [{"content": "after the restart"}]},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    server.signal(signal.SIGTERM)
    assert_postgres_stopped(server)


def test_sigterm_stops_the_mcp_server_and_its_embedded_postgres(server: ServeProcess) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    env.update(MEMORY_DATA_DIR=str(server.data_dir), MEMORY_EMBEDDER="hash")
    env.update(MEMORY_SPARSE_ENCODER="hash")
    server.data_dir.mkdir(parents=True)
    cli = [sys.executable, "-m", "memory_service.cli"]
    made = subprocess.run([*cli, "keys", "create"], cwd=ROOT, env=env, capture_output=True)
    assert made.returncode == 0, made.stderr.decode()
    env["MEMORY_API_KEY"] = made.stdout.decode().split()[0]
    with (server.data_dir / "mcp.log").open("wb") as log:
        mcp = subprocess.Popen(
            [*cli, "mcp"], cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=log, stderr=log
        )
    try:
        up = wait_for(lambda: mcp.pid in _handles_or_none(server), 60)
        assert up is not None, (server.data_dir / "mcp.log").read_text()
        mcp.send_signal(signal.SIGTERM)
        assert mcp.wait(60) == 0, (server.data_dir / "mcp.log").read_text()
    finally:
        if mcp.poll() is None:
            mcp.kill()
        mcp.wait()
        assert mcp.stdin is not None
        mcp.stdin.close()
    assert_postgres_stopped(server)


def _handles_or_none(srv: ServeProcess) -> list[int]:
    try:
        return handles(srv)
    except (FileNotFoundError, ValueError):
        return []

"""A new user's first start: `memory-service serve` on its embedded defaults, then curl."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def start(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    env["MEMORY_DATA_DIR"] = str(data_dir)
    return subprocess.Popen(
        [sys.executable, "-m", "memory_service.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_ready(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError("server did not become ready in 120 s")


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    return out


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = ROOT / ".memory-data-test" / f"first-start-{uuid.uuid4().hex[:8]}"
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_first_start_prints_a_key_that_works(data_dir: Path) -> None:
    port = free_port()
    proc = start(data_dir, port)
    try:
        wait_ready(port, proc)
        key_file = data_dir / "api_key"
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        key = key_file.read_text().strip()
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {key}"}
        r = httpx.post(
            f"{base}/v1/messages",
            headers=auth,
            json={"user_id": "me", "messages": [{"content": "My dog Rex loves the beach"}]},
            timeout=60,
        )
        assert r.status_code == 201, r.text
        r = httpx.post(
            f"{base}/v1/search",
            headers=auth,
            json={"user_id": "me", "query": "Which pet likes the seaside?"},
            timeout=60,
        )
        assert r.json()["results"][0]["text"] == "My dog Rex loves the beach"
    finally:
        out = stop(proc)
    assert key in out, "the key is printed once on first start"

    # A second start reuses the data: no new key, the episode is still there.
    proc = start(data_dir, port)
    try:
        wait_ready(port, proc)
        r = httpx.get(
            f"http://127.0.0.1:{port}/v1/episodes", headers=auth, params={"user_id": "me"}
        )
        assert [e["content"] for e in r.json()["items"]] == ["My dog Rex loves the beach"]
    finally:
        out = stop(proc)
    assert key not in out
    assert (data_dir / "api_key").read_text().strip() == key
    assert not (data_dir / "pg" / "postmaster.pid").exists(), "the embedded server stops on exit"

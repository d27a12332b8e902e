"""The logs of ``memory-service serve``: JSON lines on a stderr that is not a terminal,
each with a timestamp, a level and the request id the response carried; an access line
per request with the route template, never the raw path (it can hold user ids)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from memory_service import logs
from memory_service.bootstrap import Components
from tests.conftest import ROOT, free_port, new_key, wait_ready

SECRET_USER = "alice-secret-id"


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every non-empty line, parsed: a line that is not JSON fails the test."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
async def key(components: Components) -> str:
    return await new_key(components, "logs")


def test_serve_logs_json_lines_with_request_ids(
    key: str, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORY_")}
    env.update(
        MEMORY_DATABASE_URL=database_url,
        MEMORY_EMBEDDER="hash",
        MEMORY_SPARSE_ENCODER="hash",
        MEMORY_DATA_DIR=str(tmp_path),
        MEMORY_LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
    )
    command = [sys.executable, "-m", "memory_service.cli", "serve", "--port", str(port)]
    stderr_path = tmp_path / "stderr.log"
    with stderr_path.open("wb") as stderr:  # a file: not a terminal
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, process, stderr_path)
        auth = {"Authorization": f"Bearer {key}"}
        forgot = httpx.delete(f"{url}/v1/users/{SECRET_USER}", headers=auth, timeout=10)
        given = httpx.get(
            f"{url}/v1/episodes",
            params={"user_id": SECRET_USER},
            headers={**auth, "x-request-id": "trace-logs-1"},
            timeout=10,
        )
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert forgot.status_code in (200, 404)
    assert given.status_code == 200
    text = stderr_path.read_text()
    records = json_lines(text)
    assert records
    for record in records:
        assert {"timestamp", "level", "logger", "message", "request_id"} <= set(record), record
        assert record["timestamp"].startswith("20")  # ISO 8601
    access = [r for r in records if r["logger"] == logs.ACCESS]
    delete = [r for r in access if r["method"] == "DELETE"]
    assert len(delete) == 1
    assert delete[0]["route"] == "/v1/users/{user_id}"
    assert delete[0]["status"] == forgot.status_code
    assert delete[0]["request_id"] == forgot.headers["x-request-id"]
    assert delete[0]["duration_ms"] >= 0
    assert [r["route"] for r in access if r["request_id"] == "trace-logs-1"] == ["/v1/episodes"]
    assert SECRET_USER not in text  # neither the path nor the query string
    assert any(r["logger"].startswith("uvicorn") for r in records)  # through our handler


def test_text_on_a_terminal_json_elsewhere() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert logs.wants_json("auto", io.StringIO())
    assert not logs.wants_json("auto", Terminal())
    assert logs.wants_json("json", Terminal())
    assert not logs.wants_json("text", io.StringIO())


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_records_carry_the_request_id(fmt: logs.LogFormat) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    out = io.StringIO()
    try:
        logs.configure("INFO", fmt, stream=out)
        with logs.in_request("req-42"):
            logging.getLogger("memory_service.test").info("inside")
        logging.getLogger("memory_service.test").info("outside")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        logging.captureWarnings(False)
    inside, outside = out.getvalue().splitlines()
    if fmt == "json":
        assert json.loads(inside)["request_id"] == "req-42"
        assert json.loads(outside)["request_id"] is None
        assert json.loads(inside)["message"] == "inside"
    else:
        assert "[req-42] inside" in inside
        assert "[-] outside" in outside

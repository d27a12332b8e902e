"""The embedded server's shared buffers: sized on its first start, a new size taken at
once only when no other process holds the server, a bad size refused."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from memory_service.config import Settings
from memory_service.db import embedded
from memory_service.db.embedded import (
    buffers_size,
    memory_bytes,
    postmaster,
    start_embedded,
)
from memory_service.domain.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
MB = 2**20


@pytest.fixture
def folder() -> Iterator[Path]:
    pgdata = Path(os.environ.get("MEMORY_TEST_PGDATA", ROOT / ".memory-data-test" / "pg"))
    out = pgdata.resolve().parent / f"buffers-{uuid.uuid4().hex[:8]}"
    out.mkdir(parents=True)
    try:
        yield out
    finally:
        shutil.rmtree(out, ignore_errors=True)


def shown(server: object) -> str:
    out: str = server.psql("SHOW shared_buffers;")  # type: ignore[attr-defined]
    return out.split("\n")[2].strip()


def test_a_new_server_starts_with_its_size_and_a_held_one_keeps_its_own(folder: Path) -> None:
    server, _ = start_embedded(folder / "pg", shared_buffers="160MB")
    try:
        assert shown(server) == "160MB"  # restarted once, on its first start
        first = postmaster(folder / "pg").pid
        again, _ = start_embedded(folder / "pg", shared_buffers="192MB")  # held: no restart
        assert again is server
        assert shown(server) == "160MB"
        assert postmaster(folder / "pg").pid == first
    finally:
        server.cleanup()
        server.cleanup()  # both handles: the server stops
    assert postmaster(folder / "pg") is None
    server, _ = start_embedded(folder / "pg", shared_buffers="192MB")
    try:
        assert shown(server) == "192MB"  # written by the held start, read on this one
    finally:
        server.cleanup()


def test_a_size_the_machine_cannot_give_leaves_the_server_on_its_previous_one(
    folder: Path,
) -> None:
    server, _ = start_embedded(folder / "pg", shared_buffers="4000GB")
    try:
        assert shown(server) == "128MB"
        auto = (folder / "pg" / "postgresql.auto.conf").read_text()
        assert "shared_buffers" not in auto
    finally:
        server.cleanup()


@pytest.mark.parametrize(
    ("memory", "size"),
    [(256 * MB, "128MB"), (2048 * MB, "512MB"), (24 * 1024 * MB, "4096MB"), (10**13, "4096MB")],
)
def test_auto_is_a_quarter_of_the_memory_from_128mb_to_4gb(
    monkeypatch: pytest.MonkeyPatch, memory: int, size: str
) -> None:
    monkeypatch.setattr(embedded, "memory_bytes", lambda: memory)
    assert buffers_size("auto") == size
    assert buffers_size("2GB") == "2GB"


def test_the_memory_is_this_machines_or_less() -> None:
    machine = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert 0 < memory_bytes() <= machine


@pytest.mark.parametrize("size", ["", "2 GB", "1TB", "0MB", "1GB'; DROP TABLE x; --", "-1MB"])
def test_a_bad_size_is_refused_before_the_server_sees_it(size: str) -> None:
    with pytest.raises(ConfigurationError, match="shared_buffers"):
        buffers_size(size)
    with pytest.raises(ValidationError):
        Settings(embedded_shared_buffers=size)

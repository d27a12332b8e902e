"""MemoryClient against a real server: uvicorn on a loopback port (see conftest)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from uuid import uuid4

import pytest

from memory_client import AuthenticationError, ConflictError, MemoryClient, NotFoundError
from tests.conftest import ROOT


def test_turns_search_context_feedback(sync_client: MemoryClient) -> None:
    added = sync_client.add(
        [{"role": "user", "content": "Caroline adopted a greyhound named Pixel"}], user_id="u"
    )
    assert sync_client.job(added.job_id).state == "queued"
    assert [e.id for e in sync_client.episodes(user_id="u").items] == added.episode_ids

    found = sync_client.search("greyhound", user_id="u", mode="fast")
    assert [hit.id for hit in found.results] == added.episode_ids
    block = sync_client.context(user_id="u", query="greyhound")
    assert "Pixel" in block.context
    assert sync_client.feedback(found.retrieval_id, 0.5).applied


def test_memory_life_cycle(sync_client: MemoryClient) -> None:
    fact = sync_client.add_memory("Pixel is a greyhound", user_id="u")
    assert sync_client.update(fact.id, metadata={"checked": True}).metadata == {"checked": True}
    assert [m.id for m in sync_client.get_all(user_id="u").items] == [fact.id]
    sync_client.delete(fact.id)
    assert [c.op for c in sync_client.history(fact.id)] == ["ADD", "UPDATE", "DELETE"]
    assert sync_client.delete_all(user_id="u").user_id == "u"
    with pytest.raises(NotFoundError):
        sync_client.get(fact.id)


def test_export_streams_and_import_round_trips(sync_client: MemoryClient, tmp_path: Path) -> None:
    sync_client.add(["one", "two", "three"], user_id="u")
    records = list(sync_client.export(user_id="u"))
    assert sorted(r["text"] for r in records if r["type"] == "episode") == ["one", "three", "two"]
    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))

    sync_client.delete_all(user_id="u")
    assert sync_client.import_(path).imported["episode"].added == 3
    assert sync_client.import_(records).imported["episode"].skipped == 3
    assert sorted(e.content for e in sync_client.episodes(user_id="u").items) == [
        "one",
        "three",
        "two",
    ]


def test_errors_over_the_wire(sync_client: MemoryClient, server_url: str) -> None:
    with pytest.raises(NotFoundError):
        sync_client.job(uuid4())
    with pytest.raises(ConflictError):
        sync_client.answer("who adopted Pixel?", user_id="u")
    with MemoryClient(server_url, "msk_not_a_key") as stranger, pytest.raises(AuthenticationError):
        stranger.search("x", user_id="u")


def test_readme_agent_loop_runs(
    server_url: str,
    api_key: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README's agent loop, as written; the test server has no LLM, so its fallback."""
    readme = (ROOT / "clients" / "python" / "README.md").read_text()
    example = next(
        b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "ConflictError" in b
    )
    monkeypatch.setenv("MEMORY_SERVICE_URL", server_url)
    monkeypatch.setenv("MEMORY_SERVICE_API_KEY", api_key)
    exec(compile(example, "README.md", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out
    assert "no LLM configured" in printed
    assert "greyhound" in printed

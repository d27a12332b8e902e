"""The gated route and Full Deliberation through /v1/search."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from httpx import AsyncClient

from memory_service.bootstrap import Components
from memory_service.testing import ScriptedLLM
from policies.gate_features import FEATURES
from policies.learned_gate import LearnedGate
from tests.api.helpers import add_messages
from tests.api.scripted_deliberation import TURNS, scripted
from tests.conftest import api_client


async def test_search_reports_route_gate_and_cost(client: AsyncClient) -> None:
    await add_messages(client, TURNS, user_id="u")
    r = await client.post(
        "/v1/search", json={"user_id": "u", "query": "silver necklace Sweden", "preset": "gated"}
    )
    body = r.json()
    assert body["route"] in ("fast", "deliberate")
    dimensions = {"relevance", "coverage", "temporal_fit", "consistency"}
    assert set(body["gate"]["scores"]) == {*dimensions, "learned"}  # the bundled model
    assert all(0.0 <= v <= 1.0 for v in body["gate"]["scores"].values())
    assert "gate" in body["timings_ms"]
    assert body["cost"]["llm_calls"] == 0


async def test_forced_deliberation_reads_every_episode(client: AsyncClient) -> None:
    await add_messages(client, TURNS, user_id="u")
    r = await client.post(
        "/v1/search",
        json={"user_id": "u", "query": "What did the grandmother give?", "mode": "deliberate"},
    )
    body = r.json()
    assert body["route"] == "deliberate"
    assert body["gate"]["reasons"][0] == "forced deliberate"
    assert "necklace" in body["results"][0]["text"]
    assert "deliberation" in body["results"][0]["scores"]
    assert body["cost"]["chunks_read"] == 1


async def test_weak_fast_result_escalates(client: AsyncClient) -> None:
    await add_messages(client, ["the sky", "the sea"], user_id="u")
    r = await client.post(
        "/v1/search", json={"user_id": "u", "query": "quantum chromodynamics", "preset": "gated"}
    )
    body = r.json()
    assert body["route"] == "deliberate"
    assert any(
        reason.startswith(("relevance", "no evidence")) for reason in body["gate"]["reasons"]
    )


def auditing(completeness: bool | None) -> ScriptedLLM:
    """An LLM whose evidence audit passes, fails on completeness, or (None) is unreadable."""
    verdict = (
        "I cannot tell."
        if completeness is None
        else json.dumps(
            {
                "answer": "a silver necklace",
                "relevance": True,
                "faithfulness": True,
                "completeness": completeness,
                "reason": ".",
            }
        )
    )
    found = scripted(audit_passes=True).rules[1]
    return ScriptedLLM(rules=[(r"enough to answer a question", verdict), found])


@pytest.mark.parametrize(
    ("completeness", "route", "calls"),
    [(True, "fast", 1), (False, "deliberate", 2), (None, "deliberate", 2)],
)
async def test_search_audit_feeds_the_gate(
    components: Components, completeness: bool | None, route: str, calls: int
) -> None:
    llm = auditing(completeness)
    hand_set = components.settings.model_copy(update={"gate_learned": False})
    async with api_client(replace(components, llm=llm, settings=hand_set), "audit") as client:
        await add_messages(client, TURNS, user_id="u")
        r = await client.post(
            "/v1/search",
            json={
                "user_id": "u",
                "query": "Caroline: my grandmother gave me a silver necklace in Sweden",
                "preset": "gated",
            },
        )
    body = r.json()
    assert r.status_code == 200, r.text
    assert body["route"] == route
    assert body["gate"]["scores"]["audit"] == (
        1.0 if completeness else 2 / 3 if completeness is False else 0.0
    )
    assert body["cost"]["llm_calls"] == calls == len(llm.calls)
    assert "audit" in body["timings_ms"]
    if completeness is None:
        assert "unreadable" in body["gate"]["audit"]
    else:
        assert body["gate"]["audit"]["answer"] == "a silver necklace"
    if route == "deliberate":
        assert any(reason.startswith("audit") for reason in body["gate"]["reasons"])
        assert body["results"][0]["kind"] == "fact"


async def test_nul_in_the_auditors_reply_is_dropped_not_a_500(components: Components) -> None:
    verdict = {"answer": "a silver\u0000 necklace", "reason": "\u0000"}
    verdict |= dict.fromkeys(("relevance", "faithfulness", "completeness"), True)
    llm = ScriptedLLM(rules=[(r"enough to answer a question", json.dumps(verdict))])
    hand_set = components.settings.model_copy(update={"gate_learned": False})
    async with api_client(replace(components, llm=llm, settings=hand_set), "audit") as client:
        await add_messages(client, TURNS, user_id="u")
        r = await client.post(
            "/v1/search",
            json={"user_id": "u", "query": "Caroline: silver necklace Sweden", "preset": "gated"},
        )
    assert r.status_code == 200, r.text
    assert r.json()["gate"]["audit"]["answer"] == "a silver necklace"


async def test_search_skips_the_audit_when_the_gate_already_fails(components: Components) -> None:
    llm = auditing(True)
    hand_set = components.settings.model_copy(update={"gate_learned": False})
    async with api_client(replace(components, llm=llm, settings=hand_set), "audit") as client:
        await add_messages(client, ["the sky", "the sea"], user_id="u")
        r = await client.post(
            "/v1/search",
            json={"user_id": "u", "query": "quantum chromodynamics", "preset": "gated"},
        )
    body = r.json()
    assert body["route"] == "deliberate"
    assert "audit" not in body["gate"]["scores"]
    assert not any("enough to answer" in c[-1].content for c in llm.calls)


def sim_model(tmp_path: Path, threshold: float) -> Path:
    """A learned gate that passes a result whose best similarity is high enough."""
    n = len(FEATURES)
    row = [8.0 if name == "sim_best" else 0.0 for name in FEATURES]
    model = LearnedGate(FEATURES, (0.5,) * n, (1.0,) * n, (((tuple(row),), (0.0,)),), threshold)
    path = tmp_path / "gate.json"
    path.write_text(json.dumps(model.to_json()))
    return path


@pytest.mark.parametrize(("threshold", "route"), [(0.0, "fast"), (1.0, "deliberate")])
async def test_the_learned_gate_routes_search(
    components: Components, tmp_path: Path, threshold: float, route: str
) -> None:
    settings = components.settings.model_copy(update={"gate_model": sim_model(tmp_path, threshold)})
    async with api_client(replace(components, settings=settings), "learned") as client:
        await add_messages(client, TURNS, user_id="u")
        r = await client.post(
            "/v1/search",
            json={"user_id": "u", "query": "silver necklace from Sweden", "preset": "gated-window"},
        )
    body = r.json()
    assert r.status_code == 200, r.text
    assert body["route"] == route
    assert 0.0 < body["gate"]["scores"]["learned"] < 1.0
    assert set(body["gate"]["features"]) == set(FEATURES)
    if route == "deliberate":
        assert body["gate"]["reasons"][0].startswith("learned")
        # without an LLM, System 2's exhaustive scan is fused with the fast list
        assert any("fused" in hit["scores"] for hit in body["results"])
    assert any(hit["context"] for hit in body["results"])  # the preset's windows


async def test_hand_set_marks_when_the_learned_gate_is_off(components: Components) -> None:
    settings = components.settings.model_copy(update={"gate_learned": False})
    async with api_client(replace(components, settings=settings), "handset") as client:
        await add_messages(client, TURNS, user_id="u")
        r = await client.post(
            "/v1/search", json={"user_id": "u", "query": "silver necklace", "preset": "gated"}
        )
    assert "learned" not in r.json()["gate"]["scores"]


async def test_system_2_reads_the_most_recent_history_that_fits_its_budget(
    client: AsyncClient,
) -> None:
    filler = " and then some more words about an ordinary day" * 8
    # 100 tokens each: the ten newest fill a 1,000-token budget exactly
    texts = [f"entry {i} zeppelin{filler}"[:400].ljust(400, ".") for i in range(30)]
    times = [f"2024-01-{i + 1:02d}T12:00:00Z" for i in range(30)]
    ids = await add_messages(client, texts, user_id="u", times=times)
    body = {"user_id": "u", "query": "zeppelin", "mode": "deliberate", "limit": 30}
    body["preset"] = "hybrid"  # one item a turn: no passages
    capped = (await client.post("/v1/search", json={**body, "budget_tokens": 1000})).json()
    assert {h["id"] for h in capped["results"]} == set(ids[20:])  # the 10 newest
    assert capped["cost"]["truncated"] == 1
    whole = (await client.post("/v1/search", json=body)).json()
    assert {h["id"] for h in whole["results"]} == set(ids)
    assert whole["cost"]["truncated"] == 0

"""The evaluation runner end to end, on small files in the datasets' exact formats."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from evals import runner
from evals.datasets.locomo import load_locomo
from evals.quality.harness import eval_tenant, ingest_turns
from evals.quality.locomo import source_turns
from evals.quality.output import RunOutput
from evals.quality.pipelines import ServicePipeline
from memory_service.adapters.tokens import count_tokens
from memory_service.bootstrap import Components
from memory_service.services.context import build_context

LOCOMO = [
    {
        "sample_id": "conv-x",
        "conversation": {
            "speaker_a": "Ana",
            "speaker_b": "Ben",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                {"speaker": "Ana", "dia_id": "D1:1", "text": "I adopted a greyhound named Pixel"},
                {"speaker": "Ben", "dia_id": "D1:2", "text": "Lovely! Greyhounds are calm dogs."},
                {"speaker": "Ana", "dia_id": "D1:3", "text": "Tomorrow I start pottery classes"},
            ],
            "session_2_date_time": "10:00 am on 20 May, 2023",
            "session_2": [
                {"speaker": "Ben", "dia_id": "D2:1", "text": "How was the pottery class?"},
                {"speaker": "Ana", "dia_id": "D2:2", "text": "I made a blue vase in pottery"},
            ],
            "session_3_date_time": "9:00 am on 1 June, 2023",
        },
        "qa": [
            {
                "question": "What is the name of Ana's greyhound?",
                "answer": "Pixel",
                "evidence": ["D1:1"],
                "category": 4,
            },
            {
                "question": "What did Ana make in pottery class?",
                "answer": "a blue vase",
                "evidence": ["D2:2; D1:3"],
                "category": 1,
            },
            {
                "question": "When did Ana start pottery?",
                "answer": 2023,
                "evidence": [],
                "category": 2,
            },
            {
                "question": "What is Ben's cat called?",
                "adversarial_answer": "Pixel",
                "evidence": ["D1:1"],
                "category": 5,
            },
        ],
        "observation": {"must": "not be read"},
    }
]


def locomo_file(tmp_path: Path) -> Path:
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps(LOCOMO))
    return path


async def run(components: Components, *argv: str) -> dict[str, Any]:
    args = runner.parser().parse_args(list(argv))
    return await runner.run(args, components)


async def test_locomo_retrieval_writes_every_output(components: Components, tmp_path: Path) -> None:
    out = tmp_path / "out"
    summary = await run(
        components, "locomo", "--data", str(locomo_file(tmp_path)), "--k", "1,3", "--out", str(out)
    )
    assert not summary["partial"]
    assert summary["facts"]["skipped_no_evidence"] == 1
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 3 * 3  # 3 questions with evidence x 3 pipelines
    for name in ("summary.json", "report.md", "recall_vs_budget.png", "recall_at_k.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "latency.png").stat().st_size > 0
    bm25 = summary["pipelines"]["bm25-turns"]
    # "greyhound" and "pottery" are in the evidence turns: BM25 finds them at rank 1.
    assert bm25["groups"]["4"]["recall@1"] == 1.0
    assert bm25["groups"]["1"]["recall@3"] == 1.0
    assert set(bm25) == {"overall", "groups", "overall_without_5"}
    assert bm25["overall_without_5"]["n"] == 2
    overall = bm25["overall"]
    # five short turns: whatever BM25 finds fits in 250 tokens
    assert overall["recall@250tok"] == overall["recall@4000tok"] >= overall["recall@3"]
    report = (out / "report.md").read_text()
    assert "| pipeline | 250 tok | 500 tok | 1,000 tok | 2,000 tok | 4,000 tok |" in report
    assert "| pipeline | recall@1 | recall@3 |" in report
    assert "DRAGON" in report
    assert summary["config"]["embedder"] == "hash"
    assert summary["git_commit"]


async def test_locomo_qa_with_the_scripted_llm(components: Components, tmp_path: Path) -> None:
    out = tmp_path / "qa"
    summary = await run(
        components,
        "locomo",
        "--data",
        str(locomo_file(tmp_path)),
        "--mode",
        "qa",
        "--llm",
        "scripted",
        "--judge",
        "scripted",
        "--judge-seeds",
        "3",
        "--pipeline",
        "full-context,bm25-turns",
        "--out",
        str(out),
    )
    records = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 4 * 2
    assert all("prediction" in r and len(r["judge"]) == 3 for r in records)
    full = summary["pipelines"]["full-context"]["overall"]
    assert (
        full["context_tokens_per_query"]
        > summary["pipelines"]["bm25-turns"]["overall"]["context_tokens_per_query"]
    )
    assert full["judge_accuracy"] == 1.0  # the scripted judge always says CORRECT
    assert full["judge_seeds"] == 3
    assert 0.0 <= full["f1"] <= 1.0
    assert "## Prompt: judge" in (out / "report.md").read_text()


async def test_interrupt_leaves_a_valid_partial_report(
    components: Components, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = RunOutput.write
    calls = {"n": 0}

    def write_then_interrupt(self: RunOutput, record: dict[str, Any]) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        real_write(self, record)

    monkeypatch.setattr(RunOutput, "write", write_then_interrupt)
    out = tmp_path / "partial"
    summary = await run(
        components, "locomo", "--data", str(locomo_file(tmp_path)), "--out", str(out)
    )
    assert summary["partial"] is True
    assert len((out / "results.jsonl").read_text().splitlines()) == 3
    assert "PARTIAL" in (out / "report.md").read_text()
    assert json.loads((out / "summary.json").read_text())["partial"] is True


# The project's development split, beside the checkout (never a default of the runner).
DEV_SPLIT = Path(__file__).resolve().parents[3] / "shared" / "data" / "locomo" / "locomo-dev.json"


@pytest.mark.skipif(not DEV_SPLIT.exists(), reason=f"LoCoMo development split not at {DEV_SPLIT}")
async def test_dev_split_smoke(components: Components, tmp_path: Path) -> None:
    summary = await run(
        components,
        "locomo",
        "--data",
        str(DEV_SPLIT),
        "--conversations",
        "conv-26",
        "--max-questions",
        "5",
        "--pipeline",
        "bm25-turns",
        "--out",
        str(tmp_path / "dev"),
    )
    assert summary["pipelines"]["bm25-turns"]["overall"]["n"] == 5


async def run_small(
    components: Components, tmp_path: Path, pipelines: str, out: Path
) -> dict[str, Any]:
    """The small LoCoMo file at k = 1, 3 through ``pipelines``, written to ``out``."""
    data = str(locomo_file(tmp_path))
    return await run(
        components,
        "locomo",
        "--data",
        data,
        "--k",
        "1,3",
        "--pipeline",
        pipelines,
        "--out",
        str(out),
    )


async def test_gated_pipelines_report_routes_and_gate_quality(
    components: Components, tmp_path: Path
) -> None:
    out = tmp_path / "gated"
    summary = await run_small(components, tmp_path, "fast,gated", out)
    fast = summary["pipelines"]["fast"]["overall"]
    gated = summary["pipelines"]["gated"]["overall"]
    assert fast["deliberate_share"] == 0.0  # mode fast: the gate scores, never routes
    assert 0.0 <= gated["deliberate_share"] <= 1.0
    records = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert all("gate_overall" in r for r in records)
    gate = summary["gate"]["gated"]  # the routing score's figures, for each gated preset
    assert gate["score"] == "learned"
    assert gate["escalation_share"] == gated["deliberate_share"]
    assert set(summary["gate"]) == {"fast", "gated"}
    from evals.quality.calibrate import calibrate

    thresholds = calibrate(records, "fast")
    assert set(thresholds) == {"relevance", "coverage", "temporal_fit", "consistency"}


async def test_a_presets_fast_result_with_gate_features_feeds_train_gate(
    components: Components, tmp_path: Path
) -> None:
    out = tmp_path / "features"
    summary = await run_small(components, tmp_path, "gated-window@fast", out)
    assert summary["pipelines"]["gated-window@fast"]["overall"]["deliberate_share"] == 0.0
    records = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    from evals.quality.train_gate import rows
    from policies.gate_features import FEATURES

    assert all(set(r["gate_features"]) == set(FEATURES) for r in records)
    assert all("learned" in r["gate_scores"] for r in records)  # the bundled model scored
    data = rows(records, "gated-window@fast")
    assert len(data.x) == len(records)
    assert all(len(x) == len(FEATURES) for x in data.x)


async def test_service_items_are_what_the_context_block_shows(
    components: Components, tmp_path: Path
) -> None:
    """Items of a windowed preset, in /v1/context's order, are its block's lines."""
    conv = load_locomo(locomo_file(tmp_path))[0]
    now = datetime(2023, 6, 2, tzinfo=UTC)
    question = "What did Ana make in pottery class?"
    async with eval_tenant(components, "context-check") as tenant:
        run = await ingest_turns(components, tenant, conv.sample_id, source_turns(conv))
        pipeline = ServicePipeline(components, "hybrid-window", mode="fast", now=now)
        found = await pipeline.retrieve(run, question, 50)
        async with components.uow() as uow:
            block = await build_context(
                uow,
                components.pipeline("hybrid-window"),
                tenant,
                run.scope,
                query=question,
                token_budget=100_000,
                count=count_tokens,
                now=now,
            )
    episodes = [i.text for i in found.items if i.kind == "episode"]
    assert episodes == [i.text for i in found.items]  # no facts without consolidation
    assert block.text == "\n".join(["## Conversation excerpts", *episodes])
    assert all(i.tokens == count_tokens(i.text) for i in found.items)

"""Aggregation of results.jsonl into summary.json, report.md and PNG plots."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evals import metrics

DRAGON = {5: 0.588, 10: 0.675, 25: 0.799, 50: 0.848}
"""LoCoMo paper, DRAGON retriever over dialog turns: evidence recall@k."""


def _mean(values: Iterable[float]) -> float | None:
    vals = list(values)
    return sum(vals) / len(vals) if vals else None


def aggregate(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean of every score, overall and per group; latency percentiles; QA cost."""
    out: dict[str, Any] = {"n": len(records)}
    scored = [r["scores"] for r in records if "scores" in r]
    for key in sorted({k for s in scored for k in s}):
        out[key] = _mean(s[key] for s in scored if key in s)
    latencies = [float(r["latency_ms"]) for r in records]
    if latencies:
        out["latency_ms_p50"] = metrics.percentile(latencies, 50)
        out["latency_ms_p95"] = metrics.percentile(latencies, 95)
    answered = [r for r in records if "answer_scores" in r]
    if answered:
        for key in ("f1", "set_f1", "bleu1"):
            out[key] = _mean(r["answer_scores"][key] for r in answered if key in r["answer_scores"])
        out["input_tokens_per_query"] = _mean(r["input_tokens"] for r in answered)
        out["output_tokens_per_query"] = _mean(r["output_tokens"] for r in answered)
        out["context_tokens_per_query"] = _mean(r["context_tokens"] for r in answered)
        out["llm_calls_per_query"] = _mean(r["llm_calls"] for r in answered)
        out.update(_judge(answered))
    return out


def _judge(answered: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    judged = [r for r in answered if r.get("judge")]
    if not judged:
        return {}
    seeds = min(len(r["judge"]) for r in judged)
    per_seed = [_mean(float(r["judge"][s]) for r in judged) or 0.0 for s in range(seeds)]
    mean, low, high = metrics.mean_ci(per_seed)
    correct = sum(float(r["judge"][0]) for r in judged)
    tokens = sum(r["input_tokens"] + r["output_tokens"] for r in judged)
    return {
        "judge_accuracy": mean,
        "judge_ci95": [low, high],
        "judge_seeds": seeds,
        "tokens_per_correct": tokens / correct if correct else None,
    }


def summarise(
    records: Sequence[Mapping[str, Any]], group_key: str, exclude_from_overall: str | None = None
) -> dict[str, Any]:
    """Per pipeline: ``overall``, per ``group_key`` value, and ``overall_without_<x>``."""
    by_pipeline: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for r in records:
        by_pipeline[r["pipeline"]].append(r)
    result: dict[str, Any] = {}
    for name, rows in by_pipeline.items():
        groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for r in rows:
            groups[str(r[group_key])].append(r)
        entry: dict[str, Any] = {"overall": aggregate(rows)}
        entry["groups"] = {g: aggregate(v) for g, v in sorted(groups.items())}
        if exclude_from_overall is not None:
            kept = [r for r in rows if str(r[group_key]) != exclude_from_overall]
            entry[f"overall_without_{exclude_from_overall}"] = aggregate(kept)
        result[name] = entry
    return result


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:,.0f}"
    return str(value)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)

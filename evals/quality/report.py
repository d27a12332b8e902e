"""Aggregation of results.jsonl into summary.json, report.md and PNG plots."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evals.quality import metrics
from evals.quality.gate_quality import gate_label, routing_score, routing_value

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
    routes = [r.get("route", "fast") for r in records]
    if routes:
        out["deliberate_share"] = sum(route == "deliberate" for route in routes) / len(routes)
    out.update(gate_auc(records))
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


def gate_auc(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """ROC AUC of the score that routes (the learned probability when the gate has
    one, else the dimensions' overall score; named in ``gate_auc_score``), and of the
    best similarity alone (the single-threshold baseline), at telling fast results
    that hold all evidence apart."""
    scored = [r for r in records if r.get("gate_overall") is not None and gate_label(r) is not None]
    score = routing_score(scored)
    rows = [(routing_value(r, score), r.get("best_similarity"), gate_label(r)) for r in scored]
    labels = [bool(y) for _, _, y in rows]
    if not rows or all(labels) or not any(labels):
        return {}
    out: dict[str, Any] = {
        "gate_auc": metrics.roc_auc([g for g, _, _ in rows], labels),
        "gate_auc_score": score,
    }
    sims = [s for _, s, _ in rows if s is not None]
    if len(sims) == len(rows):
        out["similarity_auc"] = metrics.roc_auc([float(s) for s in sims], labels)
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
    dollars = [float(r["cost_usd"]) for r in judged if r.get("cost_usd") is not None]
    priced = len(dollars) == len(judged)
    return {
        "judge_accuracy": mean,
        "judge_ci95": [low, high],
        "judge_seeds": seeds,
        "tokens_per_correct": tokens / correct if correct else None,
        "usd_per_correct": sum(dollars) / correct if priced and correct else None,
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

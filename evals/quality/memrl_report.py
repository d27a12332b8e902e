"""The MemRL protocol's figures (``evals.quality.memrl_protocol``): paired changes in
retrieval scores after feedback, per conversation and pooled, and its output folder
(results.jsonl, summary.json, report.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.quality.metrics import mean_ci
from evals.quality.output import git_commit

HALVES = ("train", "test")
PHASES = ("before", "after")
METRICS = ("recall@10", "recall@1000tok", "all@10")


def _no_feedback() -> dict[str, int]:
    return {"retrievals": 0, "events": 0, "rewarded": 0, "penalised": 0}


@dataclass
class Results:
    """One conversation's measurements: question ids per half, scores per phase and
    question, and the feedback given (searches, feedback events, items credited +1
    and -1)."""

    conversation: str
    halves: dict[str, list[str]]
    scores: dict[str, dict[str, dict[str, float]]] = field(
        default_factory=lambda: {p: {} for p in PHASES}
    )
    categories: dict[str, int] = field(default_factory=dict)
    feedback: dict[str, int] = field(default_factory=_no_feedback)

    def add_feedback(self, counts: Mapping[str, int]) -> None:
        self.feedback["retrievals"] += 1
        for key, value in counts.items():
            self.feedback[key] += value

    def pairs(self, half: str) -> list[tuple[Mapping[str, float], Mapping[str, float]]]:
        before, after = (self.scores[p] for p in PHASES)
        return [(before[q], after[q]) for q in self.halves[half] if q in before and q in after]

    def records(self) -> Iterator[dict[str, Any]]:
        for half in HALVES:
            for qid in self.halves[half]:
                for phase in PHASES:
                    if qid in self.scores[phase]:
                        yield {
                            "conversation": self.conversation,
                            "question_id": qid,
                            "category": self.categories.get(qid),
                            "half": half,
                            "phase": phase,
                            "scores": self.scores[phase][qid],
                        }


def half_figures(
    pairs: Sequence[tuple[Mapping[str, float], Mapping[str, float]]],
) -> dict[str, Any]:
    """Per metric: mean before and after, the mean paired change with its 95%
    interval, and how many questions rose or fell."""
    out: dict[str, Any] = {"n": len(pairs)}
    if not pairs:
        return out
    for metric in METRICS:
        deltas = [a[metric] - b[metric] for b, a in pairs]
        mean, low, high = mean_ci(deltas)
        out[metric] = {
            "before": sum(b[metric] for b, _ in pairs) / len(pairs),
            "after": sum(a[metric] for _, a in pairs) / len(pairs),
            "delta": mean,
            "ci95": [low, high],
            "improved": sum(d > 0 for d in deltas),
            "worsened": sum(d < 0 for d in deltas),
        }
    return out


def verdict(test: Mapping[str, Any], metric: str = "recall@10") -> str:
    """A plain sentence on the unseen half's paired change in ``metric``."""
    figures = test.get(metric)
    if not figures:
        return "no unseen questions were measured"
    low, high = figures["ci95"]
    delta = f"{figures['delta']:+.4f} (95% CI {low:+.4f} to {high:+.4f})"
    if low > 0:
        return f"learned utilities helped unseen questions: {metric} {delta}"
    if high < 0:
        return f"learned utilities hurt unseen questions: {metric} {delta}"
    return f"no measurable effect of learned utilities on unseen questions: {metric} {delta}"


def summarise(done: Sequence[Results]) -> dict[str, Any]:
    def pooled(half: str) -> list[tuple[Mapping[str, float], Mapping[str, float]]]:
        return [p for r in done for p in r.pairs(half)]

    feedback = _no_feedback()
    for r in done:
        for key, value in r.feedback.items():
            feedback[key] += value
    overall = {"feedback": feedback, **{h: half_figures(pooled(h)) for h in HALVES}}
    return {
        "conversations": {
            r.conversation: {
                "feedback": dict(r.feedback),
                **{h: half_figures(r.pairs(h)) for h in HALVES},
            }
            for r in done
        },
        "overall": overall,
        "verdict": verdict(overall["test"]),
    }


def write_outputs(out: Path, config: Mapping[str, Any], done: Sequence[Results]) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w") as handle:
        for r in done:
            for record in r.records():
                handle.write(json.dumps(record) + "\n")
    summary = {"config": dict(config), "git_commit": git_commit(), **summarise(done)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(report(summary))
    return summary


def _cell(half: Mapping[str, Any], metric: str) -> str:
    f = half.get(metric)
    if not f:
        return "–"
    low, high = f["ci95"]
    return f"{f['before']:.3f} → {f['after']:.3f} ({f['delta']:+.3f}, {low:+.3f}..{high:+.3f})"


def report(summary: Mapping[str, Any]) -> str:
    cfg = summary["config"]
    lines = [
        "# MemRL protocol: does feedback on one half help the other?",
        "",
        f"preset `{cfg['preset']}`, seed {cfg['seed']}, {cfg['epochs']} feedback pass(es), "
        f"reward +1 / -{cfg['penalty']:g}, "
        f"embedder {cfg['embedder']}, consolidation {'on' if cfg['consolidate'] else 'off'}, "
        f"commit `{summary['git_commit']}`, {cfg['seconds']} s",
        "",
        f"**{summary['verdict']}**",
        "",
        "Cells: mean before → after feedback (paired change, its 95% interval).",
        "",
        "| conversation | feedback events (rewarded / penalised items) | unseen n "
        "| unseen recall@10 | unseen recall@1000tok | trained n | trained recall@10 |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [*summary["conversations"].items(), ("overall", summary["overall"])]
    for name, c in rows:
        fb, test, train = c["feedback"], c["test"], c["train"]
        lines.append(
            f"| {name} | {fb['events']} ({fb['rewarded']} / {fb['penalised']}) | {test['n']} "
            f"| {_cell(test, 'recall@10')} | {_cell(test, 'recall@1000tok')} | {train['n']} "
            f"| {_cell(train, 'recall@10')} |"
        )
    return "\n".join(lines) + "\n"

"""A run's output folder: results.jsonl as it goes, then summary.json, report.md, plots."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from evals.quality import plots
from evals.quality.report import DRAGON, read_records, summarise, table


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True)
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


@dataclass
class RunOutput:
    out: Path
    config: dict[str, Any]
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    commit: str | None = field(default_factory=git_commit)
    """The code the run started from (read at the start: commits made while it runs
    are not in it)."""
    _handle: IO[str] | None = None

    def __post_init__(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self.results = self.out / "results.jsonl"
        self._handle = self.results.open("w")

    def write(self, record: Mapping[str, Any]) -> None:
        assert self._handle is not None
        self._handle.write(json.dumps(record, default=str) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def finish(
        self,
        *,
        dataset: str,
        group_key: str,
        titles: Mapping[str, str],
        ks: Sequence[int],
        facts: Mapping[str, Any],
        partial: bool,
        exclude: str | None = None,
        prompts: Mapping[str, str] | None = None,
        metric: str = "recall",
    ) -> dict[str, Any]:
        """Write summary.json, report.md and the plots from what results.jsonl holds."""
        self.close()
        records = read_records(self.results)
        summary: dict[str, Any] = {
            "dataset": dataset,
            "partial": partial,
            "started": self.started.isoformat(),
            "finished": datetime.now(UTC).isoformat(),
            "git_commit": self.commit,
            "config": self.config,
            "facts": dict(facts),
            "pipelines": summarise(records, group_key, exclude),
        }
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        if records:
            plots.recall_curves(
                summary["pipelines"], ks, metric, self.out / "recall_at_k.png", titles
            )
            plots.latency_histogram(records, self.out / "latency.png")
        (self.out / "report.md").write_text(
            render_report(summary, ks, titles, prompts or {}, metric)
        )
        return summary


def render_report(
    summary: Mapping[str, Any],
    ks: Sequence[int],
    titles: Mapping[str, str],
    prompts: Mapping[str, str],
    metric: str = "recall",
) -> str:
    pipelines = summary["pipelines"]
    lines = [
        f"# {summary['dataset']} evaluation"
        + (" (PARTIAL: interrupted)" if summary["partial"] else "")
    ]
    lines.append("")
    lines.append(f"commit `{summary['git_commit']}`, started {summary['started']}")
    lines.append("")
    lines.append("```json\n" + json.dumps(summary["config"], indent=2, default=str) + "\n```")
    lines.append("")
    lines.append("Facts: " + ", ".join(f"{k}: {v}" for k, v in summary["facts"].items()))
    overall_keys = [k for k in next(iter(pipelines.values()), {}) if k.startswith("overall")]
    for key in overall_keys:
        lines += ["", f"## {key.replace('_', ' ')}", ""]
        lines.append(_overview(pipelines, key, ks))
    groups = sorted({g for p in pipelines.values() for g in p["groups"]})
    for k in ks:
        lines += ["", f"## {metric}@{k} by {('category' if groups else 'group')}", ""]
        header = ["pipeline", *[titles.get(g, g) for g in groups]]
        rows = [
            [name, *[p["groups"].get(g, {}).get(f"{metric}@{k}") for g in groups]]
            for name, p in pipelines.items()
        ]
        lines.append(table(header, rows))
    if summary["dataset"] == "LoCoMo":
        lines += ["", "Reference (LoCoMo paper, DRAGON over dialog turns): "]
        lines.append(", ".join(f"recall@{k} {v:.3f}" for k, v in DRAGON.items()))
    lines += ["", "![recall@k](recall_at_k.png)", "", "![latency](latency.png)"]
    for name, text in prompts.items():
        lines += ["", f"## Prompt: {name}", "", "```", text.strip(), "```"]
    return "\n".join(lines) + "\n"


def _overview(pipelines: Mapping[str, Any], key: str, ks: Sequence[int]) -> str:
    cols = [f"recall@{k}" for k in ks] + [f"all@{k}" for k in ks[-1:]] + [f"ndcg@{ks[-1]}"]
    for level in ("session", "turn"):
        cols += [f"{level}_recall_all@{k}" for k in ks] + [f"{level}_ndcg_any@{ks[-1]}"]
    cols += ["recall@500tok", "recall@1000tok", "recall@2000tok", f"tokens@{ks[0]}"]
    cols += ["f1", "set_f1", "bleu1", "judge_accuracy", "input_tokens_per_query"]
    cols += [
        "deliberate_share",
        "gate_auc",
        "similarity_auc",
        "latency_ms_p50",
        "latency_ms_p95",
        "n",
    ]
    present = [c for c in cols if any(p[key].get(c) is not None for p in pipelines.values())]
    rows = [[name, *[p[key].get(c) for c in present]] for name, p in pipelines.items()]
    return table(["pipeline", *present], rows)

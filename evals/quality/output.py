"""A run's output folder: results.jsonl as it goes, then summary.json, report.md, plots."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from evals.quality.figures import Figures, write_figures
from evals.quality.gate_quality import gate_quality, gated_pipelines
from evals.quality.markdown import render_report
from evals.quality.report import read_records, summarise
from evals.quality.selection import leave_one_out


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
        figures: Figures,
        ks: Sequence[int],
        facts: Mapping[str, Any],
        partial: bool,
        exclude: str | None = None,
        prompts: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Write summary.json, report.md and the plots from what results.jsonl holds:
        ``recall_vs_budget.png`` (the figures' budget panels, the report's headline
        tables, then one panel per group if ``budget_by_group``), ``recall_at_k.png``
        (two k or more: ``metric@k`` overall and per group) and ``latency.png``."""
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
        summary.update(_gates(records, ks))
        if dataset == "LoCoMo":
            selection = leave_one_out(records)
            if selection:
                summary["preset_selection"] = selection
        (self.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        drawn = write_figures(self.out, summary["pipelines"], records, ks, figures)
        report = render_report(
            summary,
            ks,
            figures.titles,
            prompts or {},
            figures.metric,
            figures.budget_panels,
            drawn,
        )
        (self.out / "report.md").write_text(report)
        return summary


def _gates(records: Sequence[Mapping[str, Any]], ks: Sequence[int]) -> dict[str, Any]:
    """``{"gate": {preset: gate_quality(...)}}`` for the gated presets, measured with
    recall@10 (else the largest k); nothing when the records have no such recall."""
    if not ks:
        return {}
    metric = f"recall@{10 if 10 in ks else max(ks)}"
    if any(metric not in (r.get("scores") or {}) for r in records):
        return {}
    gates = {name: gate_quality(records, name, metric=metric) for name in gated_pipelines(records)}
    return {"gate": gates} if gates else {}

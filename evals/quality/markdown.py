"""report.md of a run: the token-budget headline first, then the per-item tables."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from evals.quality.plots import Panel
from evals.quality.report import DRAGON, table
from evals.quality.scoring import BUDGETS


def render_report(
    summary: Mapping[str, Any],
    ks: Sequence[int],
    titles: Mapping[str, str],
    prompts: Mapping[str, str],
    metric: str = "recall",
    budget_panels: Sequence[Panel] = (Panel("overall"),),
    figures: Sequence[str] = (),
) -> str:
    pipelines = summary["pipelines"]
    lines = [
        f"# {summary['dataset']} evaluation"
        + (" (PARTIAL: interrupted)" if summary["partial"] else ""),
        "",
        f"commit `{summary['git_commit']}`, started {summary['started']}",
        "",
        "```json\n" + json.dumps(summary["config"], indent=2, default=str) + "\n```",
        "",
        "Facts: " + ", ".join(f"{k}: {v}" for k, v in summary["facts"].items()),
    ]
    lines += _headline(pipelines, ks, budget_panels, titles, summary["facts"].get("limit"))
    lines += _selection(summary.get("preset_selection"))
    overall_keys = [k for k in next(iter(pipelines.values()), {}) if k.startswith("overall")]
    for key in overall_keys:
        lines += ["", f"## Per item: {key.replace('_', ' ')}", ""]
        lines.append(_overview(pipelines, key, ks))
    groups = sorted({g for p in pipelines.values() for g in p["groups"]})
    by = [(f"{metric}@{k}", f"{metric}@{k}") for k in ks]
    if summary["dataset"] == "LoCoMo":
        by.insert(0, ("recall within 1,000 tokens", "recall@1000tok"))
    for title, key in by:
        lines += ["", f"## {title} by {('category' if groups else 'group')}", ""]
        header = ["pipeline", *[titles.get(g, g) for g in groups]]
        rows = [
            [name, *[p["groups"].get(g, {}).get(key) for g in groups]]
            for name, p in pipelines.items()
        ]
        lines.append(table(header, rows))
    if summary["dataset"] == "LoCoMo":
        lines += ["", "Reference (LoCoMo paper, DRAGON over dialog turns): "]
        lines.append(", ".join(f"recall@{k} {v:.3f}" for k, v in DRAGON.items()))
    for name in figures:
        lines += ["", f"![{name.removesuffix('.png')}]({name})"]
    for name, text in prompts.items():
        lines += ["", f"## Prompt: {name}", "", "```", text.strip(), "```"]
    return "\n".join(lines) + "\n"


def _headline(
    pipelines: Mapping[str, Any],
    ks: Sequence[int],
    panels: Sequence[Panel],
    titles: Mapping[str, str],
    limit: int | None,
) -> list[str]:
    """Recall within each token budget of the context as ``/v1/context`` renders it."""
    lines = [
        "",
        "## Recall within a token budget",
        "",
        "Each item is rendered as `/v1/context` renders that hit (a fact line, or an"
        " episode's passage lines; a baseline's turn as one turn line) and counted in"
        " cl100k_base; recall within B tokens is the evidence covered by the rank-order"
        " prefix of items that fits in B"
        + (f" (each question asked with limit {limit})." if limit else ".")
        + " recall@k (secondary) counts the first k items of the same answer.",
    ]
    for panel in panels:
        overall = panel.group.startswith("overall")
        budget_cols = [f"{panel.prefix}recall@{b}tok" for b in BUDGETS]
        extra = [] if panel.prefix else [f"recall@{k}" for k in ks]
        extra += [f"tokens@{ks[-1]}", "tokens_retrieved"]
        header = ["pipeline", *[f"{b:,} tok" for b in BUDGETS], *extra]
        rows = []
        for name, p in pipelines.items():
            stats = p.get(panel.group, {}) if overall else p["groups"].get(panel.group, {})
            rows.append([name, *[stats.get(c) for c in [*budget_cols, *extra]]])
        lines += ["", f"### {titles.get(panel.title, panel.title)}", "", table(header, rows)]
    return lines


def _selection(selection: Mapping[str, Any] | None) -> list[str]:
    """The preset chosen leave-one-conversation-out, and what it scores held out."""
    if not selection:
        return []
    keys = list(selection["pooled"])
    rows = [
        [held, fold["chosen"], fold["questions"], *[fold.get(k) for k in keys]]
        for held, fold in selection["folds"].items()
    ]
    rows.append(["pooled", "", sum(f["questions"] for f in selection["folds"].values())])
    rows[-1] += [selection["pooled"].get(k) for k in keys]
    criterion = " and ".join(selection["criterion"])
    return [
        "",
        "### Choosing the preset, leave one conversation out",
        "",
        f"Each conversation held out in turn; the preset with the best mean {criterion}"
        " on the others is chosen and scored on it (the pooled row is the honest figure"
        " for picking the best of these presets).",
        "",
        table(["held out", "chosen", "questions", *keys], rows),
    ]


def _overview(pipelines: Mapping[str, Any], key: str, ks: Sequence[int]) -> str:
    cols = [f"recall@{k}" for k in ks] + [f"all@{k}" for k in ks[-1:]] + [f"ndcg@{ks[-1]}"]
    for level in ("session", "turn"):
        cols += [f"{level}_recall_any@{k}" for k in ks]
        cols += [f"{level}_recall_all@{k}" for k in ks] + [f"{level}_ndcg_any@{ks[-1]}"]
    cols += [f"tokens@{ks[0]}"]
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

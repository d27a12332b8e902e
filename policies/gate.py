"""D-Mem's quality gate: scores a fast result on several dimensions, each in [0, 1],
and routes it: ``fast`` when every dimension passes, else ``deliberate``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Route = Literal["fast", "deliberate"]
Mode = Literal["auto", "fast", "deliberate"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """One item of the fast result. ``similarity`` is cosine to the query in [-1, 1];
    ``entities`` are the names of the entities its hyperedge joins; ``conflicts_with``
    names other evidence items it contradicts (an unresolved conflict)."""

    text: str
    similarity: float
    occurred_at: datetime | None
    entities: Sequence[str] = ()
    kind: str = "episode"
    conflicts_with: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class GateInput:
    """``query_entities``: stored entities the query names; ``query_times``: the
    half-open UTC periods it refers to."""

    query: str
    query_entities: Sequence[str]
    query_times: Sequence[tuple[datetime, datetime]]
    evidence: Sequence[Evidence]


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Pass marks per dimension (configuration: the evaluation runner calibrates them on
    the development split) and the weights of the overall score. ``sim_lo``/``sim_hi``
    map cosine to relevance linearly (<= lo is 0, >= hi is 1); ``top`` items count."""

    relevance: float = 0.45
    coverage: float = 0.5
    temporal_fit: float = 0.5
    consistency: float = 0.5
    audit: float = 0.67
    sim_lo: float = 0.2
    sim_hi: float = 0.95
    top: int = 5
    weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "relevance": 2.0,
            "coverage": 1.0,
            "temporal_fit": 1.0,
            "consistency": 0.5,
            "audit": 2.0,
        }
    )


@dataclass(frozen=True, slots=True)
class GateResult:
    scores: dict[str, float]
    overall: float
    route: Route
    reasons: list[str]


def _calibrate(similarity: float, config: GateConfig) -> float:
    span = config.sim_hi - config.sim_lo
    return max(0.0, min(1.0, (similarity - config.sim_lo) / span))


def relevance(evidence: Sequence[Evidence], config: GateConfig) -> float:
    """0.7 x calibrated best similarity + 0.3 x calibrated mean of the top items."""
    if not evidence:
        return 0.0
    sims = sorted((e.similarity for e in evidence), reverse=True)[: config.top]
    best = _calibrate(sims[0], config)
    mean = _calibrate(sum(sims) / len(sims), config)
    return 0.7 * best + 0.3 * mean


def _words(text: str) -> set[str]:
    return {re.sub(r"['’]s$", "", w) for w in re.findall(r"[\w'’]+", text.lower())}


def _mentions(name: str, item: Evidence) -> bool:
    wanted = _words(name)
    if any(name.lower() == e.lower() for e in item.entities):
        return True
    return bool(wanted) and wanted <= _words(item.text)


def _inside(moment: datetime | None, period: tuple[datetime, datetime]) -> bool:
    return moment is not None and period[0] <= moment < period[1]


def coverage(inp: GateInput) -> float:
    """Share of the query's entities and time references some evidence covers (1.0 when
    the query names none)."""
    wanted = len(inp.query_entities) + len(inp.query_times)
    if wanted == 0:
        return 1.0
    covered = sum(any(_mentions(n, e) for e in inp.evidence) for n in inp.query_entities)
    covered += sum(any(_inside(e.occurred_at, p) for e in inp.evidence) for p in inp.query_times)
    return covered / wanted


def temporal_fit(inp: GateInput) -> float:
    """Share of the query's periods in which some evidence occurred (1.0 without any)."""
    if not inp.query_times:
        return 1.0
    hits = sum(any(_inside(e.occurred_at, p) for e in inp.evidence) for p in inp.query_times)
    return hits / len(inp.query_times)


def consistency(evidence: Sequence[Evidence]) -> float:
    """1 - share of evidence items in an unresolved conflict (1.0 without evidence)."""
    if not evidence:
        return 1.0
    return 1.0 - sum(bool(e.conflicts_with) for e in evidence) / len(evidence)


def assess(
    inp: GateInput,
    config: GateConfig,
    *,
    audit: Mapping[str, bool] | None = None,
    mode: Mode = "auto",
) -> GateResult:
    """Every dimension's score, their weighted mean, and the route with its reasons."""
    scores = {
        "relevance": relevance(inp.evidence, config),
        "coverage": coverage(inp),
        "temporal_fit": temporal_fit(inp),
        "consistency": consistency(inp.evidence),
    }
    if audit is not None:
        scores["audit"] = sum(audit.values()) / len(audit) if audit else 0.0
    weights = {k: config.weights.get(k, 1.0) for k in scores}
    overall = sum(scores[k] * w for k, w in weights.items()) / (sum(weights.values()) or 1.0)
    reasons = [
        f"{name} {score:.2f} < {getattr(config, name):.2f}"
        for name, score in scores.items()
        if score < getattr(config, name)
    ]
    if not inp.evidence:
        reasons.insert(0, "no evidence")
    route: Route = "deliberate" if reasons else "fast"
    if mode != "auto":
        route = mode
        reasons = [f"forced {mode}", *reasons]
    return GateResult(scores=scores, overall=overall, route=route, reasons=reasons)


def similarity_baseline(evidence: Sequence[Evidence]) -> float:
    """The single-threshold baseline's score: the best similarity alone."""
    return max((e.similarity for e in evidence), default=-1.0)


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the ROC curve (Mann-Whitney U): the chance a random positive scores
    above a random negative, ties counting half."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        raise ValueError("roc_auc needs both classes")
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return wins / (len(pos) * len(neg))

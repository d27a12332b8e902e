"""D-Mem's quality gate: scores a fast (System 1) result on several dimensions, each in
[0, 1], and routes it: ``fast`` when every dimension passes, else ``deliberate``.

Pure scoring: the features (entities the query names, the periods it refers to,
which evidence items contradict each other) are computed by the caller.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from memory_service.domain.search import Mode, Route

DIMENSIONS = ("relevance", "coverage", "temporal_fit", "consistency", "audit")
AUDIT_CHECKS = ("relevance", "faithfulness", "completeness")
"""The verdicts an LLM auditor gives an answer; ``audit`` is the share that pass."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One item of the fast result.

    ``similarity``: cosine to the query, in [-1, 1]. ``occurred_at``: when it happened
    (timezone-aware UTC; None when unknown). ``entities``: names of the entities its
    hyperedge joins. ``kind``: ``episode``, ``memory`` (or ``fact``, from deliberation).
    ``conflicts_with``: ids of other evidence items it contradicts, the conflict still
    unresolved (empty: none).
    """

    text: str
    similarity: float
    occurred_at: datetime | None
    entities: Sequence[str] = ()
    kind: str = "episode"
    conflicts_with: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class GateInput:
    """``query_entities``: names of stored entities the query names. ``query_times``:
    the half-open periods ``[start, end)`` it refers to (timezone-aware UTC).
    ``evidence``: the fast result, in any order."""

    query: str
    query_entities: Sequence[str]
    query_times: Sequence[tuple[datetime, datetime]]
    evidence: Sequence[Evidence]


def _default_weights() -> dict[str, float]:
    return {
        "relevance": 2.0,
        "coverage": 1.0,
        "temporal_fit": 1.0,
        "consistency": 0.5,
        "audit": 2.0,
    }


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Pass marks per dimension, each in [0, 1]: a dimension passes when its score is
    at least its mark. They are configuration (``MEMORY_GATE_*`` settings), calibrated
    by the evaluation runner on a development split; the defaults are a starting point.

    Relevance maps cosine to [0, 1] linearly: ``<= sim_lo`` is 0, ``>= sim_hi`` is 1
    (0.95 rather than 0.7, so that strong matches are not all scored alike); it is
    ``best_weight`` x the best item's value plus the rest x the mean of the ``top``
    most similar items. ``weights`` (>= 0) weigh the dimensions in the overall score;
    a dimension missing from them weighs 1.
    """

    relevance: float = 0.45
    coverage: float = 0.5
    temporal_fit: float = 0.5
    consistency: float = 0.5
    audit: float = 0.67
    sim_lo: float = 0.2
    sim_hi: float = 0.95
    best_weight: float = 0.7
    top: int = 5
    weights: Mapping[str, float] = field(default_factory=_default_weights)

    def __post_init__(self) -> None:
        for name, mark in self.thresholds.items():
            if not 0.0 <= mark <= 1.0:
                raise ValueError(f"the {name} pass mark must be in [0, 1], got {mark}")
        if not -1.0 <= self.sim_lo < self.sim_hi <= 1.0:
            raise ValueError(f"need -1 <= sim_lo < sim_hi <= 1, got {self.sim_lo}, {self.sim_hi}")
        if not 0.0 <= self.best_weight <= 1.0:
            raise ValueError(f"best_weight must be in [0, 1], got {self.best_weight}")
        if self.top < 1:
            raise ValueError(f"top must be >= 1, got {self.top}")
        if any(w < 0 for w in self.weights.values()):
            raise ValueError(f"weights must be >= 0, got {dict(self.weights)}")

    @property
    def thresholds(self) -> dict[str, float]:
        """Each dimension's pass mark."""
        return {
            "relevance": self.relevance,
            "coverage": self.coverage,
            "temporal_fit": self.temporal_fit,
            "consistency": self.consistency,
            "audit": self.audit,
        }


@dataclass(frozen=True, slots=True)
class GateResult:
    """``scores``: each dimension that was measured, in [0, 1] (``audit`` only when an
    audit was given). ``overall``: their weighted mean, in [0, 1]. ``reasons``: why
    the route was taken (empty when ``fast`` by the scores)."""

    scores: dict[str, float]
    overall: float
    route: Route
    reasons: list[str]


def _calibrate(similarity: float, config: GateConfig) -> float:
    span = config.sim_hi - config.sim_lo
    return max(0.0, min(1.0, (similarity - config.sim_lo) / span))


def relevance(evidence: Sequence[Evidence], config: GateConfig) -> float:
    """``best_weight`` x calibrated best similarity + the rest x calibrated mean of the
    ``top`` most similar items; 0.0 without evidence."""
    if not evidence:
        return 0.0
    sims = sorted((e.similarity for e in evidence), reverse=True)[: config.top]
    best = _calibrate(sims[0], config)
    mean = _calibrate(sum(sims) / len(sims), config)
    return config.best_weight * best + (1 - config.best_weight) * mean


def _words(text: str) -> set[str]:
    """Lower-cased word tokens, a possessive ``'s`` dropped (``Caroline's`` -> caroline)."""
    return {re.sub(r"['’]s$", "", w) for w in re.findall(r"[\w'’]+", text.lower())}


def _mentions(name: str, item: Evidence) -> bool:
    """The item joins an entity of that name (case-insensitive), or its text holds
    every word of the name."""
    if any(name.lower() == e.lower() for e in item.entities):
        return True
    wanted = _words(name)
    return bool(wanted) and wanted <= _words(item.text)


def _inside(moment: datetime | None, period: tuple[datetime, datetime]) -> bool:
    return moment is not None and period[0] <= moment < period[1]


def coverage(inp: GateInput) -> float:
    """Share of the query's entities and periods that some evidence covers (an entity:
    mentioned; a period: some evidence occurred in it); 1.0 when the query names none."""
    wanted = len(inp.query_entities) + len(inp.query_times)
    if wanted == 0:
        return 1.0
    covered = sum(any(_mentions(n, e) for e in inp.evidence) for n in inp.query_entities)
    covered += sum(any(_inside(e.occurred_at, p) for e in inp.evidence) for p in inp.query_times)
    return covered / wanted


def temporal_fit(inp: GateInput) -> float:
    """Share of the query's periods in which some evidence occurred; 1.0 when the
    query refers to no period."""
    if not inp.query_times:
        return 1.0
    hits = sum(any(_inside(e.occurred_at, p) for e in inp.evidence) for p in inp.query_times)
    return hits / len(inp.query_times)


def consistency(evidence: Sequence[Evidence]) -> float:
    """1 - share of evidence items in an unresolved conflict; 1.0 without evidence."""
    if not evidence:
        return 1.0
    return 1.0 - sum(bool(e.conflicts_with) for e in evidence) / len(evidence)


def audit_score(audit: Mapping[str, bool]) -> float:
    """Share of the auditor's checks (see ``AUDIT_CHECKS``) that pass; 0.0 when it gave
    no verdict at all (nothing was shown to pass)."""
    return sum(audit.values()) / len(audit) if audit else 0.0


def _overall(scores: Mapping[str, float], config: GateConfig) -> float:
    weights = {k: config.weights.get(k, 1.0) for k in scores}
    total = sum(weights.values())
    return sum(scores[k] * w for k, w in weights.items()) / total if total else 0.0


def assess(
    inp: GateInput,
    config: GateConfig,
    *,
    audit: Mapping[str, bool] | None = None,
    learned: tuple[float, float] | None = None,
    mode: Mode = "auto",
) -> GateResult:
    """Every dimension's score, their weighted mean, and the route with its reasons.

    By hand-set marks: ``deliberate`` when there is no evidence (reason ``no evidence``)
    or any dimension scores under its pass mark (reason ``<name> <score> < <mark>``),
    else ``fast``. With ``learned`` = (probability, threshold) from the learned gate,
    that probability replaces the marks of the four measured dimensions (it was trained
    on them and more); it is reported as the ``learned`` score, and the audit still
    vetoes. A forced ``mode`` sets the route but keeps the scores; its reasons start
    with ``forced <mode>``, followed by the reasons ``auto`` would have given.
    """
    scores = {
        "relevance": relevance(inp.evidence, config),
        "coverage": coverage(inp),
        "temporal_fit": temporal_fit(inp),
        "consistency": consistency(inp.evidence),
    }
    marks = config.thresholds
    if learned is not None:
        probability, threshold = learned
        marks = {**marks, "learned": threshold}
        judged = {"learned": probability}
        scores["learned"] = probability
    else:
        judged = dict(scores)
    if audit is not None:
        scores["audit"] = judged["audit"] = audit_score(audit)
    reasons = [
        f"{name} {score:.3f} < {marks[name]:.3f}"
        for name, score in judged.items()
        if score < marks[name]
    ]
    if not inp.evidence:
        reasons.insert(0, "no evidence")
    route: Route = "deliberate" if reasons else "fast"
    if mode != "auto":
        route = mode
        reasons = [f"forced {mode}", *reasons]
    hand_set = {k: v for k, v in scores.items() if k != "learned"}
    return GateResult(
        scores=scores, overall=_overall(hand_set, config), route=route, reasons=reasons
    )


def similarity_baseline(evidence: Sequence[Evidence]) -> float:
    """The single-threshold baseline's score: the best cosine similarity alone, in
    [-1, 1]; -1.0 (the lowest cosine) without evidence."""
    return max((e.similarity for e in evidence), default=-1.0)

"""What the learned gate sees of a fast result: a fixed vector of plain numbers.

Pure and cheap (no I/O, no model): similarity statistics of the evidence, the hand-set
gate's dimensions, how much of the query's wording the evidence holds, how spread
the evidence is in time, and the shape of the question (its wh-word, its length,
whether it joins several things). The learned gate (``policies.learned_gate``) is
trained on these by ``memory-eval train-gate``.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence

from policies.gate import Evidence, GateConfig, GateInput, consistency, coverage, relevance
from policies.gate import temporal_fit as temporal_fit_score
from policies.update_rule import content_tokens

WH_WORDS = ("when", "what", "who", "where", "how", "why", "which", "would", "did", "does", "is")

FEATURES = (
    "sim_best",
    "sim_second",
    "sim_mean5",
    "sim_mean10",
    "sim_std10",
    "sim_gap12",
    "sim_gap1_10",
    "relevance",
    "coverage",
    "temporal_fit",
    "consistency",
    "query_entities",
    "query_times",
    "query_words",
    "query_terms_covered",
    "query_terms_best_item",
    "facts_share",
    "days_spread",
    "distinct_days",
    "conjunction",
    *(f"wh_{w}" for w in WH_WORDS),
)
"""Names of the vector's entries, in order. A model stores the names it was trained
on; adding a feature here means training a new model."""

_WORD = re.compile(r"[a-z']+")


def _sims(evidence: Sequence[Evidence]) -> list[float]:
    return sorted((e.similarity for e in evidence), reverse=True)


def _at(values: Sequence[float], i: int, default: float = -1.0) -> float:
    return values[i] if 0 <= i < len(values) else default


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else -1.0


def _terms_covered(
    query_terms: frozenset[str], evidence: Sequence[Evidence]
) -> tuple[float, float]:
    """Share of the query's content words found in all the evidence together, and in the
    single item holding most of them."""
    if not query_terms:
        return 1.0, 1.0
    held = [content_tokens(e.text) & query_terms for e in evidence]
    together = frozenset().union(*held) if held else frozenset()
    best = max((len(h) for h in held), default=0)
    return len(together) / len(query_terms), best / len(query_terms)


def _days(evidence: Sequence[Evidence]) -> tuple[float, float]:
    """log(1 + days between the earliest and latest item), and the number of distinct
    days among the items, for dated evidence."""
    moments = [e.occurred_at for e in evidence if e.occurred_at is not None]
    if not moments:
        return 0.0, 0.0
    spread = (max(moments) - min(moments)).total_seconds() / 86400
    return math.log1p(max(0.0, spread)), float(len({m.date() for m in moments}))


def features(inp: GateInput, config: GateConfig | None = None, top: int = 10) -> list[float]:
    """The vector named by ``FEATURES`` for the ``top`` most similar evidence items."""
    cfg = config or GateConfig()
    evidence = sorted(inp.evidence, key=lambda e: -e.similarity)[:top]
    sims = _sims(evidence)
    words = _WORD.findall(inp.query.lower())
    first = words[0] if words else ""
    covered, best_item = _terms_covered(content_tokens(inp.query), evidence)
    spread, distinct = _days(evidence)
    values = {
        "sim_best": _at(sims, 0),
        "sim_second": _at(sims, 1),
        "sim_mean5": _mean(sims[:5]),
        "sim_mean10": _mean(sims[:10]),
        "sim_std10": statistics.pstdev(sims) if len(sims) > 1 else 0.0,
        "sim_gap12": _at(sims, 0) - _at(sims, 1),
        "sim_gap1_10": _at(sims, 0) - _at(sims, len(sims) - 1),
        "relevance": relevance(evidence, cfg),
        "coverage": coverage(inp),
        "temporal_fit": temporal_fit_score(inp),
        "consistency": consistency(evidence),
        "query_entities": float(len(inp.query_entities)),
        "query_times": float(len(inp.query_times)),
        "query_words": math.log1p(len(words)),
        "query_terms_covered": covered,
        "query_terms_best_item": best_item,
        "facts_share": _mean([float(e.kind != "episode") for e in evidence]) if evidence else 0.0,
        "days_spread": spread,
        "distinct_days": distinct,
        "conjunction": float(bool({"and", "both", "or"} & set(words))),
        **{f"wh_{w}": float(first == w) for w in WH_WORDS},
    }
    return [float(values[name]) for name in FEATURES]

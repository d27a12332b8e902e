"""The quality gate stage (D-Mem): score System 1's result and route it.

It gathers what the pure scoring in ``policies.gate`` needs from the store (the
entities the query names, those each hit's hyperedge joins, facts that contradict
each other), adds the learned gate's probability, and, with an LLM, audits a result
that passes the rest for answerability (one call).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from memory_service.domain.models import SearchHit
from memory_service.ports import LLM, Routing, Search
from memory_service.services.audit import audit_evidence
from memory_service.services.recall.parts import Parts
from policies.gate import Evidence, GateConfig, GateInput, assess
from policies.gate_features import FEATURES
from policies.gate_features import features as gate_features
from policies.learned_gate import LearnedGate
from policies.time_refs import time_ranges
from policies.update_rule import content_tokens, is_negated
from retrievers.hypergraph import mention_keys

CONFLICT_OVERLAP = 0.5
"""Two facts that share this much of their content words but differ in negation conflict."""


@dataclass(frozen=True, slots=True)
class QualityGateSpec:
    """``routes``: in ``auto`` mode the gate routes (a gated preset); otherwise it runs
    only when a mode is forced, to report its scores."""

    routes: bool = False

    def create(self, parts: Parts) -> QualityGate:
        return QualityGate(self.routes, parts.gate, parts.gate_model, parts.llm, parts.audit)


@dataclass(frozen=True, slots=True)
class QualityGate:
    routes: bool
    config: GateConfig
    model: LearnedGate | None
    llm: LLM | None
    audit: bool

    def applies(self, search: Search) -> bool:
        return self.routes or search.mode != "auto"

    async def route(
        self, search: Search, hits: Sequence[SearchHit], similarity: Mapping[UUID, float]
    ) -> Routing:
        """The route and report: the dimensions, the learned probability, and, with an
        LLM, the answerability audit of a result that passes the rest."""
        features = await gate_input(search, hits, similarity)
        signals = gate_features(features, self.config)
        learned = None
        if self.model is not None:
            learned = (self.model.probability(signals), self.model.threshold)
        verdict = assess(features, self.config, learned=learned, mode=search.mode)
        audited: dict[str, Any] | None = None
        if verdict.route == "fast" and search.mode == "auto" and self.llm and self._audits(search):
            with search.trace.stage("audit"):
                call = await audit_evidence(self.llm, search.query.text, hits, search.asked_now)
            search.trace.charge(call.completion)
            checks = call.audit.checks() if call.audit else {}
            verdict = assess(features, self.config, audit=checks, learned=learned, mode=search.mode)
            audited = (
                call.audit.model_dump()
                if call.audit
                else {"unreadable": call.completion.text[:200]}
            )
        report: dict[str, Any] = {
            "scores": verdict.scores,
            "overall": verdict.overall,
            "reasons": verdict.reasons,
            "features": dict(zip(FEATURES, signals, strict=True)),
            "routing": self.routing(),
            # the learned gate's verdict in one place (None when it is off)
            "probability": learned[0] if learned else None,
            "threshold": learned[1] if learned else None,
        }
        if audited is not None:
            report["audit"] = audited
        return Routing(verdict.route, report)

    def routing(self) -> dict[str, Any]:
        """Which score routes and its pass mark: the learned probability (with the
        escalation share that set its mark, None when the mark is fixed), else each
        hand-set dimension against its own mark. With an LLM, the audit still vetoes."""
        if self.model is not None:
            return {
                "score": "learned",
                "threshold": self.model.threshold,
                "escalation_share": self.model.escalation_share,
            }
        return {"score": "dimensions", "thresholds": self.config.thresholds}

    def _audits(self, search: Search) -> bool:
        return self.audit and search.audit


async def gate_input(
    search: Search, hits: Sequence[SearchHit], similarity: Mapping[UUID, float]
) -> GateInput:
    """The gate's view of ``hits``: what the query names, and each hit as evidence."""
    uow, tenant, query = search.uow, search.tenant, search.query
    named = await uow.entities.by_names(tenant, query.scope, mention_keys(query.text))
    members = await uow.entities.of_edges(
        tenant,
        memory_ids=[h.id for h in hits if h.kind == "memory"],
        episode_ids=[h.id for h in hits if h.kind == "episode"],
    )
    names = await uow.entities.names(tenant, list({m.entity_id for m in members}))
    by_edge: dict[UUID, list[str]] = {}
    for m in members:
        by_edge.setdefault(m.edge_id, []).append(names.get(m.entity_id, ""))
    clashes = conflicts(hits)
    evidence = [
        Evidence(
            text=h.text,
            similarity=similarity.get(h.id, h.score),
            occurred_at=h.occurred_at,
            entities=tuple(by_edge.get(h.id, ())),
            kind=h.kind,
            conflicts_with=tuple(clashes.get(h.id, ())),
        )
        for h in hits
    ]
    return GateInput(
        query=query.text,
        query_entities=tuple(dict.fromkeys(e.name for e in named)),
        query_times=tuple(time_ranges(query.text, search.now)),
        evidence=tuple(evidence),
    )


def conflicts(hits: Sequence[SearchHit]) -> dict[UUID, list[str]]:
    """Pairs of fact-like hits that say a thing and its negation, both still active."""
    facts = [h for h in hits if h.kind != "episode"]
    found: dict[UUID, list[str]] = {}
    for i, a in enumerate(facts):
        words_a = content_tokens(a.text)
        for b in facts[i + 1 :]:
            if is_negated(a.text) == is_negated(b.text):
                continue
            words_b = content_tokens(b.text)
            union = words_a | words_b
            if union and len(words_a & words_b) / len(union) >= CONFLICT_OVERLAP:
                found.setdefault(a.id, []).append(str(b.id))
                found.setdefault(b.id, []).append(str(a.id))
    return found

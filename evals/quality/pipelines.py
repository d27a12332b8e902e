"""Retrieval pipelines under one interface: the service's presets and the baselines."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from evals.quality.harness import ScopeRun, SourceTurn
from evals.quality.rendering import hit_tokens, turn_hit
from memory_service.bootstrap import Components
from memory_service.domain.models import SearchQuery
from memory_service.services import recall
from memory_service.services.recall import Mode
from memory_service.services.recall.presets import PRESETS


@dataclass(frozen=True, slots=True)
class Item:
    """One retrieved item: its text as ``/v1/context`` shows it (``tokens`` of it in
    cl100k_base), and the evidence it covers."""

    text: str
    covers: frozenset[str]
    tokens: int
    kind: str
    score: float
    similarity: float | None = None


@dataclass
class Retrieved:
    """A pipeline's answer to one question: the items, and how it got them."""

    items: list[Item]
    route: str = "fast"
    gate: dict[str, Any] | None = None
    cost: dict[str, float] = field(default_factory=dict)

    @property
    def best_similarity(self) -> float | None:
        sims = [i.similarity for i in self.items if i.similarity is not None]
        return max(sims) if sims else None


class Pipeline(Protocol):
    name: str

    async def retrieve(self, run: ScopeRun, question: str, k: int) -> Retrieved: ...


def turn_item(turn: SourceTurn, score: float = 0.0) -> Item:
    """A raw turn as one turn line of a context block."""
    text, tokens = hit_tokens(turn_hit(turn.label, turn.speaker, turn.text, turn.occurred_at))
    return Item(text, frozenset({turn.label}), tokens, "episode", score)


@dataclass
class ServicePipeline:
    """A named preset of the service's own recall path (what /v1/search serves).

    ``mode="fast"`` also runs the gate on the fast result (without acting on it), so
    the runner can measure how well the gate's score predicts that result's quality.
    """

    components: Components
    preset: str
    name: str = ""
    mode: Mode = "auto"
    now: datetime | None = None
    """What "last year" is resolved against; None: the run's present (``ScopeRun.present``:
    when its questions are asked)."""

    def __post_init__(self) -> None:
        self.name = self.name or self.preset

    async def retrieve(self, run: ScopeRun, question: str, k: int) -> Retrieved:
        """The preset's best ``k`` items (the request's ``limit``), each rendered as the
        context block renders that hit."""
        query = SearchQuery(text=question, scope=run.scope, limit=k)
        async with self.components.uow() as uow:
            result = await recall.search(
                uow,
                self.components.pipeline(self.preset),
                run.tenant,
                query,
                mode=self.mode,
                now=self.now or run.present,
                budget=self.components.budget(),
                log=False,
            )
        items = []
        for hit in result.hits:
            covers = frozenset(run.label_of[e] for e in hit.source_episode_ids if e in run.label_of)
            text, tokens = hit_tokens(hit)
            sim = hit.scores.get("similarity")
            items.append(Item(text, covers, tokens, hit.kind, hit.score, sim))
        gate = dict(result.gate) if result.gate else None
        return Retrieved(items, result.route, gate, dict(result.cost))


_WORD = re.compile(r"\w+")


@dataclass
class BM25Pipeline:
    """BM25 (bm25s, Lucene variant: k1 1.5, b 0.75 length normalisation) over the raw
    turns of the scope, in process; ``stem``: words reduced by the Snowball English
    stemmer (PyStemmer), as PostgreSQL's ``english`` configuration reduces them."""

    name: str = "bm25-turns"
    stem: bool = False
    _indexes: dict[str, Any] = field(default_factory=dict)

    def _stemmer(self) -> Any:
        if not self.stem:
            return None
        import Stemmer

        return Stemmer.Stemmer("english")

    def _index(self, run: ScopeRun) -> Any:
        key = f"{run.tenant}:{run.scope.user_id}"
        if key not in self._indexes:
            import bm25s

            logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each index at DEBUG
            retriever = bm25s.BM25()
            corpus = bm25s.tokenize(
                [t.text for t in run.turns],
                stopwords="en",
                stemmer=self._stemmer(),
                show_progress=False,
            )
            retriever.index(corpus, show_progress=False)
            self._indexes[key] = retriever
        return self._indexes[key]

    async def retrieve(self, run: ScopeRun, question: str, k: int) -> Retrieved:
        return Retrieved(self._retrieve(run, question, k))

    def _retrieve(self, run: ScopeRun, question: str, k: int) -> list[Item]:
        import bm25s

        if not _WORD.search(question) or not run.turns:
            return []
        k = min(k, len(run.turns))
        tokens = bm25s.tokenize(
            [question],
            stopwords="en",
            stemmer=self._stemmer(),
            return_ids=False,
            show_progress=False,
        )
        if not tokens[0]:
            return []
        docs, scores = self._index(run).retrieve(tokens, k=k, show_progress=False)
        return [
            turn_item(run.turns[int(i)], float(s))
            for i, s in zip(docs[0], scores[0], strict=True)
            if float(s) > 0
        ]


@dataclass
class FullContextPipeline:
    """Every turn of the scope, in time order: the upper bound on evidence, at full cost."""

    name: str = "full-context"

    async def retrieve(self, run: ScopeRun, question: str, k: int) -> Retrieved:
        return Retrieved([turn_item(t) for t in sorted(run.turns, key=_time)])


def _time(turn: SourceTurn) -> datetime:
    return turn.occurred_at


BASELINES = ("full-context", "rag-turns", "bm25-turns", "bm25-stemmed-turns")


def build_pipeline(name: str, components: Components) -> Pipeline:
    """``rag-turns`` is plain top-k vector search over raw turns (the service's
    ``episodes-vector`` preset); any preset name runs that preset."""
    if name == "full-context":
        return FullContextPipeline()
    if name == "bm25-turns":
        return BM25Pipeline()
    if name == "bm25-stemmed-turns":
        return BM25Pipeline(name=name, stem=True)
    if name == "rag-turns":
        return ServicePipeline(components, "episodes-vector", name="rag-turns")
    if name == "fast":
        return ServicePipeline(components, "fast", mode="fast")
    if name.endswith("@fast") and name.removesuffix("@fast") in PRESETS:
        # the preset's fast result, with the gate scored but not acted on
        return ServicePipeline(components, name.removesuffix("@fast"), name=name, mode="fast")
    if name in PRESETS:
        return ServicePipeline(components, name)
    known = ", ".join([*BASELINES, *sorted(PRESETS)])
    raise ValueError(f"unknown pipeline {name!r}; known: {known}")


def route_fields(found: Retrieved) -> dict[str, Any]:
    """What a results.jsonl line says about the route: gate scores, best similarity, cost."""
    fields: dict[str, Any] = {"route": found.route, "cost": found.cost}
    if found.gate is not None:
        fields["gate_overall"] = found.gate["overall"]
        fields["gate_scores"] = found.gate["scores"]
        if "features" in found.gate:
            fields["gate_features"] = found.gate["features"]
    fields["best_similarity"] = found.best_similarity
    return fields

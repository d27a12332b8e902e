"""Full Deliberation (D-Mem's System 2): read every raw episode of the scope.

With an LLM, chunks of messages (with a few preceding ones as context) are read in
parallel (in process, or by Celery workers: a ``ChunkRunner``) and the facts relevant
to the query are extracted with a 0-10 score; without one, every episode is scored
exhaustively (exact cosine with its neighbours, fused with BM25). Both are bounded by
a token and a time budget. This module holds the result and the local method; the LLM's
chunked reading is in ``retrievers.chunk_reading``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from memory_service.domain.models import Candidate, Turn
from memory_service.domain.search import Budget
from retrievers.fusion import reciprocal_rank_fusion


@dataclass
class Deliberation:
    candidates: list[Candidate]
    chunks_total: int = 0
    chunks_read: int = 0
    llm_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    truncated: bool = False
    errors: list[str] = field(default_factory=list)
    runner: str | None = None
    """What read the chunks (``in-process``, ``celery``); None for the local method."""


def approx_tokens(text: str) -> int:
    """A cheap token estimate (four characters a token) for budgeting, not billing."""
    return max(1, len(text) // 4)


def render(episode: Turn, number: int | None = None) -> str:
    tag = f"[{number}] " if number is not None else ""
    who = f"{episode.speaker}: " if episode.speaker else ""
    return f"{tag}[{episode.occurred_at:%Y-%m-%d %H:%M}] {who}{episode.text}"


def local_deliberation(
    scanned: Sequence[tuple[Turn, float]],
    query: str,
    k: int,
    budget: Budget,
    *,
    extra: Mapping[str, Sequence[Candidate]] | None = None,
) -> Deliberation:
    """Exhaustive local scoring: each episode's exact cosine, raised by its best
    neighbour's (a turn is often answered by the next), fused by RRF with BM25 and any
    ``extra`` ranked lists of the scanned turns (the learned-sparse one)."""
    started = time.perf_counter()
    kept: list[tuple[Turn, float]] = []
    spent = 0
    for episode, similarity in scanned:
        spent += approx_tokens(episode.text)
        if spent > budget.max_tokens or time.perf_counter() - started > budget.max_seconds:
            break
        kept.append((episode, similarity))
    sims = [s for _, s in kept]
    smoothed = [
        0.75 * s
        + 0.25 * max(sims[i - 1] if i else -1.0, sims[i + 1] if i + 1 < len(sims) else -1.0)
        for i, s in enumerate(sims)
    ]
    dense = sorted(range(len(kept)), key=lambda i: -smoothed[i])[: k * 4]
    lexical = _bm25(kept, query, k * 4)
    lists = {
        "dense": [_candidate(kept[i][0], smoothed[i]) for i in dense],
        "bm25": [_candidate(kept[i][0], score) for i, score in lexical],
    }
    read = {episode.id for episode, _ in kept}
    for name, ranked in (extra or {}).items():
        lists[name] = [c for c in ranked if c.id in read]
    fused = reciprocal_rank_fusion(lists)
    return Deliberation(
        candidates=[f.candidate for f in fused[:k]],
        chunks_total=1,
        chunks_read=1,
        truncated=len(kept) < len(scanned),
    )


def _bm25(kept: Sequence[tuple[Turn, float]], query: str, k: int) -> list[tuple[int, float]]:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each index at DEBUG
    texts = [f"{e.speaker or ''} {e.text}" for e, _ in kept]
    tokens = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)
    if not texts or not tokens[0]:
        return []
    index = bm25s.BM25()
    index.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    docs, scores = index.retrieve(tokens, k=min(k, len(texts)), show_progress=False)
    return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if float(s) > 0]


def _candidate(episode: Turn, score: float) -> Candidate:
    return Candidate(
        kind="episode",
        id=episode.id,
        text=episode.text,
        occurred_at=episode.occurred_at,
        score=score,
        source_episode_ids=(episode.id,),
        speaker=episode.speaker,
    )

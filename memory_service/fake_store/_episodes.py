"""Episodes in memory, with the contracts of ``memory_service.db.episodes``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from memory_service.domain.filters import MetadataFilter, matches
from memory_service.domain.models import (
    Candidate,
    ContextTurn,
    Episode,
    EpisodePage,
    NewEpisode,
    Scope,
    SearchQuery,
    Turn,
)
from memory_service.fake_store._tables import (
    EpisodeRow,
    FakeStore,
    best_first,
    cosine,
    decode_cursor,
    encode_cursor,
    in_period,
    in_scope,
    plain_json,
    sequence_number,
)
from memory_service.fake_store._text import overlap, terms


def _candidate(row: EpisodeRow, score: float) -> Candidate:
    e = row.episode
    return Candidate(
        kind="episode",
        id=e.id,
        text=e.text,
        occurred_at=e.occurred_at,
        score=score,
        source_episode_ids=(e.id,),
        speaker=e.speaker,
    )


def _time_key(row: EpisodeRow) -> tuple[datetime, int]:
    return (row.episode.occurred_at, row.seq)


def _context(row: EpisodeRow, position: int) -> ContextTurn:
    e = row.episode
    return ContextTurn(e.id, e.speaker, e.text, e.occurred_at, position)


class FakeEpisodes:
    """``text_search`` ranks by word overlap, not ts_rank_cd (see ``_text``)."""

    def __init__(self, store: FakeStore, now: datetime) -> None:
        self._db = store
        self._now = now

    def _rows(
        self, tenant: UUID, scope: Scope, where: MetadataFilter | None = None
    ) -> list[EpisodeRow]:
        """The scope's episodes (those passing ``where``) in time order."""
        rows = [
            r
            for r in self._db.episodes.values()
            if in_scope(r.tenant, r.episode.scope, tenant, scope)
            and matches(where, r.episode.metadata)
        ]
        return sorted(rows, key=_time_key)

    def _matching(self, tenant: UUID, query: SearchQuery) -> list[EpisodeRow]:
        return [
            r
            for r in self._rows(tenant, query.scope, query.filters)
            if in_period(r.episode.occurred_at, query.since, query.until)
        ]

    async def add_many(
        self,
        tenant: UUID,
        scope: Scope,
        items: Sequence[NewEpisode],
        vectors: Sequence[Sequence[float]],
        now: datetime,
    ) -> list[Episode]:
        added = []
        for item, vector in zip(items, vectors, strict=True):
            episode = Episode(
                id=self._db.new_id(),
                scope=scope,
                role=item.role,
                speaker=item.speaker,
                text=item.text,
                occurred_at=item.occurred_at or now,
                created_at=self._now,
                metadata=plain_json(item.metadata),
                utility=0.0,
            )
            self._db.episodes[(tenant, episode.id)] = EpisodeRow(
                tenant, self._db.next_seq(), episode, tuple(vector)
            )
            added.append(episode)
        return added

    async def get(self, tenant: UUID, episode_id: UUID) -> Episode | None:
        row = self._db.episodes.get((tenant, episode_id))
        return row.episode if row and row.tenant == tenant else None

    async def get_many(self, tenant: UUID, episode_ids: Sequence[UUID]) -> list[Episode]:
        """The episodes that still exist, in time order."""
        rows = [self._db.episodes.get((tenant, i)) for i in set(episode_ids)]
        found = [r for r in rows if r is not None and r.tenant == tenant]
        return [r.episode for r in sorted(found, key=_time_key)]

    async def scan(
        self,
        tenant: UUID,
        scope: Scope,
        vector: Sequence[float],
        *,
        limit: int,
        max_tokens: int | None = None,
        where: MetadataFilter | None = None,
    ) -> tuple[list[tuple[Turn, float]], bool]:
        """The scope's most recent turns (at most ``limit``, and at most ``max_tokens``
        of text at four characters a token, counted newest first), in time order, each
        with its exact cosine to ``vector``; and whether older ones were left out."""
        fits: list[EpisodeRow] = []
        spent = 0
        older_left = False
        for n, row in enumerate(reversed(self._rows(tenant, scope, where)), start=1):
            cost = max(len(row.episode.text) // 4, 1)
            spent += cost
            if n > limit or (max_tokens is not None and spent > max_tokens):
                # the SQL reads the first turn past a cap to tell that older ones exist
                older_left = max_tokens is None or spent - cost <= max_tokens
                break
            fits.append(row)
        turns = [
            (Turn(r.episode.id, r.episode.speaker, r.episode.text, r.episode.occurred_at), r)
            for r in reversed(fits)
        ]
        return [(turn, cosine(r.vector, vector)) for turn, r in turns], older_left

    async def similarities(
        self, tenant: UUID, ids: Sequence[UUID], vector: Sequence[float]
    ) -> dict[UUID, tuple[float, float]]:
        """Exact cosine to ``vector`` and utility Q of each episode in ``ids``."""
        rows = [self._db.episodes.get((tenant, i)) for i in ids]
        return {
            r.episode.id: (cosine(r.vector, vector), r.episode.utility)
            for r in rows
            if r is not None and r.tenant == tenant
        }

    async def neighbours(
        self,
        tenant: UUID,
        scope: Scope,
        ids: Sequence[UUID],
        window: int,
        where: MetadataFilter | None = None,
    ) -> dict[UUID, list[ContextTurn]]:
        """Up to ``window`` episodes of ``scope`` just before and just after each of
        ``ids``, in time order; positions count from the hit (-1 just before it). An
        id that is not an episode of ``tenant`` gets an empty list."""
        if not ids or window < 1:
            return {}
        timeline = self._rows(tenant, scope, where)
        out: dict[UUID, list[ContextTurn]] = {}
        for anchor_id in ids:
            anchor = self._db.episodes.get((tenant, anchor_id))
            if anchor is None or anchor.tenant != tenant:
                out[anchor_id] = []
                continue
            key = _time_key(anchor)
            earlier = [r for r in timeline if _time_key(r) < key][-window:]
            later = [r for r in timeline if _time_key(r) > key][:window]
            out[anchor_id] = [_context(r, i - len(earlier)) for i, r in enumerate(earlier)] + [
                _context(r, i + 1) for i, r in enumerate(later)
            ]
        return out

    async def page(
        self,
        tenant: UUID,
        scope: Scope,
        *,
        since: datetime | None,
        until: datetime | None,
        cursor: str | None,
        limit: int,
        descending: bool = False,
        where: MetadataFilter | None = None,
    ) -> EpisodePage:
        rows = [
            r
            for r in self._rows(tenant, scope, where)
            if in_period(r.episode.occurred_at, since, until)
        ]
        if descending:
            rows.reverse()
        if cursor:
            after = decode_cursor(cursor, sequence_number)
            rows = [
                r for r in rows if (_time_key(r) < after if descending else _time_key(r) > after)
            ]
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = encode_cursor(*_time_key(rows[-1])) if more and rows else None
        return EpisodePage(items=[r.episode for r in rows], next_cursor=next_cursor)

    async def delete(self, tenant: UUID, episode_id: UUID) -> bool:
        row = self._db.episodes.get((tenant, episode_id))
        if row is None or row.tenant != tenant:
            return False
        return self._db.delete_episodes([(tenant, episode_id)]) == 1

    async def vector_search(
        self, tenant: UUID, query: SearchQuery, vector: Sequence[float], k: int
    ) -> list[Candidate]:
        """The ``k`` nearest by exact cosine (ties: oldest first)."""
        scored = [(cosine(r.vector, vector), r) for r in self._matching(tenant, query)]
        scored.sort(key=lambda pair: best_first(pair[0]))
        return [_candidate(r, score) for score, r in scored[:k]]

    async def set_sparse(self, tenant: UUID, vectors: dict[UUID, dict[int, float]]) -> None:
        for episode_id, vector in vectors.items():
            row = self._db.episodes.get((tenant, episode_id))
            if row is not None and row.tenant == tenant:
                row.sparse = dict(vector)

    async def unencoded(self, tenant: UUID, scope: Scope, limit: int) -> list[Episode]:
        return [r.episode for r in self._rows(tenant, scope) if r.sparse is None][:limit]

    async def backlog(self, limit: int) -> list[tuple[UUID, Episode]]:
        rows = sorted(self._db.episodes.values(), key=lambda r: r.seq)
        return [(r.tenant, r.episode) for r in rows if r.sparse is None][:limit]

    async def sparse_search(
        self, tenant: UUID, query: SearchQuery, vector: dict[int, float], k: int
    ) -> list[Candidate]:
        """Encoded episodes by inner product, above zero only (ties: oldest first)."""
        scored = [
            (sum(w * r.sparse.get(i, 0.0) for i, w in vector.items()), r)
            for r in self._matching(tenant, query)
            if r.sparse is not None
        ]
        hits = sorted((p for p in scored if p[0] > 0), key=lambda p: (-p[0], p[1].seq))
        return [_candidate(r, score) for score, r in hits[:k]]

    async def text_search(self, tenant: UUID, query: SearchQuery, k: int) -> list[Candidate]:
        """Episodes holding any query term, by word overlap over speaker and text (not
        ts_rank_cd; ties: oldest first)."""
        wanted = terms(query.text)
        scored = [
            (overlap(wanted, f"{r.episode.speaker or ''} {r.episode.text}"), r)
            for r in self._matching(tenant, query)
        ]
        hits = sorted((p for p in scored if p[0] > 0), key=lambda p: (-p[0], p[1].seq))
        return [_candidate(r, score) for score, r in hits[:k]]

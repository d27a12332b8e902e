"""A deterministic stand-in for PostgreSQL full text search.

Not PostgreSQL's ranking: there is no stemming and no ``ts_rank_cd`` cover density.
A text matches when it holds any of the query's terms (lower-cased words, common
English stop words dropped), as the ``any_terms_tsquery`` OR-query does; its score is
the share of the query's distinct terms it holds, in (0, 1].
"""

from __future__ import annotations

import re

from memory_service.domain.text import MENTION_STOPWORDS

_WORD = re.compile(r"[a-z0-9]+")


def terms(text: str) -> set[str]:
    """The searchable words of ``text``: lower-cased, stop words dropped."""
    return {w for w in _WORD.findall(text.lower()) if w not in MENTION_STOPWORDS}


def overlap(query_terms: set[str], text: str) -> float:
    """Share of ``query_terms`` found in ``text``: 0.0 is no match (never returned)."""
    if not query_terms:
        return 0.0
    return len(query_terms & terms(text)) / len(query_terms)

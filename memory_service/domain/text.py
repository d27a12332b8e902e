"""Text the store can hold: PostgreSQL ``text`` and ``jsonb`` refuse U+0000 (NUL).

Inputs are checked where they enter (request bodies, headers, import lines), so that a
NUL is a 422 naming the field, never a 500 from the database half-way through a write.
A model's output is not refused but cleaned (``without_nul``): a stray NUL in a reply
must not fail a consolidation job or a search log.

Also the stopword lists of the word-level heuristics (lower-case English words).
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")
NUL = "\x00"
NUL_MESSAGE = "must not contain the NUL character (U+0000)"
_SCALARS = (int, float, bool, type(None))
_SCALAR_TYPES = frozenset(_SCALARS)


def nul_at(value: object) -> str | None:
    """Where the first string holding NUL sits in a JSON-like ``value``: ``""`` for
    ``value`` itself, ``['key'][0]`` inside dicts (keys included) and lists; None when
    there is none. Other values (numbers, UUIDs, times, models) are not looked into."""
    steps = _nul_steps(value)
    return None if steps is None else "".join(f"[{s!r}]" for s in reversed(steps))


def _nul_steps(value: object) -> list[str | int] | None:
    """The keys and indexes leading to the first NUL, innermost first (built only on a
    hit: most values hold none, and an embedding is hundreds of floats)."""
    if isinstance(value, str):
        return [] if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and NUL in key:
                return [key]
            if not isinstance(item, _SCALARS) and (found := _nul_steps(item)) is not None:
                return [*found, key]
    elif isinstance(value, list | tuple) and not set(map(type, value)) <= _SCALAR_TYPES:
        for index, item in enumerate(value):
            if not isinstance(item, _SCALARS) and (found := _nul_steps(item)) is not None:
                return [*found, index]
    return None


def refuse_nul(value: T) -> T:
    """``value`` unchanged, or ValueError when a string in it holds NUL (a validator)."""
    where = nul_at(value)
    if where is None:
        return value
    raise ValueError(f"{NUL_MESSAGE} (at {where})" if where else NUL_MESSAGE)


def without_nul(value: object) -> object:
    """``value`` with NUL removed from every string in it (keys included): for JSON
    parsed from a model's reply, where ``\\u0000`` decodes to NUL."""
    if isinstance(value, str):
        return value.replace(NUL, "")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    return value


MENTION_STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "did", "do", "does",
    "for", "from", "had", "has", "have", "he", "her", "him", "his", "how", "i", "in", "is",
    "it", "its", "me", "my", "of", "on", "or", "our", "she", "so", "that", "the", "their",
    "them", "they", "this", "to", "was", "we", "were", "what", "when", "where", "which",
    "who", "whom", "why", "will", "with", "would", "you", "your",
))  # fmt: skip
"""Words an entity mention does not start or end with (hypergraph retrieval's keys)."""

CONTENT_STOPWORDS = MENTION_STOPWORDS | frozenset((
    "about", "above", "after", "again", "against", "all", "also", "am", "any", "anymore",
    "because", "before", "being", "below", "between", "both", "can", "could", "doing",
    "down", "during", "each", "few", "further", "having", "here", "hers", "herself",
    "himself", "if", "into", "itself", "just", "more", "most", "myself", "no", "nor", "now",
    "off", "once", "only", "other", "ours", "ourselves", "out", "over", "own", "really",
    "same", "should", "some", "still", "such", "than", "theirs", "themselves", "then",
    "there", "these", "those", "through", "too", "under", "until", "up", "very", "while",
    "yours", "yourself", "yourselves",
))  # fmt: skip
"""Words that carry no content, for comparing what two facts say (the update rule):
the mention list plus quantifiers, adverbs, prepositions and the rest of the pronouns."""

"""Text the store can hold: PostgreSQL ``text`` and ``jsonb`` refuse U+0000 (NUL), and
UTF-8 has no encoding for a lone surrogate (U+D800 to U+DFFF, which a JSON ``\\ud800``
escape decodes to); ``jsonb`` also refuses NaN and the infinities, and nesting without end
fails on the way out.

Inputs are checked where they enter (request bodies, headers, import lines), so that such
a value is a 422 naming the field, never a 500 from the database half-way through a
write. A model's output is not refused but cleaned (``without_nul``): a stray NUL in a
reply must not fail a consolidation job or a search log.

Also the stopword lists of the word-level heuristics (lower-case English words).
"""

from __future__ import annotations

import math
import re
from typing import TypeVar

T = TypeVar("T")
NUL = "\x00"
NUL_MESSAGE = "must not contain the NUL character (U+0000)"
SURROGATE_MESSAGE = "must not contain a lone surrogate (U+D800 to U+DFFF): it is not text"
MAX_JSON_DEPTH = 32
"""How deep a free-form JSON value (metadata) may nest: ``{"a": {"b": 1}}`` is 2 levels."""

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
NON_FINITE_MESSAGE = "must be a finite number, not NaN or an infinity"
Steps = list[str | int]
_NUMBERS = frozenset((int, float, bool, type(None)))


def _char_problem(text: str) -> str | None:
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return NUL_MESSAGE if found.group() == NUL else SURROGATE_MESSAGE


def _where(steps: Steps) -> str:
    """``['key'][0]``, for the keys and indexes leading to a value, outermost first."""
    return "".join(f"[{s!r}]" for s in steps)


def _first_problem(value: object, max_depth: int | None) -> tuple[str, Steps] | None:
    """The first thing the store cannot hold in the JSON-like ``value``, and where: a
    string (dict keys included) holding NUL or a lone surrogate; and, for a JSON value
    (``max_depth`` given), a float that is NaN or infinite, or nesting deeper than
    ``max_depth`` levels. Other values (UUIDs, times, models) are not looked into.
    Walked without recursion, so that no depth can exhaust the stack."""
    json_value = max_depth is not None
    stack: list[tuple[object, Steps]] = [(value, [])]
    while stack:
        item, steps = stack.pop()
        if isinstance(item, str):
            problem = _char_problem(item)
            if problem is not None:
                return problem, steps
            continue
        if isinstance(item, float):
            if json_value and not math.isfinite(item):
                return NON_FINITE_MESSAGE, steps
            continue
        if not isinstance(item, dict | list | tuple):
            continue
        if max_depth is not None and len(steps) >= max_depth:
            return f"must not nest deeper than {max_depth} levels", steps
        if not json_value and not isinstance(item, dict) and set(map(type, item)) <= _NUMBERS:
            continue  # an embedding: hundreds of floats, nothing to look at
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        nested: list[tuple[object, Steps]] = []
        for key, sub in pairs:
            if isinstance(key, str) and (problem := _char_problem(key)) is not None:
                return problem, [*steps, key]
            if isinstance(sub, str):
                if (problem := _char_problem(sub)) is not None:
                    return problem, [*steps, key]
            elif isinstance(sub, float):
                if json_value and not math.isfinite(sub):
                    return NON_FINITE_MESSAGE, [*steps, key]
            elif isinstance(sub, dict | list | tuple):
                nested.append((sub, [*steps, key]))
        stack.extend(reversed(nested))
    return None


def _message(found: tuple[str, Steps]) -> str:
    problem, steps = found
    return f"{problem} (at {_where(steps)})" if steps else problem


def nul_at(value: object) -> str | None:
    """Where the first string holding NUL or a lone surrogate sits in a JSON-like
    ``value``: ``""`` for ``value`` itself, ``['key'][0]`` inside dicts (keys included)
    and lists; None when there is none."""
    found = _first_problem(value, None)
    return None if found is None else _where(found[1])


def refuse_nul(value: T) -> T:
    """``value`` unchanged, or ValueError when a string in it holds NUL or a lone
    surrogate (a validator; the name is older than the surrogate check)."""
    found = _first_problem(value, None)
    if found is None:
        return value
    raise ValueError(_message(found))


def json_problem(value: object, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """What ``jsonb`` cannot hold in the JSON-like ``value``, as a message naming where:
    a string holding NUL or a lone surrogate, a NaN or infinite float (``NaN``,
    ``Infinity`` and ``1e400`` parse to one), nesting deeper than ``max_depth`` levels.
    None when there is nothing."""
    found = _first_problem(value, max_depth)
    return None if found is None else _message(found)


def refuse_json_problem(value: T) -> T:
    """``value`` unchanged, or ValueError saying what ``json_problem`` found (a validator)."""
    problem = json_problem(value)
    if problem is None:
        return value
    raise ValueError(problem)


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

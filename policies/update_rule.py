"""Mem0's update rule without an LLM: cosine thresholds plus content-token overlap.

Given a new fact and the stored memories most similar to it, the best match decides:

- a negation flip ("likes coffee" / "no longer likes coffee") at similarity >= ``update``
  is a contradiction: UPDATE, the new fact supersedes the old;
- similarity >= ``duplicate``: NOOP, the fact is already known;
- similarity >= ``update``: UPDATE when the new text adds content words (a new date is
  new words too) and drops no more than it adds; NOOP when it adds none; ADD when it
  would drop more than it adds (a neighbouring fact, not a better version);
- otherwise ADD.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from memory_service.domain.consolidation import Decision, ExistingMemory, ExtractedFact
from memory_service.domain.errors import ConfigurationError
from memory_service.domain.text import CONTENT_STOPWORDS

__all__ = ["SimilarityDecider", "content_tokens", "is_negated"]

_NEGATION = re.compile(r"\b(?:not|never|no longer|cannot)\b")
_CONTRACTED = ((re.compile(r"\bcan't\b"), "can not"), (re.compile(r"\bwon't\b"), "will not"))
_WORD = re.compile(r"[a-z0-9]+")
_SUFFIXES = (("ies", "y"), ("ied", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""))


def _normalised(text: str) -> str:
    """Lower case, straight apostrophes, "n't" spelled out as " not"."""
    lowered = text.lower().replace("’", "'")
    for pattern, spelled in _CONTRACTED:
        lowered = pattern.sub(spelled, lowered)
    return lowered.replace("n't", " not")


def _stem(word: str) -> str:
    """A crude suffix stripper, enough to match "likes"/"like" and "lived"/"living"."""
    if not word.endswith("ss"):
        for suffix, replacement in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)] + replacement
                break
    return word[:-1] if len(word) > 3 and word.endswith("e") else word


def is_negated(text: str) -> bool:
    """Whether ``text`` contains "not", "n't", "never", "no longer" or "cannot"."""
    return _NEGATION.search(_normalised(text)) is not None


def content_tokens(text: str) -> frozenset[str]:
    """Stemmed content words of ``text``: stopwords, possessive 's and negations removed."""
    plain = _NEGATION.sub(" ", _normalised(text))
    plain = re.sub(r"'s\b", "", plain)
    return frozenset(_stem(w) for w in _WORD.findall(plain) if w not in CONTENT_STOPWORDS)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


@dataclass(frozen=True, slots=True)
class SimilarityDecider:
    """ADD, UPDATE or NOOP from cosine similarity in [-1, 1] and word overlap; never DELETE.

    ``duplicate`` and ``update`` are cosine thresholds (``update <= duplicate``);
    ``contradiction_overlap`` is the Jaccard overlap of content words above which a
    negated and a plain text state the same thing with opposite polarity.
    """

    duplicate: float = 0.92
    update: float = 0.80
    contradiction_overlap: float = 0.6

    name = "similarity"

    def __post_init__(self) -> None:
        if not -1.0 <= self.update <= self.duplicate <= 1.0:
            raise ConfigurationError(
                f"need -1 <= update <= duplicate <= 1, got update={self.update}, "
                f"duplicate={self.duplicate}"
            )
        if not 0.0 <= self.contradiction_overlap <= 1.0:
            raise ConfigurationError(
                f"contradiction_overlap must be in [0, 1], got {self.contradiction_overlap}"
            )

    async def decide(self, fact: ExtractedFact, similar: Sequence[ExistingMemory]) -> Decision:
        return self.decide_sync(fact, similar)

    def decide_sync(self, fact: ExtractedFact, similar: Sequence[ExistingMemory]) -> Decision:
        """The decision for ``fact`` against ``similar`` (any order; the best match counts)."""
        if not similar:
            return Decision("ADD", fact.text, reason="no similar memory")
        best = max(similar, key=lambda m: m.similarity)
        at = f"similarity {best.similarity:.3f}"
        if best.similarity < self.update:
            return Decision("ADD", fact.text, reason=f"nothing close enough ({at} < {self.update})")
        new, old = content_tokens(fact.text), content_tokens(best.text)
        flipped = is_negated(fact.text) != is_negated(best.text)
        if flipped and _jaccard(new, old) >= self.contradiction_overlap:
            return Decision(
                "UPDATE", fact.text, best.id, reason=f"contradicts {best.id} by negation ({at})"
            )
        if best.similarity >= self.duplicate:
            return Decision("NOOP", fact.text, reason=f"duplicate of {best.id} ({at})")
        added, dropped = new - old, old - new
        if not added:
            return Decision("NOOP", fact.text, reason=f"adds nothing to {best.id} ({at})")
        words = ", ".join(sorted(added))
        if len(dropped) > len(added):
            return Decision(
                "ADD", fact.text, reason=f"related to {best.id} but not a superset ({at})"
            )
        return Decision("UPDATE", fact.text, best.id, reason=f"adds {words} to {best.id} ({at})")

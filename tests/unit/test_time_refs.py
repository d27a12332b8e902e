from datetime import UTC, datetime

import pytest

from policies.time_refs import time_ranges

NOW = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)


def d(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("What did Caroline do yesterday?", [(d(2023, 5, 7), d(2023, 5, 8))]),
        ("Where did she travel in June 2022?", [(d(2022, 6, 1), d(2022, 7, 1))]),
        ("What happened in 2021?", [(d(2021, 1, 1), d(2022, 1, 1))]),
        ("What does Melanie like to paint?", []),
        ("How many kids does she have, 3?", []),
    ],
)
def test_time_ranges(query: str, expected: list[tuple[datetime, datetime]]) -> None:
    assert time_ranges(query, NOW) == expected


def test_a_query_without_a_date_word_is_not_searched_for_dates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """dateparser's search costs a millisecond or more: a query with no number, month or
    relative word ("yesterday", "last") cannot name a period, so it is not run. Digits
    inside a word ("mp3", "covid19") are not a number."""
    from policies import time_refs

    def unused() -> None:
        raise AssertionError("dateparser was asked")

    monkeypatch.setattr(time_refs, "_parsers", unused)
    assert time_ranges("When did Caroline go to the support group?", NOW) == []
    assert time_ranges("Did she buy an mp3 player after covid19?", NOW) == []
    with pytest.raises(AssertionError, match="dateparser"):
        time_ranges("What did Caroline do yesterday?", NOW)

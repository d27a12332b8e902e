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

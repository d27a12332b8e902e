"""SimilarityDecider: Mem0's update rule as thresholds on cosine similarity and word overlap."""

from __future__ import annotations

from uuid import UUID

import pytest

from memory_service.domain.consolidation import ExistingMemory, ExtractedFact
from memory_service.domain.errors import ConfigurationError
from memory_service.ports import UpdateDecider
from policies.update_rule import SimilarityDecider, content_tokens, is_negated

OLD = UUID(int=1)
OTHER = UUID(int=2)


def fact(text: str) -> ExtractedFact:
    return ExtractedFact(text=text, source_episode_ids=(UUID(int=99),))


def memory(text: str, similarity: float, id: UUID = OLD) -> ExistingMemory:
    return ExistingMemory(id=id, text=text, similarity=similarity)


GROUP = "Caroline went to a LGBTQ support group"


@pytest.mark.parametrize(
    ("new", "similar", "op", "target", "reason"),
    [
        pytest.param(GROUP, [], "ADD", None, "no similar", id="nothing-stored"),
        pytest.param(GROUP, [memory(GROUP, 0.99)], "NOOP", None, "duplicate", id="duplicate"),
        pytest.param(
            GROUP,
            [memory(GROUP + ".", 0.92)],
            "NOOP",
            None,
            "duplicate",
            id="duplicate-at-threshold",
        ),
        pytest.param(
            GROUP + " yesterday (on 7 May 2023)",
            [memory(GROUP, 0.86)],
            "UPDATE",
            OLD,
            "adds 2023, 7, may, yesterday",
            id="adds-a-date",
        ),
        pytest.param(
            GROUP + " with her friend Jessica",
            [memory(GROUP, 0.80)],
            "UPDATE",
            OLD,
            "adds",
            id="adds-words-at-threshold",
        ),
        pytest.param(
            "A LGBTQ support group is where Caroline went",
            [memory(GROUP, 0.88)],
            "NOOP",
            None,
            "adds nothing",
            id="rephrased-adds-nothing",
        ),
        pytest.param(
            "Caroline paints sunsets",
            [memory("Caroline paints landscapes at dawn near the lake", 0.84)],
            "ADD",
            None,
            "not a superset",
            id="neighbour-not-superset",
        ),
        pytest.param(
            "Caroline lives in Denver",
            [memory("Caroline lives in Boston", 0.85)],
            "UPDATE",
            OLD,
            "adds denver",
            id="replaces-one-word",
        ),
        pytest.param(
            GROUP, [memory("Melanie paints", 0.79)], "ADD", None, "< 0.8", id="below-update"
        ),
        pytest.param(
            "Caroline does not like coffee anymore",
            [memory("Caroline likes coffee", 0.88)],
            "UPDATE",
            OLD,
            "negation",
            id="negation",
        ),
        pytest.param(
            "Caroline no longer lives in Boston",
            [memory("Caroline lives in Boston", 0.95)],
            "UPDATE",
            OLD,
            "negation",
            id="negation-beats-duplicate",
        ),
        pytest.param(
            "Caroline likes coffee",
            [memory("Caroline doesn't like coffee", 0.90)],
            "UPDATE",
            OLD,
            "negation",
            id="negation-lifted",
        ),
        pytest.param(
            "Caroline never lies",
            [memory("Caroline never lies", 0.97)],
            "NOOP",
            None,
            "duplicate",
            id="both-negated",
        ),
        pytest.param(
            "Caroline does not like coffee",
            [memory("Caroline like coffee", 0.70)],
            "ADD",
            None,
            "nothing close",
            id="negation-needs-update-threshold",
        ),
        pytest.param(
            GROUP + " in Boston",
            [memory("Melanie runs", 0.81, OTHER), memory(GROUP, 0.90)],
            "UPDATE",
            OLD,
            "adds boston",
            id="best-match-wins-unsorted",
        ),
    ],
)
async def test_decide(
    new: str, similar: list[ExistingMemory], op: str, target: UUID | None, reason: str
) -> None:
    decision = await SimilarityDecider().decide(fact(new), similar)
    assert (decision.op, decision.target_id, decision.text) == (op, target, new)
    assert reason in decision.reason


@pytest.mark.parametrize(
    ("duplicate", "update", "similarity", "op"),
    [(0.99, 0.90, 0.95, "UPDATE"), (0.99, 0.90, 0.85, "ADD"), (0.85, 0.70, 0.86, "NOOP")],
)
async def test_thresholds_are_configurable(
    duplicate: float, update: float, similarity: float, op: str
) -> None:
    decider = SimilarityDecider(duplicate=duplicate, update=update)
    decision = await decider.decide(fact(GROUP + " in Boston"), [memory(GROUP, similarity)])
    assert decision.op == op


@pytest.mark.parametrize(
    ("kwargs"),
    [{"duplicate": 0.7, "update": 0.8}, {"update": -1.5}, {"contradiction_overlap": 1.5}],
)
def test_bad_thresholds_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        SimilarityDecider(**kwargs)


def test_is_an_update_decider() -> None:
    decider: UpdateDecider = SimilarityDecider()
    assert decider.name == "similarity"


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("Caroline does not like coffee", True),
        ("Caroline doesn't like coffee", True),
        ("Caroline doesn’t like coffee", True),
        ("Caroline can't swim", True),
        ("Caroline never swims", True),
        ("Caroline no longer lives in Boston", True),
        ("Caroline has no dog", False),
        ("Caroline knows nothing about it", False),
        ("Caroline likes coffee", False),
    ],
)
def test_is_negated(text: str, negated: bool) -> None:
    assert is_negated(text) is negated


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Caroline likes coffee", "Caroline doesn't like coffee anymore"),
        ("Melanie lived in Boston", "Melanie is living in Boston"),
        ("Caroline's kids love camping", "the kids of Caroline loved camping"),
    ],
)
def test_content_tokens_match_across_inflection(a: str, b: str) -> None:
    assert content_tokens(a) == content_tokens(b)

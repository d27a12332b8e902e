"""Deterministic LoCoMo-like chat turns (8 to 30 words) for the embedder benchmarks.

Standard library only: the GPU benchmark runs on a machine without our dependencies.
"""

from __future__ import annotations

import random

_NAMES = ["Mel", "Caroline", "Jon", "Gina", "Nate", "Joanna", "Tim", "Audrey", "Andrew", "Deb"]
_PLACES = [
    "the beach",
    "a pottery class",
    "the LGBTQ support group",
    "my cousin's wedding",
    "the farmers market",
    "a charity run",
    "the museum downtown",
    "the dog park",
    "a camping trip in the mountains",
    "the new climbing gym",
    "a concert by the lake",
    "my daughter's school play",
]
_WHEN = [
    "yesterday",
    "last weekend",
    "last Friday",
    "two weeks ago",
    "this morning",
    "on Tuesday",
    "last summer",
    "in May",
    "the other night",
    "a few days ago",
]
_FUTURE = ["next month", "this weekend", "in the spring", "after the holidays", "soon"]
_WHO = ["my kids", "my partner", "my best friend", "my mom", "some coworkers", "my sister"]
_ACTIVITIES = [
    "painted a sunset",
    "adopted a puppy",
    "baked sourdough bread",
    "ran our first 10k",
    "planted tomatoes in the garden",
    "finished a big puzzle",
    "went hiking",
    "signed up for dance lessons",
    "volunteered at the shelter",
    "fixed up the old bike",
]
_HOBBIES = ["pottery", "photography", "journaling", "playing the violin", "rock climbing"]
_THINGS = ["a handmade bowl", "a book about self-care", "concert tickets", "a vintage camera"]
_TOPICS = [
    "my transition journey",
    "starting my own business",
    "adoption agencies",
    "how fast the kids grow up",
    "going back to school for counseling",
    "my grandma's recipes",
    "mental health",
]
_ADJ = ["amazing", "so relaxing", "really emotional", "a lot of fun", "exhausting", "inspiring"]
_OPENERS = [
    "Hey {name}!",
    "Oh wow,",
    "Thanks, {name}!",
    "Honestly,",
    "That's awesome!",
    "Yeah,",
    "Guess what?",
    "",
    "",
]
_CLAUSES = [
    "I went to {place} {when} with {who}",
    "we {activity} {when}",
    "my family and I {activity} at {place}",
    "I've been thinking a lot about {topic} lately",
    "{name} gave me {thing} {when}",
    "I'm planning to go to {place} {future}",
    "it reminded me of {topic}",
    "I started {hobby} {when} and I really love it",
    "{who} and I {activity} {when}",
    "it was {adj} to finally talk about {topic}",
]
_TAILS = [
    "and it was {adj}.",
    "and it meant a lot to me.",
    "What about you?",
    "How have you been?",
    "Do you want to come next time?",
    "I'll send you some pictures!",
]


def _fill(rng: random.Random, template: str) -> str:
    return template.format(
        name=rng.choice(_NAMES),
        place=rng.choice(_PLACES),
        when=rng.choice(_WHEN),
        future=rng.choice(_FUTURE),
        who=rng.choice(_WHO),
        activity=rng.choice(_ACTIVITIES),
        hobby=rng.choice(_HOBBIES),
        thing=rng.choice(_THINGS),
        topic=rng.choice(_TOPICS),
        adj=rng.choice(_ADJ),
    )


def _turn(rng: random.Random) -> str:
    """One turn: an opener, clauses up to a drawn length (at most 30 words), maybe a tail."""
    target = rng.randint(8, 30)
    text = _fill(rng, rng.choice(_OPENERS))
    while len(text.split()) < target:
        clause = _fill(rng, rng.choice(_CLAUSES))
        words = len(text.split()) + len(clause.split()) + 1  # + "and"
        if words > min(target + 4, 30) and len(text.split()) >= 8:
            break
        if text.endswith(","):  # after "Honestly,"
            text += " " + clause
        elif not text or text[-1] in ".!?" or rng.random() < 0.5:  # a new sentence
            text = f"{text}{'' if text[-1:] in '.!?' else '.'} {clause[0].upper()}{clause[1:]}"
        else:
            text += " and " + clause
    tail = _fill(rng, rng.choice(_TAILS))
    if len(text.split()) + len(tail.split()) <= 30 and rng.random() < 0.7:
        text += (" " if tail[0].islower() else ". ") + tail
    text = " ".join(text.split()[:30]).rstrip(",")
    return text if text[-1] in ".!?" else text + "."


def chat_turns(n: int, seed: int = 20240508) -> list[str]:
    """``n`` deterministic chat turns of 8 to 30 words."""
    rng = random.Random(seed)
    return [_turn(rng) for _ in range(n)]

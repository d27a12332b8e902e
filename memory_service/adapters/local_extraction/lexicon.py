"""The English the local extractor knows: entity labels, date words, discourse words."""

from __future__ import annotations

import re

from memory_service.domain.consolidation import EntityType

NER_TYPES: dict[str, EntityType] = {
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
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip
WEEKDAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
RELATIVE = re.compile(
    rf"\b(?:yesterday|today|tonight|tomorrow|ago|last|next|this|past|previous|coming|{WEEKDAYS})\b",
    re.IGNORECASE,
)
ABSOLUTE = re.compile(
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november"
    r"|december|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\b"
    r"|\b(?:1[6-9]|20)\d\d\b|\b\d{1,2}/\d{1,2}(?:/\d{2,4})?\b",
    re.IGNORECASE,
)
PAST_WEEKEND = re.compile(r"\b(?:last|past)\s+weekend\b", re.IGNORECASE)
SEASON = re.compile(r"\b(?:spring|summer|autumn|fall|winter)\b", re.IGNORECASE)

# Discourse words stripped from the start of a sentence when punctuation follows them
# ("Yeah, I painted..." -> "I painted..."); also never proper-noun entities.
DISCOURSE = frozenset((
    "hey", "hi", "hello", "wow", "whoa", "oh", "ah", "aw", "aww", "yeah", "yea", "yep", "yup",
    "yes", "no", "nope", "ok", "okay", "well", "so", "um", "uh", "hmm", "haha", "lol", "omg",
    "totally", "absolutely", "definitely", "sure", "thanks", "thank", "cool", "awesome",
    "great", "nice", "honestly", "anyway", "btw", "congrats", "congratulations",
))  # fmt: skip
GREETINGS = (
    "good to see you", "nice to see you", "great to see you", "nice to meet you",
    "good to hear from you", "talk to you", "talk soon", "see you", "take care",
    "catch you later", "thanks for", "thank you for", "thanks so much", "thank you so much",
    "have a good", "have a great", "have a nice",
)  # fmt: skip
CONTENT_POS = frozenset({"NOUN", "PROPN", "NUM", "VERB"})
FUTURE_WORDS = frozenset({"will", "'ll", "’ll", "gonna", "shall"})
CONTRACTIONS = {"'m": "is", "'ve": "has", "'ll": "will"}
THIRD_PERSON = {"am": "is", "are": "is", "have": "has", "do": "does", "go": "goes"}
MIN_WORDS = 4
MAX_GREETING_WORDS = 8

"""The parts of ``LocalExtractor``: its word lists, and how it reads dates, entities
and facts out of a spaCy parse. Pure functions over spaCy objects; no model loading."""

from typing import Any

# spaCy objects (Doc, Span, Token) are untyped for mypy; named here for the reader.
Doc = Any
Span = Any
Token = Any

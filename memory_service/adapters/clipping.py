"""Long texts and the local BERT-style models: cut to what the model reads before it
tokenizes them, and weighed for batching by the pieces the model will read.

The local models read their first 256 word pieces and drop the rest, but their
tokenizer first splits the whole text: 8,000 characters (about 1,500 pieces) cost six
times the tokenizing that the model uses, 32,000 twenty-five times. A prefix cut at a
whitespace tokenizes to a prefix of the whole text's pieces (the normaliser works per
character and the pre-tokenizer splits at whitespace), so when the prefix alone
already fills the model's window, the model sees exactly the tokens it would have.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

CHARS_PER_PIECE = 8
"""Characters kept per word piece the model reads; English runs at about 4-5 per piece,
so the cut nearly always fills the window. A text whose cut does not is passed whole."""

SHORT_PIECES = 64
"""A model call holds its batch size of texts up to this many pieces (a chat message),
or fewer longer ones with as many padded pieces: 16 full 256-piece windows of MiniLM
in a call, about a second on two CPU cores."""

CHARS_PER_PIECE_ESTIMATE = 4
"""English prose runs at about 4-5 characters a word piece: 4 errs on the heavy side."""

_LAST_SPACE = re.compile(r"\s\S*\Z")


def clip(tokenizer: Any, texts: Sequence[str], max_tokens: int) -> list[str]:
    """``texts``, each one longer than ``max_tokens * CHARS_PER_PIECE`` characters cut at
    a whitespace to a prefix whose pieces (special tokens included) still fill
    ``max_tokens``; the model, truncating to ``max_tokens``, reads the same pieces.

    ``tokenizer`` is a Hugging Face tokenizer (called on a list of strings).
    """
    budget = max_tokens * CHARS_PER_PIECE
    prefixes: dict[int, str] = {}
    for i, text in enumerate(texts):
        if len(text) > budget and (space := _LAST_SPACE.search(text, 0, budget)) is not None:
            prefixes[i] = text[: space.start()]
    out = list(texts)
    if not prefixes:
        return out
    pieces = tokenizer(list(prefixes.values()), add_special_tokens=True, truncation=False)
    for (i, prefix), ids in zip(prefixes.items(), pieces["input_ids"], strict=True):
        if len(ids) >= max_tokens:
            out[i] = prefix
    return out


def estimated_pieces(text: str, window: int) -> int:
    """About how many word pieces a model with a ``window``-piece input reads of
    ``text`` (special tokens included): the weight of a text in a model call."""
    return min(window, 2 + len(text) // CHARS_PER_PIECE_ESTIMATE)

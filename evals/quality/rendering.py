"""Items as the agent receives them: each hit rendered by ``/v1/context``'s own packer.

A fact is its fact line, an episode hit its passage lines (the hit with its context
turns, in time order); a baseline's raw turn is an episode hit without context, so it
reads as one turn line. Token counts use the service's counter (cl100k_base).
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, uuid5

from memory_service.adapters.tokens import count_tokens
from memory_service.domain.models import SearchHit
from memory_service.services.context import pack


def _free(text: str) -> int:
    return 0


def hit_text(hit: SearchHit) -> str:
    """The lines a context block shows for ``hit``, without its section's title line.

    Rendered by ``services.context.pack`` itself (with a counter that makes every line
    fit), so the text is the block's text by construction.
    """
    block = pack([hit], (), 0, _free)
    return block.text.partition("\n")[2]


def hit_tokens(hit: SearchHit) -> tuple[str, int]:
    """``hit_text(hit)`` and its cl100k_base token count, as ``/v1/context`` counts."""
    text = hit_text(hit)
    return text, count_tokens(text)


def turn_hit(label: str, speaker: str | None, text: str, occurred_at: datetime) -> SearchHit:
    """A raw turn (a baseline's item) as an episode hit without context turns."""
    return SearchHit(
        kind="episode",
        id=uuid5(NAMESPACE_URL, label),
        text=text,
        occurred_at=occurred_at,
        score=0.0,
        scores={},
        speaker=speaker,
    )

"""JSON in a model's reply: one reader for the extractor, System 2 and the auditor."""

from __future__ import annotations

import json
import re
from typing import Any

from memory_service.domain.text import without_nul

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


def json_object(reply: str) -> Any:
    """The first JSON object in ``reply``: inside a ```json fence if there is one, else
    from the first "{" on, ignoring prose before and after it; NUL is removed from its
    strings (the store refuses NUL). ValueError, saying why, when there is none."""
    fenced = _FENCE.search(reply)
    body = fenced.group(1) if fenced else reply
    start = body.find("{")
    if start < 0:
        raise ValueError("the reply contains no JSON object")
    try:
        value, _ = json.JSONDecoder().raw_decode(body, start)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc}") from exc
    return without_nul(value)

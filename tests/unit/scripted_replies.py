"""What a scripted chat model replies to the LLM adapters in the unit tests."""

from __future__ import annotations

import json
from typing import Any

RETRY = r"could not be used"  # in the adapters' request to correct a malformed reply


def reply(facts: list[dict[str, Any]], messages: list[dict[str, Any]] | None = None) -> str:
    return json.dumps({"facts": facts, "messages": messages or []})


def decision(op: str, id_: int | str | None, text: str = "", reason: str = "because") -> str:
    return json.dumps({"op": op, "id": id_, "text": text, "reason": reason})

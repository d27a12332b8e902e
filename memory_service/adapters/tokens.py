"""Token counting offline: litellm ships cl100k_base (tiktoken would download it)."""

from __future__ import annotations

import os
from functools import cache
from typing import Any


@cache
def _counter() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm.token_counter


def count_tokens(text: str) -> int:
    """Tokens of ``text`` in cl100k_base (the GPT-3.5/4 encoding); 0 for empty text."""
    if not text:
        return 0
    return int(_counter()(model="gpt-3.5-turbo", text=text))

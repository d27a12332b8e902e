"""A needle in small talk, and an LLM scripted to deliberate, answer and audit over it."""

from __future__ import annotations

import json

from memory_service.testing import ScriptedLLM

TURNS = [f"small talk number {i} about the weather" for i in range(30)] + [
    "Caroline: my grandmother gave me a silver necklace in Sweden",
    "Melanie: that sounds lovely",
]


def scripted(audit_passes: bool) -> ScriptedLLM:
    deliberation = json.dumps(
        {
            "facts": [
                {
                    "fact": "Caroline's grandmother gave her a silver necklace in Sweden",
                    "speaker": "Caroline",
                    "time": "",
                    "score": 9,
                    "messages": [31],
                }
            ]
        }
    )
    audit = json.dumps(
        {"relevance": True, "faithfulness": True, "completeness": audit_passes, "reason": "."}
    )
    return ScriptedLLM(
        rules=[
            (r"You audit an answer", audit),
            (r"find everything relevant", deliberation),
            (r"Answer the question using only", "a silver necklace"),
        ]
    )

"""Answering from retrieved context, and judging answers (prompts live in evals/quality/prompts)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from evals.quality.pipelines import Item
from memory_service.domain.models import ChatMessage
from memory_service.ports import LLM

PROMPTS = Path(__file__).resolve().parent / "prompts"


@cache
def prompt_template(name: str) -> str:
    return (PROMPTS / f"{name}.txt").read_text()


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    input_tokens: int
    output_tokens: int
    latency_ms: float
    calls: int = 1


async def answer(
    llm: LLM, question: str, items: list[Item], *, speakers: tuple[str, str], seed: int
) -> Answer:
    context = "\n".join(item.text for item in items) or "(no memories)"
    prompt = prompt_template("locomo_answer").format(
        speaker_a=speakers[0], speaker_b=speakers[1], context=context, question=question
    )
    started = time.perf_counter()
    out = await llm.complete([ChatMessage("user", prompt)], max_tokens=64, seed=seed)
    return Answer(
        text=out.text.strip(),
        input_tokens=out.input_tokens,
        output_tokens=out.output_tokens,
        latency_ms=(time.perf_counter() - started) * 1000,
    )


def verdict(reply: str) -> bool:
    """The judge's last CORRECT/WRONG word decides; anything else is WRONG."""
    words = [w.strip(".:*!\"'").upper() for w in reply.split()]
    labels = [w for w in words if w in ("CORRECT", "WRONG")]
    return bool(labels) and labels[-1] == "CORRECT"


async def judge(llm: LLM, question: str, gold: str, prediction: str, *, seed: int) -> bool:
    prompt = prompt_template("locomo_judge").format(
        question=question, gold=gold, prediction=prediction
    )
    out = await llm.complete([ChatMessage("user", prompt)], max_tokens=128, seed=seed)
    return verdict(out.text)


def usd_cost(model: str, input_tokens: int, output_tokens: int) -> float | None:
    """Dollars for one call from litellm's bundled price list; None for unpriced models."""
    import os

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    try:
        prompt, completion = litellm.cost_per_token(
            model=model, prompt_tokens=input_tokens, completion_tokens=output_tokens
        )
    except (litellm.exceptions.BadRequestError, litellm.exceptions.NotFoundError):
        return None
    return float(prompt + completion)


def build_llm(name: str | None) -> LLM | None:
    """``scripted`` is the deterministic test double; anything else is a litellm model."""
    if not name:
        return None
    if name == "scripted":
        from memory_service.testing import ScriptedLLM

        return ScriptedLLM(rules=[(r"CORRECT or WRONG", "Same meaning.\nCORRECT")])
    from memory_service.adapters.litellm_llm import LiteLLM

    return LiteLLM(name)

"""Any chat model litellm reaches: hosted providers or an OpenAI-compatible local server."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from memory_service.domain.errors import UpstreamUnavailable
from memory_service.domain.models import ChatMessage, Completion
from memory_service.ports import metrics


def _litellm() -> Any:
    # litellm fetches a price list at import unless told to use its bundled copy.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    return litellm


async def retried(call: str, attempts: int, name: str, **kwargs: Any) -> Any:
    """``litellm.<call>(**kwargs)``, retried with backoff on transient failures (rate
    limits, timeouts, lost connections, 5xx), then raised as ``UpstreamUnavailable``."""
    litellm = _litellm()
    transient = (
        litellm.exceptions.RateLimitError,
        litellm.exceptions.APIConnectionError,
        litellm.exceptions.Timeout,
        litellm.exceptions.ServiceUnavailableError,
        litellm.exceptions.InternalServerError,
    )
    try:
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(transient),
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=0.5, max=20),
            reraise=True,
        ):
            with attempt:
                return await getattr(litellm, call)(**kwargs)
    except transient as exc:
        raise UpstreamUnavailable(f"{name}: {type(exc).__name__}: {exc}") from exc
    raise AssertionError("unreachable: tenacity re-raises the last attempt's error")


class LiteLLM:
    """Chat completions through litellm, retried with backoff on transient failures."""

    def __init__(
        self,
        model: str,
        *,
        api_base: str | None = None,
        timeout_s: float = 60.0,
        attempts: int = 4,
    ) -> None:
        self.model = model
        self._api_base = api_base
        self._timeout = timeout_s
        self._attempts = attempts

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> Completion:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "timeout": self._timeout,
        }
        if seed is not None:
            kwargs["seed"] = seed
        if self._api_base:
            kwargs["api_base"] = self._api_base
        response = await retried("acompletion", self._attempts, self.model, **kwargs)
        usage = getattr(response, "usage", None)
        completion = Completion(
            text=response.choices[0].message.content or "",
            input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            model=self.model,
        )
        metrics.llm_call(completion.input_tokens, completion.output_tokens)
        return completion

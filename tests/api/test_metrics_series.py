"""/metrics shows what the core reports through the Meter port: consolidation time,
LLM calls and tokens by purpose, search routes, text-model batch sizes."""

from __future__ import annotations

import re
from dataclasses import replace

from memory_service.adapters.batching import Batcher
from memory_service.bootstrap import Components, build_consolidator
from memory_service.testing import ScriptedLLM
from tests.api.helpers import add_messages
from tests.api.scripted_deliberation import TURNS
from tests.conftest import api_client
from workers.dispatch import InProcessWorker


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition ``text`` (0 when it is absent)."""
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name + (f"{{{inner}}}" if inner else "")) + r" ([0-9.e+-]+)$"
    found = re.search(pattern, text, flags=re.MULTILINE)
    return float(found[1]) if found else 0.0


async def test_search_consolidation_llm_and_batches_are_measured(
    components: Components,
) -> None:
    llm = ScriptedLLM(rules=[], default="1")
    parts = replace(components, llm=llm)
    async with api_client(parts, "metrics") as client:
        await add_messages(client, TURNS, user_id="u")
        fast = await client.post("/v1/search", json={"user_id": "u", "query": "necklace"})
        slow = await client.post(
            "/v1/search", json={"user_id": "u", "query": "necklace", "mode": "deliberate"}
        )
        worker = InProcessWorker(parts, build_consolidator(parts.settings, parts.embedder))
        assert await worker.drain() == 1
        assert await Batcher[str, str](list, max_batch=8)(["a", "b", "c"]) == ["a", "b", "c"]
        text = (await client.get("/metrics")).text
    assert fast.json()["route"] == "fast"
    assert slow.json()["route"] == "deliberate"
    assert sample(text, "memory_search_routes_total", route="fast") >= 1
    assert sample(text, "memory_search_routes_total", route="deliberate") >= 1
    assert sample(text, "memory_consolidation_seconds_count") >= 1
    assert 0 < sample(text, "memory_consolidation_seconds_sum") < 120
    calls = sample(text, "memory_llm_calls_total", purpose="deliberation")
    assert calls >= len(llm.calls) > 0
    assert sample(text, "memory_llm_tokens_total", kind="input") > 0
    assert sample(text, "memory_llm_tokens_total", kind="output") >= calls
    assert sample(text, "memory_embed_batch_size_count") >= 1
    assert sample(text, "memory_embed_batch_size_bucket", le="4.0") >= 1
    assert sample(text, "memory_embed_batch_size_sum") >= 3

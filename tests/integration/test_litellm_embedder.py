"""The litellm embedder against a real OpenAI-compatible embeddings server on loopback
(what vLLM, TEI or a proxy answer), not a mock of litellm."""

from __future__ import annotations

import base64
import math
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from memory_service.adapters.hash_embedder import HashEmbedder
from memory_service.adapters.litellm_embedder import LiteLLMEmbedder
from memory_service.bootstrap import build_embedder
from memory_service.config import Settings
from memory_service.domain.errors import ConfigurationError, UpstreamUnavailable
from tests.conftest import free_port

WIDE = "wide-model"
"""The fake server's model that answers 1536-d vectors unless asked for fewer."""


@dataclass
class FakeServer:
    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)


def _encode(vector: list[float], encoding: str | None) -> Any:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


def _app(server: FakeServer) -> Starlette:
    async def embeddings(request: Request) -> JSONResponse:
        body = await request.json()
        server.requests.append(body)
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        width = body.get("dimensions") or (1536 if body["model"] == WIDE else 384)
        # unnormalised on purpose (x3): the embedder returns unit vectors
        vectors = [[3 * x for x in v] for v in HashEmbedder(width).embed_sync(texts)]
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": _encode(v, body.get("encoding_format")),
            }
            for i, v in reversed(list(enumerate(vectors)))  # any order: sorted by index
        ]
        usage = {"prompt_tokens": len(texts), "total_tokens": len(texts)}
        return JSONResponse(
            {"object": "list", "data": data, "model": body["model"], "usage": usage}
        )

    return Starlette(routes=[Route("/v1/embeddings", embeddings, methods=["POST"])])


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeServer]:
    port = free_port()
    server = FakeServer(url=f"http://127.0.0.1:{port}/v1")
    uv = uvicorn.Server(
        uvicorn.Config(_app(server), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert uv.started, "the fake embeddings server did not start"
    yield server
    uv.should_exit = True
    thread.join(timeout=10)


def embedder(server: FakeServer, model: str = "minilm", **kw: Any) -> LiteLLMEmbedder:
    return LiteLLMEmbedder(f"openai/{model}", dim=384, api_base=server.url, api_key="k", **kw)


async def test_vectors_come_back_in_order_normalised_and_batched(fake_server: FakeServer) -> None:
    fake_server.requests.clear()
    texts = [f"text number {i}" for i in range(5)]
    vectors = await embedder(fake_server, batch_size=2).embed(texts)
    expected = HashEmbedder(384).embed_sync(texts)
    assert all(
        math.isclose(a, b, abs_tol=1e-6)
        for got, want in zip(vectors, expected, strict=True)
        for a, b in zip(got, want, strict=True)
    )
    assert [len(r["input"]) for r in fake_server.requests] == [2, 2, 1]
    assert all(r["model"] == "minilm" for r in fake_server.requests)
    assert await embedder(fake_server).embed([]) == []


async def test_dimensions_are_asked_of_the_model(fake_server: FakeServer) -> None:
    fake_server.requests.clear()
    [vector] = await embedder(fake_server, WIDE, dimensions=384).embed(["hello"])
    assert len(vector) == 384
    assert fake_server.requests[-1]["dimensions"] == 384


async def test_a_model_of_another_width_is_refused(fake_server: FakeServer) -> None:
    with pytest.raises(
        ConfigurationError, match=r"1536-d vectors, not 384-d: set MEMORY_EMBED_DIM"
    ):
        await embedder(fake_server, WIDE).embed(["hello"])


async def test_an_unreachable_server_is_upstream_unavailable() -> None:
    dead = LiteLLMEmbedder(
        "openai/x", dim=384, api_base=f"http://127.0.0.1:{free_port()}/v1", api_key="k", attempts=1
    )
    with pytest.raises(UpstreamUnavailable, match="openai/x"):
        await dead.embed(["hello"])


def test_settings_build_it(fake_server: FakeServer) -> None:
    built = build_embedder(
        Settings(
            embedder="litellm",
            embed_model="openai/minilm",
            embed_api_base=fake_server.url,
            embed_api_key="k",
        )
    )
    assert isinstance(built, LiteLLMEmbedder)
    assert (built.name, built.dim) == ("openai/minilm", 384)


def test_a_missing_model_name_fails_clearly() -> None:
    with pytest.raises(ConfigurationError, match="needs MEMORY_EMBED_MODEL"):
        build_embedder(Settings(embedder="litellm"))


def test_the_width_is_the_embedders_own() -> None:
    """Any width builds: the store refuses an embedder of another one until reembedded
    (``test_embedding_spaces``); two widths that disagree fail at start."""
    settings = Settings(embedder="litellm", embed_model="openai/x", embed_dimensions=1536)
    assert build_embedder(settings).dim == 1536
    assert build_embedder(Settings(embedder="litellm", embed_model="o/x", embed_dim=768)).dim == 768
    settings = Settings(
        embedder="litellm", embed_model="openai/x", embed_dim=768, embed_dimensions=1536
    )
    with pytest.raises(ConfigurationError, match="other vectors than MEMORY_EMBED_DIM=768"):
        build_embedder(settings)

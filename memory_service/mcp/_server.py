"""The server, its HTTP app, and running them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import MethodType
from typing import Literal

from mcp.server.mcpserver import MCPServer
from mcp.types import ToolAnnotations
from starlette.types import ASGIApp

from memory_service import __version__
from memory_service.bootstrap import Components
from memory_service.domain.errors import Unauthorized
from memory_service.mcp._auth import Access, BearerGuard
from memory_service.mcp._tools import Tools
from workers.wiring import attached_worker

Transport = Literal["stdio", "http"]
MCP_PATH = "/mcp"
DEFAULT_PORT = 8081

INSTRUCTIONS = (
    "Long-term memory across conversations. Search it (`search_memories`) before answering "
    "anything that may depend on the user's past; store what is worth recalling later "
    "(`add_memory`, in plain words). Correct a fact with `update_memory`, remove one with "
    "`delete_memory`; `list_memories` and `get_memory` review what is kept. `context` "
    "returns a ready-to-read briefing for the start of a task; `feedback` with a "
    "retrieval_id says what helped. Items are memories (facts, kept current) or episodes "
    "(things said, as said then)."
)


def instructions(default_user_id: str | None) -> str:
    """``INSTRUCTIONS``, and whom a call naming no user_id, agent_id or session_id is for."""
    if default_user_id is None:
        return f"{INSTRUCTIONS} Name the user_id in every call."
    return f"{INSTRUCTIONS} A call naming no user_id is for user {default_user_id!r}."


def _hints(
    *, read_only: bool = False, destructive: bool = False, idempotent: bool = False
) -> ToolAnnotations:
    """Every tool works on this service's own store only (``open_world_hint=False``)."""
    return ToolAnnotations(
        read_only_hint=read_only,
        destructive_hint=None if read_only else destructive,
        idempotent_hint=None if read_only else idempotent,
        open_world_hint=False,
    )


READ = _hints(read_only=True)
TOOLS: tuple[tuple[Callable[..., Awaitable[object]], str, ToolAnnotations], ...] = (
    (Tools.add_memory, "Add a memory", _hints()),
    (Tools.search_memories, "Search memories", READ),
    (Tools.list_memories, "List memories", READ),
    (Tools.get_memory, "Get a memory", READ),
    (Tools.update_memory, "Update a memory", _hints(idempotent=True)),
    (Tools.delete_memory, "Delete a memory", _hints(destructive=True, idempotent=True)),
    (Tools.delete_all_memories, "Delete all memories", _hints(destructive=True, idempotent=True)),
    (Tools.context, "Memory briefing", READ),
    (Tools.feedback, "Rate a retrieval", _hints()),
)
"""Each tool: its method of ``Tools`` (whose name it takes), title and annotations."""


def build_server(components: Components, *, api_key: str | None) -> MCPServer:
    """The MCP server with the tools of ``TOOLS``. ``api_key`` authenticates calls that
    carry no HTTP headers (stdio, or an in-process client); calls over HTTP always use
    their own ``Authorization`` header."""
    return _server(components, Access(components, api_key))


def _server(components: Components, access: Access) -> MCPServer:
    guide = instructions(components.settings.mcp_default_user_id)
    server: MCPServer = MCPServer("memory-service", version=__version__, instructions=guide)
    tools = Tools(components, access)
    for method, title, hints in TOOLS:
        bound = MethodType(method, tools)
        description = " ".join((method.__doc__ or "").split())  # one line: no indents
        server.add_tool(
            bound, name=method.__name__, title=title, description=description, annotations=hints
        )
    return server


def http_app(components: Components, *, host: str = "127.0.0.1") -> ASGIApp:
    """The streamable HTTP app, serving MCP at ``/mcp``. Stateless: every request carries
    its own key, so any process behind a load balancer can answer it. With a loopback
    ``host``, requests naming another Host or Origin are refused (DNS rebinding)."""
    access = Access(components, None)
    server = _server(components, access)
    app = server.streamable_http_app(streamable_http_path=MCP_PATH, stateless_http=True, host=host)
    return BearerGuard(app, access)


async def serve(
    components: Components,
    *,
    transport: Transport,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    api_key: str | None = None,
) -> None:
    """Serve until stdin closes (stdio) or a signal stops uvicorn (http), with the
    consolidation worker in process when no broker is configured. ``api_key`` is for
    stdio only, where a missing or bad key is refused (Unauthorized) before serving."""
    if transport == "stdio":
        if api_key is None:
            raise Unauthorized("set MEMORY_SERVICE_API_KEY to serve MCP over stdio")
        await Access(components, api_key).authenticate(api_key)
    async with attached_worker(components) as parts:
        if transport == "stdio":
            await build_server(parts, api_key=api_key).run_stdio_async()
        else:
            import uvicorn

            app = http_app(parts, host=host)
            level = parts.settings.log_level.lower()
            # log_config=None: uvicorn's records go through the service's handler (JSON
            # off a terminal, with timestamps), as `serve`'s do
            config = uvicorn.Config(app, host=host, port=port, log_level=level, log_config=None)
            await uvicorn.Server(config).serve()


def run(
    components: Components,
    *,
    transport: Transport,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    api_key: str | None = None,
) -> None:
    """``serve`` in a new event loop; ``components`` (the engine) are disposed in it."""

    async def main() -> None:
        try:
            await serve(components, transport=transport, host=host, port=port, api_key=api_key)
        finally:
            await components.dispose()

    asyncio.run(main())

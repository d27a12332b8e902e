"""The server, its HTTP app, and running them."""

from __future__ import annotations

import asyncio
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
    "Long-term memory. `add` stores conversation messages for a scope (user_id, agent_id "
    "and/or session_id; at least one). `search` finds stored messages and extracted facts; "
    "`context` returns a ready-to-paste block. Send `feedback` with the retrieval_id they "
    "return to reward what helped. `forget` deletes everything stored for a user."
)


def build_server(components: Components, *, api_key: str | None) -> MCPServer:
    """The MCP server with the tools ``add``, ``search``, ``context``, ``feedback`` and
    ``forget``. ``api_key`` authenticates calls that carry no HTTP headers (stdio, or an
    in-process client); calls over HTTP always use their own ``Authorization`` header."""
    return _server(components, Access(components, api_key))


def _server(components: Components, access: Access) -> MCPServer:
    server: MCPServer = MCPServer("memory-service", version=__version__, instructions=INSTRUCTIONS)
    tools = Tools(components, access)
    server.add_tool(tools.add, name="add")
    server.add_tool(tools.search, name="search")
    server.add_tool(tools.context, name="context")
    server.add_tool(tools.feedback, name="feedback")
    destructive = ToolAnnotations(destructive_hint=True, idempotent_hint=False)
    server.add_tool(tools.forget, name="forget", annotations=destructive)
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
            raise Unauthorized("set MEMORY_API_KEY to serve MCP over stdio")
        await Access(components, api_key).authenticate(api_key)
    async with attached_worker(components) as parts:
        if transport == "stdio":
            await build_server(parts, api_key=api_key).run_stdio_async()
        else:
            import uvicorn

            app = http_app(parts, host=host)
            level = parts.settings.log_level.lower()
            await uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=level)).serve()


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

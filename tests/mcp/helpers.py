"""Connecting to the MCP server in process and reading tool results, for the MCP tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from mcp import Client
from mcp.types import CallToolResult, TextContent

from memory_service.bootstrap import Components
from memory_service.mcp import build_server

TOOLS = {"add", "search", "context", "feedback", "forget"}
SCOPE = {"user_id": "u"}


@contextlib.asynccontextmanager
async def connect(components: Components, api_key: str | None) -> AsyncIterator[Client]:
    async with Client(build_server(components, api_key=api_key)) as client:
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    """The structured result of a call that must succeed."""
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, text(result)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def fails(client: Client, tool: str, **arguments: Any) -> str:
    """The error text of a call that must fail as a tool error, after the SDK's prefix."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result
    prefix = f"Error executing tool {tool}: "
    assert text(result).startswith(prefix), text(result)
    return text(result).removeprefix(prefix)


def text(result: CallToolResult) -> str:
    return " ".join(c.text for c in result.content if isinstance(c, TextContent))


def message(content: str) -> dict[str, str]:
    return {"content": content}

"""Connecting to the MCP server in process and reading tool results, for the MCP tests."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from mcp import Client
from mcp.types import CallToolResult, TextContent

from memory_service.bootstrap import Components
from memory_service.mcp import build_server
from memory_service.requests.call import Call
from memory_service.requests.inputs import MemoryIn
from memory_service.requests.memories import add_memory
from memory_service.services import tenants

TOOLS = {
    "add_memory",
    "search_memories",
    "list_memories",
    "get_memory",
    "update_memory",
    "delete_memory",
    "delete_all_memories",
    "context",
    "feedback",
}
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


def texts(found: dict[str, Any]) -> list[str]:
    """The texts of a search's results or a listing's items, in order."""
    return [item["text"] for item in found.get("results", found.get("items", []))]


async def remember(components: Components, tenant: UUID, text: str, **kw: Any) -> UUID:
    """A memory added as given (the REST path), e.g. one sourced from an episode."""
    async with components.uow(tenant=tenant) as uow:
        call = Call(uow=uow, tenant=tenant, components=components)
        return (await add_memory(call, MemoryIn(text=text, **kw))).id


async def issue(components: Components, tenant: str) -> tuple[str, UUID]:
    """A new key of ``tenant``: its secret and the tenant's id."""
    async with components.uow() as uow:
        issued = await tenants.issue_key(uow, tenant, "test")
    return issued.secret, issued.key.tenant_id


def with_default_user(components: Components, user_id: str | None) -> Components:
    settings = components.settings.model_copy(update={"mcp_default_user_id": user_id})
    return dataclasses.replace(components, settings=settings)

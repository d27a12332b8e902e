"""memory-service as an OpenAI Agents SDK agent's memory: ``memory_tools``.

``pip install 'memory-client[openai-agents]'``. ``memory_tools(client, user_id=...)``
returns the function tools ``remember``, ``recall`` and ``forget``, bound to that scope,
with strict JSON schemas: ``Agent(..., tools=memory_tools(client, user_id="caroline"))``.

Give an ``AsyncMemoryClient`` (agents run on asyncio); a ``MemoryClient`` works too, its
calls run in a worker thread. Arguments the schema refuses, and errors the service
answers, come back to the model as the tool's output (``Error: ...``), as the SDK's own
function tools do, so the model can correct itself; the run goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as ArgumentsError

try:
    from agents import FunctionTool, RunContextWrapper
    from agents.strict_schema import ensure_strict_json_schema
except ImportError as error:  # pragma: no cover - the extra is installed in the tests
    raise ImportError(
        "memory_client.integrations.openai_agents needs the OpenAI Agents SDK: "
        "pip install 'memory-client[openai-agents]'"
    ) from error

from memory_client._async import AsyncMemoryClient
from memory_client._sync import MemoryClient
from memory_client.errors import MemoryServiceError
from memory_client.integrations._plans import Clients, Plan
from memory_client.integrations._toolkit import MemoryTools

__all__ = ["memory_tools"]

Args = TypeVar("Args", bound=BaseModel)


def memory_tools(
    client: AsyncMemoryClient | MemoryClient,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    session_id: str | None = None,
    kinds: Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> list[FunctionTool]:
    """The tools ``remember``, ``recall`` and ``forget``, bound to one scope (at least
    one id). ``kinds`` limits what recall finds (None: episodes and memories);
    ``metadata`` is stored with what remember stores."""
    tools = MemoryTools.bound(user_id, agent_id, session_id, kinds, metadata)
    clients = Clients.of(client, None)
    return [_tool(clients, *entry) for entry in tools.table()]


def _tool(
    clients: Clients,
    name: str,
    description: str,
    schema: type[Args],
    plan: Callable[[Args], Plan[str]],
) -> FunctionTool:
    async def invoke(context: RunContextWrapper[Any], arguments: str) -> str:
        try:
            return await clients.arun(plan(schema.model_validate_json(arguments or "{}")))
        except (ArgumentsError, MemoryServiceError) as error:
            return f"Error: {error}"

    return FunctionTool(
        name=name,
        description=description,
        params_json_schema=ensure_strict_json_schema(schema.model_json_schema()),
        on_invoke_tool=invoke,
        strict_json_schema=True,
    )

"""The OpenAI Agents SDK function tools, against a real server (no model is called: a
scripted one drives the README's example, the other tests invoke the tools directly)."""

from __future__ import annotations

import json
from collections.abc import Callable

import jsonschema
import pytest
from agents import FunctionTool
from agents.tool_context import ToolContext

from memory_client import AsyncMemoryClient, MemoryClient
from memory_client.integrations.openai_agents import memory_tools


async def invoke(tool: FunctionTool, arguments: dict[str, object]) -> str:
    raw = json.dumps(arguments)
    context = ToolContext(
        context=None, tool_name=tool.name, tool_call_id="call-1", tool_arguments=raw
    )
    output = await tool.on_invoke_tool(context, raw)
    assert isinstance(output, str)
    return output


def test_the_readme_example(
    run_example: Callable[[str], None],
    capsys: pytest.CaptureFixture[str],
    sync_client: MemoryClient,
) -> None:
    run_example("openai_agents_memory.py")
    remembered, recalled, answer = capsys.readouterr().out.splitlines()
    (memory,) = sync_client.get_all(user_id="caroline").items
    assert memory.text == "Caroline's greyhound is Pixel."
    assert remembered == f"Remembered (id {memory.id})."
    assert recalled.startswith(f"- Caroline's greyhound is Pixel. (id {memory.id}, memory, score ")
    assert answer == "Your greyhound is Pixel."


def test_schemas_are_strict_json_schemas(aclient: AsyncMemoryClient) -> None:
    tools = memory_tools(aclient, user_id="u")
    assert [t.name for t in tools] == ["remember", "recall", "forget"]
    for tool in tools:
        jsonschema.Draft202012Validator.check_schema(tool.params_json_schema)
        assert tool.strict_json_schema
        assert tool.params_json_schema["additionalProperties"] is False
        assert set(tool.params_json_schema["required"]) == set(
            tool.params_json_schema["properties"]
        )
        assert tool.description
    jsonschema.validate({"query": "dog", "limit": 3}, tools[1].params_json_schema)


@pytest.mark.parametrize("blocking", [False, True])
async def test_remember_recall_forget(
    blocking: bool, aclient: AsyncMemoryClient, sync_client: MemoryClient
) -> None:
    remember, recall, forget = memory_tools(sync_client if blocking else aclient, user_id="u")
    said = await invoke(remember, {"text": "Pixel is a greyhound"})
    (memory,) = sync_client.get_all(user_id="u").items
    assert said == f"Remembered (id {memory.id})."
    assert str(memory.id) in await invoke(recall, {"query": "greyhound", "limit": 5})
    assert await invoke(forget, {"memory_id": str(memory.id)}) == f"Forgot memory {memory.id}."
    assert await invoke(recall, {"query": "greyhound", "limit": 5}) == "No memories found."


async def test_errors_go_back_to_the_model(aclient: AsyncMemoryClient) -> None:
    remember, recall, forget = memory_tools(aclient, user_id="u")
    assert (await invoke(recall, {"query": "dog", "limit": 0})).startswith("Error: ")
    assert (await invoke(forget, {"memory_id": "not-an-id"})).startswith("Error: ")
    assert (await invoke(remember, {"text": "x" * 40_000})).startswith("Error: ")
    with pytest.raises(ValueError, match="scope"):
        memory_tools(aclient)

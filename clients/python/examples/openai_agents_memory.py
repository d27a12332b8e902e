"""memory-service as an OpenAI Agents SDK agent's memory. A scripted model stands in for
OpenAI's, so this runs without an API key: it calls remember, then recall, then answers.
Drop ``model=`` (and set OPENAI_API_KEY) to let a real model decide."""

import asyncio

from agents import Agent, RunConfig, Runner
from agents.testing import ScriptedModel, assistant_message, function_call

from memory_client import AsyncMemoryClient
from memory_client.integrations.openai_agents import memory_tools

model = ScriptedModel(
    [
        [function_call("remember", {"text": "Caroline's greyhound is Pixel."}, call_id="1")],
        [function_call("recall", {"query": "greyhound", "limit": 3}, call_id="2")],
        [assistant_message("Your greyhound is Pixel.")],
    ]
)


async def main() -> None:
    async with AsyncMemoryClient() as client:  # MEMORY_SERVICE_URL, MEMORY_SERVICE_API_KEY
        agent = Agent(
            name="assistant",
            instructions="Remember what the user tells you; recall before answering.",
            model=model,
            tools=memory_tools(client, user_id="caroline"),
        )
        result = await Runner.run(
            agent,
            "My greyhound is Pixel. What is my dog called?",
            run_config=RunConfig(tracing_disabled=True),
        )
        for item in result.new_items:
            if item.type == "tool_call_output_item":
                print(item.output)
        print(result.final_output)


asyncio.run(main())

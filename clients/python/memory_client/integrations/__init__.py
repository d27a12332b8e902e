"""Adapters for agent frameworks, one module per framework, each behind an extra:

- ``memory_client.integrations.langgraph``: ``MemoryServiceStore``, a LangGraph
  ``BaseStore`` (``pip install 'memory-client[langgraph]'``);
- ``memory_client.integrations.langchain``: ``MemoryServiceRetriever`` and
  ``memory_tools`` (``pip install 'memory-client[langchain]'``);
- ``memory_client.integrations.openai_agents``: ``memory_tools``, function tools for the
  OpenAI Agents SDK (``pip install 'memory-client[openai-agents]'``).

Nothing is imported here: a framework is imported only with the module that adapts it.
"""

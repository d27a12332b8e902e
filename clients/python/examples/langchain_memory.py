"""memory-service in LangChain: memory tools for an agent to call, and a retriever for
a chain. Here the tools are called directly, as an agent's model would call them."""

from memory_client import MemoryClient
from memory_client.integrations.langchain import MemoryServiceRetriever, memory_tools

with MemoryClient() as client:  # MEMORY_SERVICE_URL, MEMORY_SERVICE_API_KEY
    remember, recall, forget = memory_tools(client, user_id="caroline")
    print(remember.invoke({"text": "Caroline's greyhound Pixel loves the beach."}))
    print(remember.invoke({"text": "Caroline moved to Lisbon in May."}))
    print(recall.invoke({"query": "Pixel the greyhound", "limit": 1}))

    retriever = MemoryServiceRetriever(client=client, user_id="caroline", k=2)
    documents = retriever.invoke("Where did Caroline move?")
    for document in documents:
        print(document.page_content, "|", document.metadata["kind"])
    print(forget.invoke({"memory_id": documents[0].metadata["id"]}))

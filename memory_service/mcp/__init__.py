"""The memory tools over the Model Context Protocol, on stdio or streamable HTTP.

An entrypoint like the REST API: each tool call authenticates an API key, opens one unit
of work under the key's tenant and calls the same request layer as the matching REST
route; it answers a short result for a model to read (``_outputs``: text, date, id and
kind, as compact JSON), not the REST DTO. A call naming no scope uses the configured
default user (``MEMORY_MCP_DEFAULT_USER_ID``). Domain errors become MCP tool errors
(``is_error``) whose text names the error class and its detail; nothing here is allowed
to crash the session.

The key: over HTTP, each request's ``Authorization: Bearer`` header (the server's own key
is never used there); over stdio, the key the server was started with.
"""

from memory_service.mcp._server import MCP_PATH, Transport, build_server, http_app, run, serve

__all__ = ["MCP_PATH", "Transport", "build_server", "http_app", "run", "serve"]

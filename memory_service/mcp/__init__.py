"""The memory tools over the Model Context Protocol, on stdio or streamable HTTP.

An entrypoint like the REST API: each tool call authenticates an API key, opens one unit
of work under the key's tenant, calls the same service as the matching REST route and
returns the same DTO. Domain errors become MCP tool errors (``is_error``) whose text
names the error class and its detail; nothing here is allowed to crash the session.

The key: over HTTP, each request's ``Authorization: Bearer`` header (the server's own key
is never used there); over stdio, the key the server was started with.
"""

from memory_service.mcp._server import MCP_PATH, Transport, build_server, http_app, run, serve

__all__ = ["MCP_PATH", "Transport", "build_server", "http_app", "run", "serve"]

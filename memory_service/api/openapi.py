"""What the OpenAPI document says beyond the routes themselves: stable operation ids,
the errors every ``/v1`` operation can answer, and the documentation pages' assets,
served from a package (``fastapi-offline``) so ``/docs`` works on a host without the
internet."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from memory_service.api.errors import error_responses

STATIC_URL = "/docs-static"
"""Where Swagger UI's and ReDoc's scripts and styles are served from."""

V1_ERRORS = error_responses(401, 422, 429, 503)
"""Every ``/v1`` operation takes an API key (401), validates its input (422), is rate
limited (429) and needs the database (503: unavailable, retry)."""


def operation_id(route: APIRoute) -> str:
    """The route function's name, snake_case as written (``list_memories``), without the
    trailing underscore of a name that is a Python keyword (``import_`` -> ``import``)."""
    return route.name.rstrip("_")


def router_errors(router: APIRouter) -> dict[int | str, dict[str, Any]]:
    """The errors to document on each operation of ``router``: ``V1_ERRORS`` under /v1."""
    return V1_ERRORS if router.prefix.startswith("/v1") else {}


PARAMETERS = {
    "user_id": "only the rows of this user",
    "agent_id": "only the rows of this agent",
    "session_id": "only the rows of this session",
    "episode_id": "the episode's id",
    "memory_id": "the memory's id",
    "job_id": "the job's id (from the response that queued it)",
    "cursor": "the next_cursor of the previous page; omit for the first page",
    "limit": "at most this many items in the page",
    "since": "only episodes that occurred at or after this time (ISO 8601)",
    "until": "only episodes that occurred before this time (ISO 8601)",
    "order": "time order: asc (oldest first) or desc",
    "include_inactive": "also list superseded and deleted memories",
    "Idempotency-Key": "a retry with the same key (and body) is answered as the first "
    "request was, without doing it twice",
}
"""The parameters several operations share, described once: a route's own description
wins; a parameter neither describes stays undescribed (and fails the OpenAPI test)."""


def install(app: FastAPI) -> None:
    """Build the document as FastAPI does, then describe the shared parameters
    (``PARAMETERS``) and fix the responses of a streamed (non-JSON) route
    (:func:`_fix_response`)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    for parameter in operation.get("parameters", []):
                        if not parameter.get("description"):
                            known = PARAMETERS.get(parameter["name"])
                            if known is not None:
                                parameter["description"] = known
                    for code, response in operation.get("responses", {}).items():
                        _fix_response(code, response)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _fix_response(code: str, response: dict[str, Any]) -> None:
    """FastAPI documents every response of a route under the route's media type, with
    ``"type": "string"`` beside a model's ``$ref``. The NDJSON export's lines have a
    schema, not a string; its errors are JSON (the error body), not NDJSON."""
    content = response.get("content", {})
    for media in content.values():
        schema = media.get("schema", {})
        if "$ref" in schema and schema.get("type") == "string":
            del schema["type"]
    if code[:1] in ("4", "5") and content and "application/json" not in content:
        response["content"] = {"application/json": next(iter(content.values()))}

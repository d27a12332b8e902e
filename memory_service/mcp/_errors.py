"""Expected failures as tool errors whose text the model can read and act on."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import ValidationError

from memory_service.domain.errors import DatabaseUnavailable, InvalidInput, MemoryServiceError

DATABASE_DOWN_TEXT = "UpstreamUnavailable: the database is unavailable; retry shortly"


def describe(exc: MemoryServiceError | ValidationError) -> str:
    """``Class: detail``, with a field-keyed detail flattened to ``field: message; ...``."""
    if isinstance(exc, ValidationError):
        fields = {".".join(map(str, e["loc"])) or "arguments": e["msg"] for e in exc.errors()}
        return describe(InvalidInput(fields))
    detail = exc.detail
    if isinstance(detail, Mapping):
        detail = "; ".join(f"{field}: {message}" for field, message in detail.items())
    return f"{type(exc).__name__}: {detail}"


@contextmanager
def tool_errors() -> Iterator[None]:
    """Domain and validation errors, and a database outage, as ``ToolError``: the call
    returns ``is_error`` with this text. Anything else stays a crash, which the SDK
    reports as ``Error executing tool <name>`` and logs with its traceback."""
    try:
        yield
    except DatabaseUnavailable as exc:
        raise ToolError(DATABASE_DOWN_TEXT) from exc
    except (MemoryServiceError, ValidationError) as exc:
        raise ToolError(describe(exc)) from exc

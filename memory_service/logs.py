"""Logging for every entrypoint (``serve``, ``worker``, ``mcp``): one handler on the root
logger, on stderr, that every library's records (uvicorn's, Celery's) reach too.

JSON lines when stderr is not a terminal (a container, a service manager, a pipe), text
for a person at a terminal; ``MEMORY_LOG_FORMAT`` (``auto``, ``json``, ``text``) decides,
``MEMORY_LOG_LEVEL`` sets the level. The JSON comes from python-json-logger (a small,
long-kept formatter: ISO timestamps, exceptions as text, ``extra=`` fields as keys). Each
record carries the id of the HTTP request it was logged in (``request_id``, null
outside a request): the request id middleware sets :data:`request_id` for the request's
whole handling, and a filter on the handler copies it into the record.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal, TextIO

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["auto", "json", "text"]

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The id of the HTTP request being handled (its ``x-request-id``), None outside one."""

ACCESS = "memory_service.access"
"""The access log's logger: one record per request, its route template, never its path."""

_TEXT = "%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s"
_JSON = "%(levelname)s %(name)s %(message)s %(request_id)s"
_QUIET = ("httpx", "httpcore", "LiteLLM", "asyncio", "multipart")
"""Libraries whose INFO records say nothing an operator needs: WARNING and up only."""


@contextmanager
def in_request(value: str) -> Iterator[None]:
    """Mark every record logged inside the block with request id ``value``."""
    token = request_id.set(value)
    try:
        yield
    finally:
        request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to each record (the one logged with ``extra=`` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
            try:
                return super().format(record)
            finally:
                record.request_id = None
        return super().format(record)


def json_formatter() -> logging.Formatter:
    """``{"level", "logger", "message", "request_id", "timestamp", ...extra}`` a line."""
    return JsonFormatter(
        _JSON,
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,  # ISO 8601, UTC, from the record's creation time
        reserved_attrs=[*RESERVED_ATTRS, "color_message"],  # uvicorn's ANSI-coloured copy
        json_ensure_ascii=False,
    )


def wants_json(fmt: LogFormat, stream: TextIO) -> bool:
    if fmt != "auto":
        return fmt == "json"
    isatty = getattr(stream, "isatty", None)
    return not (isatty is not None and isatty())


def configure(level: str = "INFO", fmt: LogFormat = "auto", stream: TextIO | None = None) -> None:
    """Send every record at ``level`` and above to ``stream`` (stderr) in ``fmt``,
    replacing whatever handlers the root logger had; idempotent."""
    out = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(json_formatter() if wants_json(fmt, out) else _TextFormatter(_TEXT))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "celery"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True  # to the root's handler, in the same format
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    logging.captureWarnings(True)

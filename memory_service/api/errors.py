"""One handler maps every error class to a status and the body ``{"error", "detail"}``;
an error nothing maps is a 500 with that body too (``InternalErrorMiddleware``)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memory_service.domain.errors import (
    ConfigurationError,
    Conflict,
    DatabaseUnavailable,
    EmbedderMismatch,
    InvalidInput,
    MemoryServiceError,
    NotFound,
    RateLimited,
    Unauthorized,
    UpstreamUnavailable,
)
from memory_service.requests.ratelimit import retry_after_header

log = logging.getLogger(__name__)

STATUS: dict[type[MemoryServiceError], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    Unauthorized: 401,
    RateLimited: 429,
    UpstreamUnavailable: 503,
    ConfigurationError: 500,
    EmbedderMismatch: 503,  # until restarted with the right embedder, or reembedded
}


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer has this body."""

    error: str
    detail: Any = None
    request_id: str | None = Field(
        default=None,
        description="on a 500 only: the request's x-request-id, which the server log "
        "names with the traceback",
    )


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries declaring the error body for ``codes``."""
    return {code: {"model": ErrorBody, "description": HTTPStatus(code).phrase} for code in codes}


def error_response(status: int, error: str, detail: Any, **headers: str) -> JSONResponse:
    body = {"error": error, "detail": jsonable_encoder(detail)}
    return JSONResponse(status_code=status, content=body, headers=headers or None)


def _status_of(exc: MemoryServiceError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MemoryServiceError)
    status = _status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = retry_after_header(exc.retry_after_s)
    return error_response(status, type(exc).__name__, exc.detail, **headers)


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
        for e in exc.errors()
    ]
    return error_response(422, "InvalidInput", detail)


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.__cause__ is not None:
        return _unreadable_body(exc.__cause__)
    name = HTTPStatus(exc.status_code).phrase.replace(" ", "")
    return error_response(exc.status_code, name, exc.detail, **(exc.headers or {}))


def _unreadable_body(cause: BaseException) -> JSONResponse:
    """FastAPI answers 400 "There was an error parsing the body" (the cause chained) when
    a JSON body cannot be decoded at all: bytes that are not UTF-8, nesting too deep.
    Bad input is a 422 here, as for malformed JSON, in the same shape."""
    if isinstance(cause, UnicodeDecodeError):
        loc: list[Any] = ["body", cause.start]
        msg = f"the body is not valid UTF-8: {cause.reason}"
    else:
        loc, msg = ["body"], "the body could not be read as JSON"
    return error_response(422, "InvalidInput", [{"loc": loc, "msg": msg, "type": "json_invalid"}])


async def _database_down(_: Request, exc: Exception) -> JSONResponse:
    # The database is unreachable (restarting, network, the connection lost mid-request):
    # a retryable 503, never a 500 with a stack trace. Lost before the commit, nothing was
    # committed; lost during it, the outcome is unknown: a retry with the same
    # idempotency key stores the write once or replays it.
    assert isinstance(exc, DatabaseUnavailable)
    return error_response(
        503, "Unavailable", "the database is unavailable; retry shortly", **{"Retry-After": "1"}
    )


class InternalErrorMiddleware:
    """An error nothing else handled: logged with its traceback and answered as a 500 with
    the error body and the request id, from inside the app.

    Starlette's own last resort answers plain text and re-raises, and the server then
    drops the keep-alive connection; this answer leaves the connection usable. Sits
    inside ``RequestIdMiddleware`` (which puts the id in the scope's state). An error
    after the answer began cannot be answered any more: it is re-raised."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            request_id = scope.get("state", {}).get("request_id")
            log.exception(  # the route template: the raw path can hold user ids
                "unhandled error in %s %s (request id %s)",
                scope.get("method"),
                getattr(scope.get("route"), "path", "unmatched"),
                request_id,
            )
            if started:
                raise
            body = {
                "error": "InternalError",
                "detail": "an unexpected error; the server log has it under this request id",
                "request_id": request_id,
            }
            await JSONResponse(status_code=500, content=body)(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_exception_handler(MemoryServiceError, _domain)
    app.add_exception_handler(DatabaseUnavailable, _database_down)  # the nearest class wins
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)

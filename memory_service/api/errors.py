"""One handler maps every error class to a status and the body ``{"error", "detail"}``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from memory_service.domain.errors import (
    ConfigurationError,
    Conflict,
    DatabaseUnavailable,
    InvalidInput,
    MemoryServiceError,
    NotFound,
    RateLimited,
    Unauthorized,
    UpstreamUnavailable,
)
from memory_service.requests.ratelimit import retry_after_header

STATUS: dict[type[MemoryServiceError], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    Unauthorized: 401,
    RateLimited: 429,
    UpstreamUnavailable: 503,
    ConfigurationError: 500,
}


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer has this body."""

    error: str
    detail: Any = None


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
    # The database is unreachable (restarting, network): a retryable 503, never a 500
    # with a stack trace. Nothing was committed.
    assert isinstance(exc, DatabaseUnavailable)
    return error_response(
        503, "Unavailable", "the database is unavailable; retry shortly", **{"Retry-After": "1"}
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(MemoryServiceError, _domain)
    app.add_exception_handler(DatabaseUnavailable, _database_down)  # the nearest class wins
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)

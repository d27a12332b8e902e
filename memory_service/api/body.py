"""JSON bodies are UTF-8: one in another encoding is a 422, as plain ASGI middleware."""

from __future__ import annotations

import codecs
from email.message import Message as ContentType

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memory_service.api.errors import error_response


def parsed_as_json(scope: Scope) -> bool:
    """Whether FastAPI reads this request's body as JSON: no content type at all, or
    ``application/json`` or ``application/*+json``."""
    raw = dict(scope.get("headers", [])).get(b"content-type")
    if not raw:
        return True
    kind = ContentType()
    kind["content-type"] = raw.decode("latin-1")
    subtype = kind.get_content_subtype()
    return kind.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class Utf8BodyMiddleware:
    """Answer 422 to a JSON body that is not UTF-8.

    ``json.loads`` given bytes guesses UTF-16 and UTF-32 and decodes them; the service
    reads UTF-8 only. The body is checked as it streams in, without being held: bytes
    that do not decode as UTF-8, or a NUL byte (which UTF-8 JSON never holds, and UTF-16
    or UTF-32 text of ASCII is full of). A UTF-8 byte order mark is accepted and ignored,
    as RFC 8259 allows. On a refusal the 422 goes out at once and whatever the app
    answers after it is dropped (as ``BodyLimitMiddleware`` does)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not parsed_as_json(scope):
            await self.app(scope, receive, send)
            return
        decoder = codecs.getincrementaldecoder("utf-8")()
        state = {"seen": 0, "started": False, "refused": False}

        async def checked_receive() -> Message:
            message = await receive()
            if message["type"] != "http.request" or state["refused"]:
                return message
            chunk: bytes = message.get("body", b"")
            problem = _problem(decoder, chunk, state["seen"], not message.get("more_body"))
            state["seen"] += len(chunk)
            if problem is None:
                return message
            state["refused"] = True
            if not state["started"]:
                offset, reason = problem
                detail = [{"loc": ["body", offset], "msg": reason, "type": "json_invalid"}]
                await error_response(422, "InvalidInput", detail)(scope, receive, send)
            return {"type": "http.disconnect"}

        async def guarded_send(message: Message) -> None:
            if state["refused"]:
                return
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, checked_receive, guarded_send)
        except Exception:
            if not state["refused"]:
                raise


def _problem(
    decoder: codecs.IncrementalDecoder, chunk: bytes, seen: int, final: bool
) -> tuple[int, str] | None:
    """Where (a byte offset in the body) and why ``chunk`` is not UTF-8 JSON text."""
    nul = chunk.find(b"\x00")
    if nul >= 0:
        return seen + nul, "the body is not UTF-8: it holds a NUL byte (UTF-16 or UTF-32?)"
    pending = len(decoder.getstate()[0])
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError as exc:
        return seen - pending + exc.start, f"the body is not valid UTF-8: {exc.reason}"
    return None

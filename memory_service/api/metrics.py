"""Prometheus metrics, the request id, the access log and the request-size limit, as
plain ASGI middleware."""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from uuid import uuid4

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from memory_service import logs
from memory_service.ports import metrics as meters

access_log = logging.getLogger(logs.ACCESS)
PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
"""Routes polled by orchestrators and scrapers: logged at DEBUG, not INFO."""


class RequestMetrics:
    """Per-app registry: request counts and latencies by route template and status,
    jobs by state, and what the core reports through the ``Meter`` port (registered for
    the process while this object lives): consolidation time, LLM calls and tokens,
    search routes, text-model batch sizes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "memory_http_requests",
            "HTTP requests served",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "memory_http_request_seconds",
            "HTTP request latency in seconds",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.jobs = Gauge(
            "memory_jobs", "Jobs in the jobs table by state", ["state"], registry=self.registry
        )
        self.consolidation_seconds = Histogram(
            "memory_consolidation_seconds",
            "Consolidation jobs run in this process: seconds from extraction to the last write",
            registry=self.registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
        )
        self.llm_calls = Counter(
            "memory_llm_calls",
            "Chat completions made from this process, by purpose",
            ["purpose"],
            registry=self.registry,
        )
        self.llm_tokens = Counter(
            "memory_llm_tokens",
            "Tokens of those completions, as the provider counted them",
            ["kind"],
            registry=self.registry,
        )
        self.search_routes = Counter(
            "memory_search_routes",
            "Searches by the route taken: fast (System 1) or deliberate (System 2)",
            ["route"],
            registry=self.registry,
        )
        self.embed_batch_size = Histogram(
            "memory_embed_batch_size",
            "Texts per call of a local text model (embedder, sparse encoder)",
            registry=self.registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        )
        for kind in ("input", "output"):
            self.llm_tokens.labels(kind)
        for route in ("fast", "deliberate"):
            self.search_routes.labels(route)
        meters.register(self)

    def consolidation(self, seconds: float) -> None:
        self.consolidation_seconds.observe(seconds)

    def llm_call(self, purpose: str, input_tokens: int, output_tokens: int) -> None:
        self.llm_calls.labels(purpose).inc()
        self.llm_tokens.labels("input").inc(max(input_tokens, 0))
        self.llm_tokens.labels("output").inc(max(output_tokens, 0))

    def search_route(self, route: str) -> None:
        self.search_routes.labels(route).inc()

    def embed_batch(self, size: int) -> None:
        self.embed_batch_size.observe(size)


METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""The methods that get a label value of their own; any other is ``other``."""


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


class MetricsMiddleware:
    """Counts and times each request by method, route template and status, and writes
    the access log: one line a request with the same labels, the duration and (through
    the log filter) the request id. Never the raw path: it can hold user ids.

    Every label takes a bounded set of values, whatever the client sends: methods
    outside ``METHODS`` are ``other``, and a path no route matches is ``unmatched``
    (a route that matches the path but not the method keeps its template).
    """

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = method_label(scope["method"])
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(method, template, str(status["code"])).inc()
            self.metrics.latency.labels(method, template).observe(elapsed)
            access_log.log(
                logging.DEBUG if template in PROBES else logging.INFO,
                "%s %s %d %.1fms",
                method,
                template,
                status["code"],
                elapsed * 1000,
                extra={
                    "method": method,
                    "route": template,
                    "status": status["code"],
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )


class RequestIdMiddleware:
    """Every response carries ``x-request-id``: the caller's, when it sent a sane one.
    Every record logged while the request is handled carries it too (``request_id``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers", [])).get(b"x-request-id", b"")
        request_id = given if 0 < len(given) <= 128 and given.isascii() else uuid4().hex.encode()
        scope.setdefault("state", {})["request_id"] = request_id.decode()  # for a 500's body

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"x-request-id", request_id)],
                }
            await send(message)

        with logs.in_request(request_id.decode()):
            await self.app(scope, receive, with_id)


class BodyLimitMiddleware:
    """Answer 413 to a body larger than ``max_bytes``, declared or streamed.

    A streamed body is cut off as soon as it passes the limit: the 413 goes out at
    once and whatever the app answers after that is dropped.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, overrides: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.default = max_bytes
        self.overrides = overrides or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get(scope.get("path", ""), self.default)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, limit)
            return
        state = {"seen": 0, "started": False, "rejected": False}

        async def limited_receive() -> Message:
            message = await receive()
            state["seen"] += len(message.get("body", b""))
            if state["seen"] > limit and not state["rejected"]:
                state["rejected"] = True
                if not state["started"]:
                    await self._reject(send, limit)
                return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["rejected"]:
                return
            state["started"] = state["started"] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state["rejected"]:
                raise

    async def _reject(self, send: Send, limit: int) -> None:
        body: dict[str, Any] = {
            "error": "PayloadTooLarge",
            "detail": f"request body exceeds {limit} bytes",
        }
        raw = json.dumps(body).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": raw})

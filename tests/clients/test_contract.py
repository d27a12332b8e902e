"""The SDK and the server's OpenAPI document agree: paths, request fields, response models.

Every operation the SDK builds is sent with every optional argument set, then looked up
in ``create_app(...).openapi()``: its path and method must exist, the JSON fields and
query parameters it sends must be declared, and the model it parses the answer into must
have the same field names and the same required fields as the declared response schema,
nested models included. A change on either side that breaks the other fails here.
"""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Union, get_args, get_origin
from uuid import UUID

import pytest
from pydantic import BaseModel

from memory_client import _routes as routes
from memory_client import models
from memory_client._base import Call

ID = UUID("00000000-0000-0000-0000-000000000001")
WHEN = datetime(2024, 5, 1, tzinfo=UTC)
SCOPE: dict[str, Any] = {"user_id": "u", "agent_id": "a", "session_id": "s"}
FILTERS: dict[str, Any] = {"AND": [{"user_id": "u"}, {"category": "food"}]}
MESSAGE = models.Message(role="user", content="c", speaker="x", occurred_at=WHEN, metadata={})

SAMPLES: dict[str, Call[Any]] = {
    "add": routes.add(
        [MESSAGE], **SCOPE, run_id="s", metadata={"k": 1}, infer=False, idempotency_key="key"
    ),
    "add_memory": routes.add_memory(
        "t",
        **SCOPE,
        run_id="s",
        metadata={},
        source_episode_ids=[ID],
        valid_from=WHEN,
        valid_to=WHEN,
    ),
    "search": routes.search(
        "q",
        **SCOPE,
        run_id="s",
        filters=FILTERS,
        limit=5,
        top_k=3,
        threshold=0.5,
        preset="hybrid",
        mode="fast",
        since=WHEN,
        until=WHEN,
        kinds=["memory"],
        now=WHEN,
    ),
    "get_all": routes.get_all(
        **SCOPE, run_id="s", filters=FILTERS, limit=5, top_k=3, cursor="c", include_inactive=True
    ),
    "get": routes.get(ID),
    "update": routes.update(ID, "t", text="t", metadata={}, valid_to=WHEN),
    "delete": routes.delete(ID),
    "delete_all": routes.delete_all(**SCOPE, run_id="s"),
    "reset": routes.reset(),
    "history": routes.history(ID),
    "instructions": routes.instructions(),
    "jobs": routes.jobs(**SCOPE, state="failed", cursor="c", limit=5),
    "scopes": routes.scopes(**SCOPE, cursor="c", limit=5),
    "set_instructions": routes.set_instructions("remember diets"),
    "answer": routes.answer(
        "q", **SCOPE, run_id="s", filters=FILTERS, limit=5, preset="hybrid", now=WHEN
    ),
    "context": routes.context(
        **SCOPE, run_id="s", filters=FILTERS, query="q", token_budget=500, now=WHEN
    ),
    "feedback": routes.feedback(ID, 1.0, memory_ids=[ID], feedback_id=None),
    "episodes": routes.episodes(
        **SCOPE,
        run_id="s",
        filters=FILTERS,
        since=WHEN,
        until=WHEN,
        cursor="c",
        limit=5,
        order="desc",
    ),
    "job": routes.job(ID),
    "export": routes.export(**SCOPE),
    "import_": routes.import_([{"type": "header"}]),
}

# Operations whose answer the server's OpenAPI does not describe, and why.
UNDESCRIBED = {
    ("get", "/v1/export"): "a JSON Lines stream (application/x-ndjson), no JSON schema",
}
# SDK response models this comparison does not reach, and why: ImportCounts sits inside
# dict[str, ImportCounts] (OpenAPI additionalProperties), which models_in does not follow;
# the live import tests check it.
UNCHECKED_MODELS = {models.ImportCounts}


@pytest.fixture
def spec(app: Any) -> dict[str, Any]:
    document: dict[str, Any] = app.openapi()
    return document


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def operation(spec: dict[str, Any], call: Call[Any]) -> tuple[str, dict[str, Any]]:
    """The OpenAPI path template and operation that ``call`` is sent to."""
    for template, operations in spec["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, call.path) and call.method.lower() in operations:
            return template, operations[call.method.lower()]
    raise AssertionError(f"the server has no {call.method} {call.path}")


def success_schema(op: dict[str, Any]) -> dict[str, Any] | None:
    for status, response in op["responses"].items():
        if status.startswith("2"):
            content = response.get("content", {}).get("application/json", {})
            schema: dict[str, Any] | None = content.get("schema")
            return schema
    return None


def nested_model(annotation: Any) -> Any:
    """The model (or list of models) inside a field's annotation, else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and nested_model(args[0]) is not None:
        return annotation
    if origin in (Union, types.UnionType):
        found = [nested_model(a) for a in args if a is not type(None)]
        return next((m for m in found if m is not None), None)
    return None


def non_null(schema: dict[str, Any]) -> dict[str, Any]:
    options: list[dict[str, Any]] = schema.get("anyOf", [schema])
    (only,) = (s for s in options if s.get("type") != "null")
    return only


def assert_matches(shape: Any, schema: dict[str, Any], spec: dict[str, Any], at: str) -> None:
    schema = resolve(schema, spec)
    if get_origin(shape) is list:
        assert schema.get("type") == "array", f"{at}: the server does not send a list"
        assert_matches(get_args(shape)[0], schema["items"], spec, f"{at}[]")
        return
    assert issubclass(shape, BaseModel), at
    fields = shape.model_fields
    assert set(fields) == set(schema["properties"]), f"{at}: field names differ"
    required = {name for name, f in fields.items() if f.is_required()}
    assert required == set(schema.get("required", [])), f"{at}: required fields differ"
    for name, f in fields.items():
        inner = nested_model(f.annotation)
        if inner is not None:
            prop = non_null(schema["properties"][name])
            assert_matches(inner, prop, spec, f"{at}.{name}")


def models_in(shape: Any) -> Iterator[type[BaseModel]]:
    if get_origin(shape) is list:
        yield from models_in(get_args(shape)[0])
    elif isinstance(shape, type) and issubclass(shape, BaseModel):
        yield shape
        for f in shape.model_fields.values():
            inner = nested_model(f.annotation)
            if inner is not None:
                yield from models_in(inner)


def test_every_operation_has_a_sample() -> None:
    builders = {
        name
        for name, fn in inspect.getmembers(routes, inspect.isfunction)
        if fn.__module__ == routes.__name__
        and str(inspect.signature(fn).return_annotation).startswith("Call[")
    }
    assert builders == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_requests_match_the_server(name: str, spec: dict[str, Any]) -> None:
    call = SAMPLES[name]
    _, op = operation(spec, call)
    declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
    assert set(call.params or {}) <= declared, "query parameters the server does not take"
    headers = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
    assert {h for h in call.headers if h != "Content-Type"} <= headers
    if call.json is not None:
        body = resolve(op["requestBody"]["content"]["application/json"]["schema"], spec)
        assert set(call.json) <= set(body["properties"]), "body fields the server rejects"
        assert set(call.json) >= set(body.get("required", [])), "required body fields missing"
    if name == "add":
        message = resolve(spec["components"]["schemas"]["MessageIn"], spec)
        assert set(models.Message.model_fields) == set(message["properties"])
        assert set(call.json["messages"][0]) <= set(message["properties"])


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_responses_match_the_server(name: str, spec: dict[str, Any]) -> None:
    call = SAMPLES[name]
    template, op = operation(spec, call)
    schema = success_schema(op)
    if schema is None or ("$ref" not in schema and schema.get("type") != "array"):
        assert (call.method.lower(), template) in UNDESCRIBED, (
            f"{call.method} {template} has no response schema: describe it, or list it"
        )
        return
    assert (call.method.lower(), template) not in UNDESCRIBED, "described now: unlist it"
    assert_matches(call.response, schema, spec, name)


def test_every_response_model_is_checked(spec: dict[str, Any]) -> None:
    described = [
        call
        for call in SAMPLES.values()
        if (call.method.lower(), operation(spec, call)[0]) not in UNDESCRIBED
    ]
    checked = {m for call in described for m in models_in(call.response)}
    every = set(models.ResponseModel.__subclasses__())
    assert every - checked == UNCHECKED_MODELS

"""Import lines (``POST /v1/import``): each record checked field by field with the same
types the REST request models use, so that an import stores nothing the API would have
refused, nothing the API then cannot reach (a scope id ``DELETE /v1/users/...`` cannot
name), and nothing that breaks a later search (a zero vector).

Every line is parsed and validated before anything is stored; the first bad one is a
422 (``InvalidInput``) naming its line number and, where it can, its field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from memory_service.domain.errors import InvalidInput
from memory_service.requests.fields import Metadata, ScopeFields, Strict, Text, UtcTime, non_blank
from memory_service.services.transfer import FORMAT, ORDER, VERSION, ImportRow

EMBEDDING_DIM = 384
"""The vector columns' width in a new store (``db.models.EMBEDDING_DIM``); an import
checks the service embedder's (``parse_lines(dim=...)``), which is its tenant's."""
MAX_EMBEDDING_DIM = 2000
"""The widest vector pgvector's HNSW index takes."""
MIN_NORM, MAX_NORM = 1e-6, 1e6
"""An embedding's Euclidean length must lie in between. Stored embeddings are unit
vectors; pgvector computes cosine in 32-bit floats, where a vector of length 0 (or one
whose squares underflow or overflow) has no direction: its cosine to any query is NaN."""

Finite = Annotated[float, Field(allow_inf_nan=False)]
"""JSON Lines may say NaN or Infinity (and 1e400 parses to one); a vector column refuses
them, and a utility of NaN would make every later answer that shows it unencodable."""
Role = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
"""As ``MessageIn.role``."""
Speaker = Annotated[str, StringConstraints(min_length=1, max_length=128)]
"""As ``MessageIn.speaker``."""
Label = Annotated[str, Field(max_length=32)]
"""Lengths are the columns' own: a longer value is a 422 naming its line, not a 500."""


def has_direction(vector: list[float]) -> list[float]:
    """``vector`` unchanged, or ValueError when its length is outside [MIN_NORM, MAX_NORM]
    (a zero vector above all: cosine similarity to it is undefined)."""
    norm = math.hypot(*vector)
    if not MIN_NORM <= norm <= MAX_NORM:
        raise ValueError(
            f"must have a length (Euclidean norm) between {MIN_NORM:g} and {MAX_NORM:g}, "
            f"not {norm:g}: a zero vector has no direction to compare"
        )
    return vector


def has_width(vector: list[float], info: ValidationInfo) -> list[float]:
    """``vector`` unchanged, or ValueError when it is not of the width the validation
    context names (``dim``; default ``EMBEDDING_DIM``)."""
    dim = int((info.context or {}).get("dim", EMBEDDING_DIM))
    if len(vector) != dim:
        bound = "at least" if len(vector) < dim else "at most"
        raise ValueError(
            f"should have {bound} {dim} items (the width of this service's embeddings), "
            f"not {len(vector)}"
        )
    return vector


Embedding = Annotated[
    list[Finite],
    Field(max_length=MAX_EMBEDDING_DIM),
    AfterValidator(has_width),
    AfterValidator(has_direction),
]


class _Row(Strict):
    """Unknown fields, NUL and lone surrogates in any string are refused (``Strict``)."""

    id: UUID


class _Scoped(ScopeFields):
    """A row with an owner: ids the API accepts (``ScopeId``), at least one of them, as
    every write through the API needs (``Scope.require``)."""

    id: UUID
    created_at: UtcTime | None = None

    @model_validator(mode="after")
    def _owned(self) -> _Scoped:
        if self.scope().is_empty():
            raise ValueError("give at least one of user_id, agent_id, session_id")
        return self


class EpisodeRecord(_Scoped):
    type: Literal["episode"]
    role: Role
    speaker: Speaker | None = None
    text: Text
    occurred_at: UtcTime
    metadata: Metadata
    embedding: Embedding
    utility: Finite = 0.0

    _blank = field_validator("text")(non_blank)


class MemoryRecord(_Scoped):
    type: Literal["memory"]
    text: Text
    metadata: Metadata
    source_episode_ids: list[UUID] = Field(default_factory=list)
    valid_from: UtcTime | None = None
    valid_to: UtcTime | None = None
    status: Literal["active", "superseded", "deleted"] = "active"
    embedding: Embedding
    utility: Finite = 0.0
    updated_at: UtcTime | None = None

    _blank = field_validator("text")(non_blank)


class HistoryRecord(_Row):
    type: Literal["history"]
    memory_id: UUID
    op: Literal["ADD", "UPDATE", "DELETE"]
    old_text: str | None = None
    new_text: str | None = None
    cause: str
    created_at: UtcTime | None = None


class EntityRecord(_Scoped):
    type: Literal["entity"]
    name: str = Field(min_length=1)
    entity_type: Label = "other"
    aliases: list[str] = Field(default_factory=list)
    embedding: Embedding | None = None
    merged_into: UUID | None = None
    updated_at: UtcTime | None = None


class MembershipRecord(_Row):
    type: Literal["membership"]
    entity_id: UUID
    memory_id: UUID | None = None
    episode_id: UUID | None = None
    role: Label = "mention"
    created_at: UtcTime | None = None

    @model_validator(mode="after")
    def _one_edge(self) -> MembershipRecord:
        if (self.memory_id is None) == (self.episode_id is None):
            raise ValueError("give exactly one of memory_id and episode_id")
        return self


MODELS: dict[str, type[BaseModel]] = {
    "episode": EpisodeRecord,
    "memory": MemoryRecord,
    "history": HistoryRecord,
    "entity": EntityRecord,
    "membership": MembershipRecord,
}
LONG_TEXT = ("episode", "memory")
"""Kinds whose ``text`` the API bounds by ``max_text_chars``."""


def parse_lines(
    lines: Iterable[str], *, max_text_chars: int, dim: int = EMBEDDING_DIM
) -> dict[str, list[ImportRow]]:
    """Validate every line before anything is stored; the first bad one is a 422 that
    names its line number (and its field, as ``errors[].loc``, where it can)."""
    grouped: dict[str, list[ImportRow]] = {kind: [] for kind in ORDER}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        raw = _json(number, line)
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind == "header":
            if raw.get("format") != FORMAT or raw.get("version") != VERSION:
                raise InvalidInput({"line": number, "error": "unknown export format or version"})
            continue
        if not isinstance(kind, str) or kind not in MODELS:
            raise InvalidInput({"line": number, "error": f"unknown record type {kind!r:.80}"})
        try:
            model = MODELS[kind].model_validate(raw, context={"dim": dim})
        except ValidationError as exc:
            errors = [{"loc": _loc(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
            raise InvalidInput({"line": number, "errors": errors}) from exc
        values = model.model_dump(exclude={"type"}, exclude_none=True)
        if kind in LONG_TEXT and len(values["text"]) > max_text_chars:
            error = {"loc": ["text"], "msg": f"longer than {max_text_chars} characters"}
            raise InvalidInput({"line": number, "errors": [error]})
        grouped[kind].append(ImportRow(number, values))
    return grouped


def _json(number: int, line: str) -> Any:
    """One line's JSON value. Nesting too deep for the parser is a 422 like bad JSON
    (the types below refuse any nesting deeper than metadata's own limit)."""
    try:
        return json.loads(line)
    except RecursionError:
        error = "not JSON we can read: nested too deeply"
        raise InvalidInput({"line": number, "error": error}) from None
    except ValueError as exc:  # JSONDecodeError, or an integer of over 4300 digits
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise InvalidInput({"line": number, "error": f"not JSON: {message}"}) from exc


def _loc(loc: Iterable[int | str]) -> list[int | str]:
    """A validation error's location, printable: a key holding a lone surrogate (an
    unknown field's name) cannot be encoded in the reply as it is."""
    return [
        p if isinstance(p, int) else p.encode("utf-8", "backslashreplace").decode() for p in loc
    ]

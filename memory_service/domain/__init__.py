"""Entities of the model (frozen dataclasses) and errors."""

from memory_service.domain.errors import (
    ConfigurationError,
    Conflict,
    InvalidInput,
    MemoryServiceError,
    NotFound,
    Unauthorized,
    UpstreamUnavailable,
)
from memory_service.domain.models import (
    ApiKey,
    Candidate,
    Episode,
    EpisodePage,
    Job,
    Memory,
    MemoryChange,
    NewEpisode,
    NewMemory,
    Scope,
    SearchHit,
    SearchQuery,
    SearchResult,
)

__all__ = [
    "ApiKey",
    "Candidate",
    "ConfigurationError",
    "Conflict",
    "Episode",
    "EpisodePage",
    "InvalidInput",
    "Job",
    "Memory",
    "MemoryChange",
    "MemoryServiceError",
    "NewEpisode",
    "NewMemory",
    "NotFound",
    "Scope",
    "SearchHit",
    "SearchQuery",
    "SearchResult",
    "Unauthorized",
    "UpstreamUnavailable",
]

"""memory-client: the Python SDK of memory-service, blocking (``MemoryClient``) and
asyncio (``AsyncMemoryClient``), with typed models and errors."""

from memory_client._async import AsyncMemoryClient
from memory_client._base import RetryPolicy
from memory_client._sync import MemoryClient
from memory_client._version import __version__
from memory_client.errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    ConflictError,
    MemoryServiceError,
    NotFoundError,
    RateLimitError,
    ValidationError,
)
from memory_client.models import (
    AddResult,
    Answer,
    Context,
    ContextTurn,
    Episode,
    EpisodePage,
    FeedbackResult,
    ForgetResult,
    ImportCounts,
    ImportResult,
    Instructions,
    Job,
    Memory,
    MemoryChange,
    MemoryPage,
    Message,
    ResetResult,
    SearchHit,
    SearchResult,
)

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "AddResult",
    "Answer",
    "AsyncMemoryClient",
    "AuthenticationError",
    "ConflictError",
    "Context",
    "ContextTurn",
    "Episode",
    "EpisodePage",
    "FeedbackResult",
    "ForgetResult",
    "ImportCounts",
    "ImportResult",
    "Instructions",
    "Job",
    "Memory",
    "MemoryChange",
    "MemoryClient",
    "MemoryPage",
    "MemoryServiceError",
    "Message",
    "NotFoundError",
    "RateLimitError",
    "ResetResult",
    "RetryPolicy",
    "SearchHit",
    "SearchResult",
    "ValidationError",
    "__version__",
]

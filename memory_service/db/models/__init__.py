"""SQLAlchemy 2 models: the whole schema of every tier, tenant-scoped throughout.

Importing this package registers every table on ``Base.metadata``, which is what
Alembic compares the database against.
"""

from memory_service.db.models.base import (
    EMBEDDING_DIM,
    EPISODE_TSV,
    NAMING,
    SPARSE_DIM,
    TSV,
    Base,
    table_of,
)
from memory_service.db.models.entities import EntityRow, HyperedgeMemberRow
from memory_service.db.models.jobs import JobRow
from memory_service.db.models.memories import EpisodeRow, MemoryHistoryRow, MemoryRow
from memory_service.db.models.retrievals import FeedbackRow, RetrievalRow
from memory_service.db.models.spaces import EmbeddingSpaceRow, ReembedProgressRow
from memory_service.db.models.tenants import ApiKeyRow, IdempotencyRow, Tenant

__all__ = [
    "EMBEDDING_DIM",
    "EPISODE_TSV",
    "NAMING",
    "SPARSE_DIM",
    "TSV",
    "ApiKeyRow",
    "Base",
    "EmbeddingSpaceRow",
    "EntityRow",
    "EpisodeRow",
    "FeedbackRow",
    "HyperedgeMemberRow",
    "IdempotencyRow",
    "JobRow",
    "MemoryHistoryRow",
    "MemoryRow",
    "ReembedProgressRow",
    "RetrievalRow",
    "Tenant",
    "table_of",
]

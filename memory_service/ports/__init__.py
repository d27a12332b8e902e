"""Protocols the core depends on; ``db`` and ``adapters`` implement the providers and
stores, ``retrievers``, ``policies`` and ``services.recall`` the read path's stages."""

from memory_service.ports.providers import (
    LLM,
    ChunkRunner,
    Dispatcher,
    Embedder,
    Extractor,
    SparseEncoder,
    SparseVector,
    UpdateDecider,
)
from memory_service.ports.reembed import EmbedFn, ReembedStore
from memory_service.ports.stages import (
    Deliberator,
    Encoding,
    Fusion,
    Gate,
    Packer,
    PassageBuilder,
    Pool,
    Reranker,
    Retriever,
    Routing,
    Search,
)
from memory_service.ports.stores import (
    CandidateSource,
    EntityRepository,
    EpisodeRepository,
    JobRepository,
    MemoryRepository,
)
from memory_service.ports.uow import (
    FeedbackRepository,
    IdempotencyRepository,
    RetrievalLog,
    ScopeRepository,
    TenantRepository,
    TransferRepository,
    UnitOfWork,
)

__all__ = [
    "LLM",
    "CandidateSource",
    "ChunkRunner",
    "Deliberator",
    "Dispatcher",
    "EmbedFn",
    "Embedder",
    "Encoding",
    "EntityRepository",
    "EpisodeRepository",
    "Extractor",
    "FeedbackRepository",
    "Fusion",
    "Gate",
    "IdempotencyRepository",
    "JobRepository",
    "MemoryRepository",
    "Packer",
    "PassageBuilder",
    "Pool",
    "ReembedStore",
    "Reranker",
    "RetrievalLog",
    "Retriever",
    "Routing",
    "ScopeRepository",
    "Search",
    "SparseEncoder",
    "SparseVector",
    "TenantRepository",
    "TransferRepository",
    "UnitOfWork",
    "UpdateDecider",
]

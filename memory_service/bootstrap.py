"""The composition root: Settings -> the parts that live as long as the process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from uuid import UUID

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from memory_service.adapters.cross_encoder import CrossEncoderScorer
from memory_service.adapters.hash_embedder import HashEmbedder
from memory_service.adapters.hash_sparse import HashSparseEncoder
from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.adapters.prompt_files import (
    EXTRACTION_PROMPT_NAMES,
    UPDATE_PROMPT_NAMES,
    read_prompt_file,
)
from memory_service.adapters.scripted_llm import ScriptedLLM
from memory_service.adapters.splade import SpladeEncoder
from memory_service.config import Settings
from memory_service.db.embedded import start_embedded
from memory_service.db.filters import SearchTuning
from memory_service.db.models import EMBEDDING_DIM
from memory_service.db.session import SETUP_LOCK, make_engine, make_sessionmaker, sync_url
from memory_service.db.uow import Lanes, SqlUnitOfWork, replica_transaction, transaction
from memory_service.domain.errors import ConfigurationError
from memory_service.domain.search import Budget
from memory_service.ports import LLM, ChunkRunner, Dispatcher, Embedder, SparseEncoder
from memory_service.ports.providers import PairScorer
from memory_service.services.consolidate import Consolidator
from memory_service.services.recall import RecallPipeline
from memory_service.services.recall.parts import Parts
from memory_service.services.recall.presets import PRESETS, preset
from policies import learned_gate as learned_gate_model
from policies import value_model
from policies.gate import GateConfig
from policies.learned_gate import LearnedGate
from policies.value_model import ValueModel

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SCRIPTED = "scripted:"
"""``MEMORY_LLM_MODEL=scripted:<path>``: the deterministic test LLM, from a JSON script."""


class _NoDispatch:
    async def dispatch(self, job_ids: Sequence[UUID]) -> None:
        return None


@dataclass(frozen=True)
class Components:
    """The parts that live as long as the process. Frozen: an entrypoint that wires more
    (a worker, Celery's chunk runner: see ``workers.wiring``) gets a copy with them."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    embedder: Embedder
    database_url: str
    embedded_server: Any = None
    dispatcher: Dispatcher = field(default_factory=_NoDispatch)
    """Gets committed jobs to a worker; by default none does (they wait in the table)."""
    llm: LLM | None = None
    chunk_runner: ChunkRunner | None = None
    """Reads Full Deliberation's LLM chunks elsewhere (Celery workers); None: in process."""
    sparse: SparseEncoder | None = None
    """Encodes queries (and, in the consolidation worker, episodes) for the learned-sparse
    list; None leaves that list empty."""
    reranker: PairScorer | None = None
    """The cross-encoder of the ``-ce`` presets (``MEMORY_RERANKER_PATH``); None: they
    refuse searches."""
    replica_engine: AsyncEngine | None = None
    replica_sessions: async_sessionmaker[AsyncSession] | None = None
    """A streaming replica (``MEMORY_DATABASE_REPLICA_URL``) that ``read_uow`` reads
    from; None: reads run on the primary."""
    pool_size: int = 10
    """Connections each engine's pool keeps (as many again may overflow)."""

    @asynccontextmanager
    async def uow(
        self, tenant: UUID | None = None, *, lanes: Lanes | None = None
    ) -> AsyncIterator[SqlUnitOfWork]:
        """One transaction: committed when the block ends, rolled back on error.

        Given a ``tenant``, the transaction runs under row-level security for it (the
        second wall behind every query's tenant filter). Jobs added inside it are
        dispatched only after the commit (the outbox): a worker never sees a job whose
        data is not there yet. An unreachable database raises ``DatabaseUnavailable``.
        ``lanes``: the connections its reads may borrow (a read's; ``read_uow``).
        """
        async with transaction(
            self.sessions, tenant=tenant, tuning=self.tuning, lanes=lanes
        ) as uow:
            yield uow
        if uow.jobs.created:
            await self.dispatcher.dispatch(list(uow.jobs.created))

    @asynccontextmanager
    async def lookup(self) -> AsyncIterator[SqlUnitOfWork]:
        """A unit of work for one read that needs no transaction of its own (an API
        key's lookup, on every request): its statements run in autocommit, each alone,
        without the BEGIN and COMMIT round trips around them. Nothing it does is
        under a tenant's row-level security."""
        async with transaction(self._autocommit) as uow:
            yield uow

    @cached_property
    def _autocommit(self) -> async_sessionmaker[AsyncSession]:
        return make_sessionmaker(self.engine.execution_options(isolation_level="AUTOCOMMIT"))

    @asynccontextmanager
    async def read_uow(self, tenant: UUID) -> AsyncIterator[SqlUnitOfWork]:
        """The unit of work of a read (search, context, answer): with a replica set, a
        read-only transaction there whose retrieval log is then written on the primary,
        in a short transaction of its own; without one, ``uow(tenant)`` itself. Either
        way its reads may borrow the process's spare connections (``lanes``).

        A replica replays the primary's writes a moment later, so a search there may
        miss a write acknowledged just before it. An unreachable replica raises
        ``DatabaseUnavailable`` (nothing falls back to the primary by itself: a replica
        URL naming the primary as a second host does, in the driver)."""
        if self.replica_sessions is None:
            async with self.uow(tenant, lanes=self.lanes) as uow:
                yield uow
            return
        async with replica_transaction(
            self.replica_sessions,
            self.sessions,
            tenant=tenant,
            tuning=self.tuning,
            lanes=self.lanes,
        ) as uow:
            yield uow

    async def load_models(self) -> None:
        """Load the models this process runs itself (embedder, sparse encoder,
        cross-encoder, traced on a CPU; and spaCy, when an in-process worker will
        extract with it) now, in a worker thread, rather than on the first request or
        job, which would wait seconds for them. A model behind an API (litellm) is not
        called."""
        for model in (self.embedder, self.sparse, self.reranker):
            if isinstance(model, LocalEmbedder | SpladeEncoder | CrossEncoderScorer):
                await asyncio.to_thread(model.load)
        if self.llm is None and not self.settings.broker_url:
            from memory_service.adapters.local_extractor import LocalExtractor

            await asyncio.to_thread(LocalExtractor().load)

    @cached_property
    def lanes(self) -> Lanes:
        """The connections reads may borrow to read beside their own (``search_lanes``,
        fewer than the pool holds), from the database they read."""
        pool = self.pool_size * 2  # the pool and as many in overflow
        return Lanes(
            self.replica_sessions or self.sessions, min(self.settings.search_lanes, pool - 1)
        )

    @cached_property
    def tuning(self) -> SearchTuning:
        """The settings' limits on a search's work, which every unit of work takes."""
        s = self.settings
        return SearchTuning(s.hnsw_ef_search, s.sparse_scan_limit, s.text_match_budget)

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.replica_engine is not None:
            await self.replica_engine.dispose()

    @cached_property
    def pipelines(self) -> dict[str, RecallPipeline]:
        """Every preset's read path, built once from these parts (a copy of the
        components with other parts, e.g. a chunk runner, builds its own)."""
        parts = Parts(
            llm=self.llm,
            chunks=self.chunk_runner,
            gate=gate_config(self.settings),
            gate_model=learned_gate(self.settings),
            audit=self.settings.gate_audit,
            sparse=self.sparse,
            reranker=self.reranker,
            value_model=packer_model(self.settings.packer_model),
        )
        return {name: p.build(self.embedder, parts) for name, p in PRESETS.items()}

    def pipeline(self, name: str | None = None) -> RecallPipeline:
        """The named preset's pipeline (none: the settings' default); an unknown name
        is the caller's mistake (InvalidInput)."""
        return self.pipelines[preset(name or self.settings.default_preset).name]

    def budget(self, max_tokens: int | None = None, max_seconds: float | None = None) -> Budget:
        """System 2's budget for one request: what it asks, else the settings'."""
        return Budget(
            max_tokens=max_tokens or self.settings.deliberation_max_tokens,
            max_seconds=max_seconds or self.settings.deliberation_max_seconds,
        )


def gate_config(settings: Settings) -> GateConfig:
    """The gate's pass marks from the settings."""
    return GateConfig(
        relevance=settings.gate_relevance,
        coverage=settings.gate_coverage,
        temporal_fit=settings.gate_temporal_fit,
        consistency=settings.gate_consistency,
    )


def build_llm(settings: Settings) -> LLM | None:
    if not settings.llm_model:
        return None
    if settings.llm_model.startswith(SCRIPTED):  # tests that start other processes
        return ScriptedLLM.from_file(Path(settings.llm_model.removeprefix(SCRIPTED)))
    from memory_service.adapters.litellm_llm import LiteLLM

    return LiteLLM(settings.llm_model, api_base=settings.llm_api_base)


def build_consolidator(
    settings: Settings,
    embedder: Embedder,
    llm: LLM | None = None,
    *,
    sparse: SparseEncoder | None = None,
) -> Consolidator:
    """The LLM extractor and decider when a model is configured, else the local ones;
    with ``sparse``, each job also encodes its episodes for the learned-sparse list."""
    extraction_prompt, update_prompt = prompt_overrides(settings)
    llm = llm or build_llm(settings)
    if llm is not None:
        from memory_service.adapters.llm_decider import LLMDecider
        from memory_service.adapters.llm_extractor import LLMExtractor

        extractor = LLMExtractor(llm, system_prompt=extraction_prompt)
        decider = LLMDecider(llm, system_prompt=update_prompt)
        return Consolidator(embedder, extractor, decider, sparse=sparse)
    from memory_service.adapters.local_extractor import LocalExtractor
    from policies.update_rule import SimilarityDecider

    return Consolidator(embedder, LocalExtractor(), SimilarityDecider(), sparse=sparse)


def prompt_overrides(settings: Settings) -> tuple[str | None, str | None]:
    """The extraction and update prompts from their files, when set (None: packaged);
    ConfigurationError for a file that is unusable, even with no LLM configured."""
    extraction = update = None
    if settings.extraction_prompt_file is not None:
        extraction = read_prompt_file(
            settings.extraction_prompt_file,
            setting="MEMORY_EXTRACTION_PROMPT_FILE",
            required=EXTRACTION_PROMPT_NAMES,
        )
    if settings.update_prompt_file is not None:
        update = read_prompt_file(
            settings.update_prompt_file,
            setting="MEMORY_UPDATE_PROMPT_FILE",
            required=UPDATE_PROMPT_NAMES,
        )
    return extraction, update


def resolve_database_url(settings: Settings) -> tuple[str, Any]:
    """The configured URL, or the embedded server's (started here) when none is set."""
    if settings.database_url:
        return settings.database_url, None
    server, url = start_embedded(
        settings.embedded_pgdata, shared_buffers=settings.embedded_shared_buffers
    )
    return url, server


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = url
    return cfg


def migrate(url: str) -> None:
    """``alembic upgrade head`` against ``url`` (asyncpg or psycopg form), under the
    setup lock: API processes and workers started together migrate one at a time (the
    later ones find the schema at head)."""
    engine = create_engine(sync_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SETUP_LOCK})
            conn.commit()
            try:
                config = alembic_config(sync_url(url))
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SETUP_LOCK})
                conn.commit()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def build_embedder(settings: Settings) -> Embedder:
    """The configured embedder. Its width need not be the store's: a tenant whose vectors
    another model made, or a store of another width, refuses it (``services.spaces``)
    until ``memory-service reembed`` has re-made them."""
    embedder: Embedder
    width = settings.embed_dim or settings.embed_dimensions or EMBEDDING_DIM
    if settings.embedder == "hash":
        embedder = HashEmbedder(width)
    elif settings.embedder == "litellm":
        from memory_service.adapters.litellm_embedder import LiteLLMEmbedder

        key = settings.embed_api_key
        embedder = LiteLLMEmbedder(
            settings.embed_model or "",
            dim=width,
            api_base=settings.embed_api_base,
            api_key=key.get_secret_value() if key else None,
            dimensions=settings.embed_dimensions,
            batch_size=settings.embed_batch_size,
        )
    else:
        embedder = LocalEmbedder(
            device=settings.embed_device,
            batch_size=settings.embed_batch_size,
            query_int8=settings.query_int8 == "all",
        )
        if width != embedder.dim:
            raise ConfigurationError(
                f"the local embedder {embedder.name} gives {embedder.dim}-d vectors, not "
                f"{width}-d: MEMORY_EMBED_DIMENSIONS and MEMORY_EMBED_DIM are for litellm and hash"
            )
    return embedder


def build_sparse(settings: Settings) -> SparseEncoder | None:
    """The learned-sparse encoder the settings name (its model loads on first use)."""
    if settings.sparse_encoder == "none":
        return None
    if settings.sparse_encoder == "hash":
        return HashSparseEncoder()
    encoder = SpladeEncoder(device=settings.embed_device, query_int8=settings.query_int8 != "none")
    encoder.check()  # checked now, loaded on first use: a missing model fails at start
    return encoder


def build_reranker(settings: Settings) -> PairScorer | None:
    """The cross-encoder ``MEMORY_RERANKER_PATH`` names: its files checked now (a
    ConfigurationError at start when missing), the model loaded on first use."""
    if settings.reranker_path is None:
        return None
    return CrossEncoderScorer(settings.reranker_path, device=settings.embed_device)


def build_components(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    run_migrations: bool = True,
    pool_size: int | None = None,
) -> Components:
    """The process's parts; ``pool_size`` overrides ``MEMORY_DB_POOL_SIZE``."""
    prompt_overrides(settings)  # a bad prompt file stops every process at start, API too
    packer_model(settings.packer_model)  # and so does a bad packer model
    url, server = resolve_database_url(settings)
    if run_migrations:
        migrate(url)
    pool_size = pool_size or settings.db_pool_size
    engine = make_engine(url, pool_size=pool_size)
    replica = settings.database_replica_url
    replica_engine = make_engine(replica, pool_size=pool_size) if replica else None
    return Components(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        embedder=embedder or build_embedder(settings),
        llm=build_llm(settings),
        sparse=build_sparse(settings),
        reranker=build_reranker(settings),
        database_url=url,
        embedded_server=server,
        replica_engine=replica_engine,
        replica_sessions=make_sessionmaker(replica_engine) if replica_engine else None,
        pool_size=pool_size,
    )


@cache
def _gate_model(
    path: Path | None, threshold: float | None, share: float | None = None
) -> LearnedGate | None:
    model = learned_gate_model.load(path) if path else learned_gate_model.bundled()
    if model is None:
        return model
    if share is not None:
        if not model.quantiles:
            raise ConfigurationError(
                f"MEMORY_GATE_ESCALATION_SHARE needs a gate model with a quantile table; "
                f"{path or 'the bundled model'} has none (add one: memory-eval gate-quantiles)"
            )
        return model.with_share(share)
    if threshold is None:
        return model
    return replace(model, threshold=threshold)


@cache
def packer_model(path: Path | None) -> ValueModel | None:
    """The packer's model: the file ``path`` names (a missing or malformed one stops the
    start with a message), else the bundled one (None when the package ships none)."""
    if path is None:
        return value_model.bundled()
    try:
        return value_model.load(path)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"MEMORY_PACKER_MODEL: {exc}") from exc


def learned_gate(settings: Settings) -> LearnedGate | None:
    """The learned gate the settings ask for (with their pass mark, or the mark their
    escalation share gives), or None; read and checked once per model file and mark,
    not per request."""
    if not settings.gate_learned:
        return None
    share = settings.gate_escalation_share
    if "gate_escalation_share" not in settings.model_fields_set:
        model = _gate_model(settings.gate_model, settings.gate_learned_threshold)
        if model is None or not model.quantiles:
            return model  # the default share needs a quantile table; a set one insists
    return _gate_model(settings.gate_model, settings.gate_learned_threshold, share)

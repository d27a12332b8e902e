"""The composition root: Settings -> the parts that live as long as the process."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from uuid import UUID

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from memory_service.adapters.local_embedder import LocalEmbedder
from memory_service.config import Settings
from memory_service.db.embedded import start_embedded
from memory_service.db.models import EMBEDDING_DIM
from memory_service.db.session import enter_tenant, make_engine, make_sessionmaker, sync_url
from memory_service.db.uow import SqlUnitOfWork
from memory_service.domain.errors import ConfigurationError
from memory_service.ports import LLM, ChunkRunner, Dispatcher, Embedder
from memory_service.services.consolidate import Consolidator
from memory_service.services.recall import Mode, RecallOptions
from memory_service.testing import HashEmbedder, ScriptedLLM
from policies import learned_gate as learned_gate_model
from policies.gate import GateConfig
from policies.learned_gate import LearnedGate
from retrievers.deliberation import Budget

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SCRIPTED = "scripted:"
"""``MEMORY_LLM_MODEL=scripted:<path>``: the deterministic test LLM, from a JSON script."""


@dataclass
class Components:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    embedder: Embedder
    database_url: str
    embedded_server: Any = None
    dispatcher: Dispatcher = field(default_factory=lambda: _NoDispatch())
    llm: LLM | None = None
    chunk_runner: ChunkRunner | None = None
    """Reads Full Deliberation's LLM chunks elsewhere (Celery workers); None: in process."""

    @asynccontextmanager
    async def uow(self, tenant: UUID | None = None) -> AsyncIterator[SqlUnitOfWork]:
        """One transaction: committed when the block ends, rolled back on error.

        Given a ``tenant``, the transaction runs under row-level security for it (the
        second wall behind every query's tenant filter). Jobs added inside it are
        dispatched only after the commit (the outbox): a worker never sees a job whose
        data is not there yet.
        """
        async with self.sessions() as session, session.begin():
            if tenant is not None:
                await enter_tenant(session, tenant)
            uow = SqlUnitOfWork(session, ef_search=self.settings.hnsw_ef_search)
            yield uow
        if uow.jobs.created:
            await self.dispatcher.dispatch(list(uow.jobs.created))

    async def dispose(self) -> None:
        await self.engine.dispose()

    def recall_options(
        self,
        *,
        mode: Mode = "auto",
        now: datetime | None = None,
        max_tokens: int | None = None,
        max_seconds: float | None = None,
    ) -> RecallOptions:
        """Per-request recall knobs, with the gate's thresholds from the settings."""
        s = self.settings
        gate = GateConfig(
            relevance=s.gate_relevance,
            coverage=s.gate_coverage,
            temporal_fit=s.gate_temporal_fit,
            consistency=s.gate_consistency,
        )
        budget = Budget(
            max_tokens=max_tokens or s.deliberation_max_tokens,
            max_seconds=max_seconds or s.deliberation_max_seconds,
        )
        return RecallOptions(
            mode=mode,
            now=now,
            llm=self.llm,
            chunks=self.chunk_runner,
            gate=gate,
            gate_model=learned_gate(s),
            audit=s.gate_audit,
            budget=budget,
        )

    async def start_worker(self) -> Any:
        """With a broker, jobs go to Celery; without one, to an in-process worker
        started here. Returns the in-process worker (to stop), or None."""
        if self.settings.broker_url:
            from workers.celery_app import app
            from workers.dispatch import CeleryDispatcher

            self.dispatcher = CeleryDispatcher(app)
            return None
        from workers.dispatch import InProcessWorker

        worker = InProcessWorker(self, build_consolidator(self.settings, self.embedder))
        self.dispatcher = worker
        worker.start()
        return worker


class _NoDispatch:
    async def dispatch(self, job_ids: Sequence[UUID]) -> None:
        return None


def build_llm(settings: Settings) -> LLM | None:
    if not settings.llm_model:
        return None
    if settings.llm_model.startswith(SCRIPTED):  # tests that start other processes
        return ScriptedLLM.from_file(Path(settings.llm_model.removeprefix(SCRIPTED)))
    from memory_service.adapters.litellm_llm import LiteLLM

    return LiteLLM(settings.llm_model, api_base=settings.llm_api_base)


def build_chunk_runner(settings: Settings) -> ChunkRunner | None:
    """Celery workers read Full Deliberation's chunks when a broker is configured (and
    ``deliberation_workers`` is on); otherwise the API process reads them itself."""
    if not (settings.broker_url and settings.deliberation_workers):
        return None
    from workers.celery_app import make_app
    from workers.chunks import CeleryChunkRunner

    return CeleryChunkRunner(make_app(settings, current=False))


def build_consolidator(
    settings: Settings, embedder: Embedder, llm: LLM | None = None
) -> Consolidator:
    """The LLM extractor and decider when a model is configured, else the local ones."""
    llm = llm or build_llm(settings)
    if llm is not None:
        from memory_service.adapters.llm_extractor import LLMDecider, LLMExtractor

        return Consolidator(embedder, LLMExtractor(llm), LLMDecider(llm))
    from memory_service.adapters.local_extractor import LocalExtractor
    from policies.update_rule import SimilarityDecider

    return Consolidator(embedder, LocalExtractor(), SimilarityDecider())


def resolve_database_url(settings: Settings) -> tuple[str, Any]:
    """The configured URL, or the embedded server's (started here) when none is set."""
    if settings.database_url:
        return settings.database_url, None
    server, url = start_embedded(settings.embedded_pgdata)
    return url, server


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = url
    return cfg


def migrate(url: str) -> None:
    """``alembic upgrade head`` against ``url`` (asyncpg or psycopg form)."""
    command.upgrade(alembic_config(sync_url(url)), "head")


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def build_embedder(settings: Settings) -> Embedder:
    embedder: Embedder
    if settings.embedder == "hash":
        embedder = HashEmbedder(EMBEDDING_DIM)
    else:
        embedder = LocalEmbedder(device=settings.embed_device, batch_size=settings.embed_batch_size)
    if embedder.dim != EMBEDDING_DIM:
        raise ConfigurationError(
            f"embedder {embedder.name} gives {embedder.dim}-d vectors; the schema holds "
            f"{EMBEDDING_DIM}-d"
        )
    return embedder


def build_components(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    run_migrations: bool = True,
    pool_size: int = 10,
) -> Components:
    url, server = resolve_database_url(settings)
    if run_migrations:
        migrate(url)
    engine = make_engine(url, pool_size=pool_size)
    return Components(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        embedder=embedder or build_embedder(settings),
        llm=build_llm(settings),
        chunk_runner=build_chunk_runner(settings),
        database_url=url,
        embedded_server=server,
    )


@cache
def _gate_model(path: Path | None, threshold: float | None) -> LearnedGate | None:
    model = learned_gate_model.load(path) if path else learned_gate_model.bundled()
    if model is None or threshold is None:
        return model
    return replace(model, threshold=threshold)


def learned_gate(settings: Settings) -> LearnedGate | None:
    """The learned gate the settings ask for (with their pass mark), or None; read and
    checked once per model file and mark, not per request."""
    if not settings.gate_learned:
        return None
    return _gate_model(settings.gate_model, settings.gate_learned_threshold)

"""Settings: the only place the environment is read."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BUFFERS_SIZE = r"[1-9][0-9]{0,8}(kB|MB|GB)"
"""A size as PostgreSQL reads it, in the units ``shared_buffers`` takes."""


class Settings(BaseSettings):
    """Every knob of the service; environment variables are prefixed ``MEMORY_``."""

    model_config = SettingsConfigDict(env_prefix="MEMORY_", env_file=None, extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL 15+ with pgvector; unset starts the embedded server.",
    )
    database_replica_url: str | None = Field(
        default=None,
        description="a streaming replica of that database (same URL forms): search and "
        "context read there, in read-only transactions; every write, the search log "
        "included, stays on the primary. Unset: everything runs on the primary.",
    )
    db_pool_size: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="database connections each API process keeps (as many again may "
        "overflow); a request waiting on the model holds one",
    )
    search_lanes: int = Field(
        default=2,
        ge=0,
        le=64,
        description="connections of the pool a search may take beside its own, so that "
        "its candidate lists read at once (taken only when free, never waited for; at "
        "most this many at a time in the whole process; 0: one connection a search)",
    )
    data_dir: Path = Field(default=Path(".memory-data"))
    embedded_shared_buffers: str = Field(
        default="auto",
        pattern=rf"^(auto|{BUFFERS_SIZE})$",
        description="the embedded PostgreSQL's shared_buffers: 'auto' (a quarter of the "
        "memory, 128MB to 4GB) or a size such as 2GB; a new size takes effect when the "
        "server next starts",
    )
    embedded_watch_s: float = Field(
        default=1.0,
        ge=0,
        description="`serve` and `mcp` look at the embedded PostgreSQL this often (seconds) "
        "and start it again if it died, retrying after 0.5 s doubling to 30 s; 0: no watch",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)

    embedder: Literal["local", "hash", "litellm"] = Field(
        default="local",
        description="local: all-MiniLM-L6-v2 on this machine; litellm: MEMORY_EMBED_MODEL "
        "through litellm; hash: tests only",
    )
    embed_model: str | None = Field(
        default=None,
        description="with MEMORY_EMBEDDER=litellm, the litellm model name "
        "(openai/text-embedding-3-small, ollama/all-minilm, openai/<name> for any "
        "OpenAI-compatible server at MEMORY_EMBED_API_BASE)",
    )
    embed_api_base: str | None = Field(
        default=None, description="the embedding server's URL (vLLM, TEI, Ollama, a proxy)"
    )
    embed_api_key: SecretStr | None = Field(
        default=None, description="unset: the provider's own variable (OPENAI_API_KEY, ...)"
    )
    embed_dimensions: int | None = Field(
        default=None,
        ge=1,
        description="the width asked of the model (text-embedding-3 can shorten its "
        "vectors), which is then the embedder's width; with MEMORY_EMBEDDER=hash, its width",
    )
    embed_dim: int | None = Field(
        default=None,
        ge=1,
        le=2000,
        description="with MEMORY_EMBEDDER=litellm, the width of the model's vectors when it "
        "is not asked for one (768 for ollama/nomic-embed-text); unset: "
        "MEMORY_EMBED_DIMENSIONS, else 384. A store holds one width: a new one takes "
        "`memory-service reembed`. At most 2000 (pgvector's HNSW limit)",
    )
    embed_device: str | None = Field(default=None, description="cpu, cuda; None picks.")
    embed_batch_size: int = Field(default=64, ge=1, le=4096)
    query_int8: Literal["none", "sparse", "all"] = Field(
        default="sparse",
        description="which local models encode search queries through an int8 copy on a "
        "CPU (stored texts keep fp32 vectors): sparse (SPLADE), all (MiniLM too: faster, "
        "LoCoMo recall within 0.004 either way), none; the others encode queries with the "
        "fp32 model in ONNX Runtime, the same vectors (see the README's Scale)",
    )
    sparse_encoder: Literal["splade", "hash", "none"] = Field(
        default="splade",
        description="the learned-sparse encoder of episodes (encoded by the consolidation "
        "worker) and queries; none leaves the sparse list empty",
    )
    reranker_path: Path | None = Field(
        default=None,
        description="a cross-encoder reranker's folder (trained by evals/train_reranker.py); "
        "presets ending in -ce rerank with it and refuse searches without it. Checked at start",
    )

    llm_model: str | None = Field(
        default=None,
        description="litellm model name; unset means local methods only. For tests only: "
        "`scripted:<path to a JSON script>` is the deterministic ScriptedLLM "
        "(memory_service.testing).",
    )
    llm_api_base: str | None = None
    extraction_prompt_file: Path | None = Field(
        default=None,
        description="a UTF-8 file that replaces the packaged fact-extraction system prompt "
        "of the LLM extractor; it must still ask for the JSON reply the service parses "
        '("facts", "message_ids", "messages"). Checked at start.',
    )
    update_prompt_file: Path | None = Field(
        default=None,
        description="a UTF-8 file that replaces the packaged update-decision (ADD, UPDATE, "
        'DELETE, NOOP) system prompt of the LLM decider; it must ask for "op", "id" and '
        '"text". Checked at start.',
    )

    api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("api_key", "MEMORY_SERVICE_API_KEY", "MEMORY_API_KEY"),
        description="the key `memory-service mcp` runs as over stdio: MEMORY_SERVICE_API_KEY, "
        "the name the SDK reads too (MEMORY_API_KEY also works)",
    )
    mcp_port: int = Field(default=8081, ge=1, le=65535)
    mcp_default_user_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:@\-]+$",
        description="the user_id an MCP tool call uses when it names no user, agent or session",
    )

    broker_url: str | None = Field(
        default=None, description="redis://...; unset runs jobs in an in-process worker."
    )
    job_stale_after_s: float = Field(default=120.0, gt=0)
    job_sweep_interval_s: float = Field(default=15.0, gt=0)
    job_max_attempts: int = Field(default=5, ge=1)
    job_retry_base_s: float = Field(default=2.0, gt=0)
    result_backend_url: str | None = Field(
        default=None,
        description="where workers put Full Deliberation's chunk replies; unset: the broker.",
    )
    deliberation_workers: bool = Field(
        default=True,
        description="with a broker, Full Deliberation's LLM chunks are read by the workers.",
    )

    max_batch_messages: int = Field(default=500, ge=1)
    max_text_chars: int = Field(default=32_000, ge=1)
    max_query_chars: int = Field(
        default=8_000,
        ge=1,
        description="longest search query, question or context focus (characters); "
        "a longer one is a 422",
    )
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_limit: int = Field(default=100, ge=1)
    rate_limit_per_minute: int = Field(
        default=6000, ge=0, description="requests a minute per API key; 0 turns limits off"
    )
    rate_limit_burst: int = Field(default=300, ge=1)
    rate_limit_tenant_per_minute: int | None = Field(
        default=None,
        ge=0,
        description="requests a minute per tenant, all its keys together; unset: as per key",
    )
    rate_limit_tenant_burst: int | None = Field(default=None, ge=1, description="unset: as per key")
    auth_failures_per_minute: int = Field(
        default=30,
        ge=0,
        description="failed authentications a minute per client address; past them its "
        "requests get 429 before their key is checked; 0 turns this off",
    )
    auth_failures_burst: int = Field(default=10, ge=1)
    max_import_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)

    default_preset: str = Field(
        default="sparse-value2", description="preset used when a search names none"
    )
    gate_relevance: float = Field(default=0.45, ge=0, le=1)
    gate_coverage: float = Field(default=0.5, ge=0, le=1)
    gate_temporal_fit: float = Field(default=0.5, ge=0, le=1)
    gate_consistency: float = Field(default=0.5, ge=0, le=1)
    gate_audit: bool = Field(
        default=True,
        description="with an LLM, audit a fast result's answerability before returning it",
    )
    gate_learned: bool = Field(
        default=True, description="route by the learned gate (else by the hand-set marks)"
    )
    gate_model: Path | None = Field(
        default=None, description="a learned gate model (JSON); unset: the bundled one"
    )
    packer_model: Path | None = Field(
        default=None,
        description="the model of the packer by value per token (JSON); unset: the bundled one",
    )
    gate_learned_threshold: float | None = Field(
        default=None, ge=0, le=1, description="pass mark of the learned gate; unset: the model's"
    )
    gate_escalation_share: float | None = Field(
        default=0.25,
        gt=0,
        le=1,
        description="the learned gate as a budget: its pass mark is the quantile of its "
        "probability at this share (in (0, 1]) of the model's calibration sample, so about "
        "this share of searches escalates; a pass mark set above replaces the default, and "
        "a model without a quantile table keeps its own pass mark unless a share is set",
    )
    deliberation_max_tokens: int = Field(default=250_000, ge=1000)
    deliberation_max_seconds: float = Field(default=60.0, gt=0)
    hnsw_ef_search: int = Field(default=100, ge=1, le=1000)
    text_match_budget: int = Field(
        default=5_000,
        ge=1,
        description="in a scope of more rows, full-text search leaves out the query's "
        "commonest terms while the rest would match more rows than this",
    )
    sparse_scan_limit: int = Field(
        default=10_000,
        ge=1,
        description="the learned-sparse list scores at most the scope's this many most "
        "recent encoded episodes (exact within them; older ones are found by the other lists)",
    )

    log_level: str = "INFO"
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto",
        description="json: one JSON object a line; text: for people; auto: json unless "
        "stderr is a terminal",
    )

    @field_validator("database_url", "database_replica_url")
    @classmethod
    def _async_driver(cls, value: str | None) -> str | None:
        if not value:
            return None
        for prefix in ("postgresql://", "postgres://", "postgresql+psycopg://"):
            if value.startswith(prefix):
                return "postgresql+asyncpg://" + value[len(prefix) :]
        return value

    @model_validator(mode="after")
    def _one_pass_mark(self) -> Settings:
        if self.gate_learned_threshold is None:
            return self
        if "gate_escalation_share" in self.model_fields_set and self.gate_escalation_share:
            raise ValueError(
                "set MEMORY_GATE_LEARNED_THRESHOLD or MEMORY_GATE_ESCALATION_SHARE, not both"
            )
        self.gate_escalation_share = None  # an explicit pass mark replaces the default share
        return self

    @property
    def embedded_pgdata(self) -> Path:
        return (self.data_dir / "pg").resolve()

    @property
    def api_key_file(self) -> Path:
        return self.data_dir / "api_key"

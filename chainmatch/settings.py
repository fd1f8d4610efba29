"""The one place configuration is read: ``CHAINMATCH_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

_REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAINMATCH_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("./var"), description="SQLite file, indexes and fitted models live here")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL, e.g. postgresql+psycopg://u:p@host/db; default SQLite in data_dir"
    )
    encoder: str = Field(
        "static",
        description="'static' = offline encoder fitted on the ingested corpus; or a sentence-transformers "
        "model name/path (e.g. BAAI/bge-small-zh-v1.5 where a model hub is reachable)",
    )
    query_prompt: str | None = None
    passage_prompt: str | None = None
    ranker_path: Path | None = Field(None, description="trained ranker; default: the shipped artifact")

    # API limits: every list and every bulk call is capped.
    max_page_size: int = 200
    default_page_size: int = 50
    max_k: int = 100
    max_bulk_records: int = 5000
    max_body_bytes: int = 20 * 1024 * 1024
    max_gap_items: int = 200
    sqlite_busy_timeout_ms: int = 30_000
    rate_limit_per_minute: int = Field(1200, description="per API key and process; 0 disables")
    rate_limit_burst: int = 100
    max_batch_queries: int = Field(1000, ge=1, description="queries per POST /v1/match/batch call")
    batch_queries_per_charge: int = Field(
        10, ge=1, description="a batch call costs ceil(queries / this) rate-limit tokens (at most the burst)"
    )

    # Dashboard (served at /): logins are opaque server-side sessions; see chainmatch/websessions.py.
    session_hours: int = Field(12, ge=1, le=24 * 30, description="dashboard login lifetime")
    cookie_secure: bool = Field(
        False, description="mark the dashboard session cookie Secure: set it when served over HTTPS"
    )

    min_match_score: float = Field(
        0.10,
        ge=0,
        le=1,
        description="results scoring below this (0..1) are not returned: an empty list means nobody in "
        "scope really makes it (bench/score_floor.py); requests may set their own",
    )

    # Sharded serving on Ray (docs/scaling.md): 1 = one in-process engine, Ray not imported.
    shards: int = Field(1, ge=1, le=256, description="index shards, each a Ray actor; 1 = no Ray")
    ray_address: str = Field(
        "", description="Ray cluster to join (e.g. ray://head:10001 or head:6379); empty: start a local Ray"
    )

    log_level: str = "INFO"
    sample_dir: Path = Field(_REPO_ROOT / "data" / "sample", description="the bundled sample cluster (demo)")
    alias_dir: Path = Field(
        _REPO_ROOT / "data" / "aliases",
        description="the shipped alias tables (curated.tsv, cedict.tsv): PMT → 光电倍增管, NaOH → 氢氧化钠 …",
    )

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'chainmatch.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """Settings of this process, read once. Tests build their own ``Settings`` and pass it in."""
    return Settings()

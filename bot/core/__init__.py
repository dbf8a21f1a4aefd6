"""The answer core: question → Answer. No Telegram, no web server, no templates, no settings."""

from bot.core.answer import Core, Limits
from bot.core.models import Answer, Kind

__all__ = ["Answer", "Core", "Kind", "Limits"]

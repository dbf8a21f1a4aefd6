"""Knowledge updates without a restart: validate, build in the background, swap atomically."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from bot.core.answer import Core
from bot.knowledge.model import KnowledgeError, Problem

log = logging.getLogger(__name__)


class CoreHolder:
    """Holds the live core. An answer takes `holder.core` once, so a swap never disturbs it."""

    def __init__(self, core: Core, loader: Callable[[], Core]) -> None:
        self.core = core
        self._loader = loader
        self._lock = asyncio.Lock()

    async def reload(self) -> list[Problem]:
        """Load the knowledge again; on success swap it in, else keep the old one. Returns the problems."""
        async with self._lock:
            try:
                new = await asyncio.to_thread(self._loader)
            except KnowledgeError as e:
                for problem in e.problems:
                    log.error("reload refused: %s", problem)
                return e.problems
            except Exception as e:  # noqa: BLE001 - an unreadable directory must not stop the bot
                log.exception("reload failed")
                return [Problem("knowledge", 0, f"reload failed: {e.__class__.__name__}: {e}")]
            self.core = new
            log.info("knowledge reloaded: %d documents, %d passages", len(new.documents), len(new.kb.passages))
            return []

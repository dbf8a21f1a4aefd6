"""Every test here starts the bot in a subprocess and talks to it over real HTTP: marked `e2e`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import bundled_knowledge
from bot.core.answer import Core

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session", autouse=True)
def bundled_index() -> None:
    """Build the bundled knowledge base's saved indexes once, where every bot looks for them (beside
    the knowledge), unless they are current. A saved index goes stale when the knowledge or the code
    that shapes it changes; each bot started here would then embed every passage again at start-up."""
    Core.load(bundled_knowledge())

"""An ingested Russian PDF answers English and Russian questions through `csto-bot ask`, its
quotations located by printed page (`p. 47`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ingest import fixtures
from tests.ingest.conftest import write

pytestmark = pytest.mark.slow  # each test runs the CLI in a fresh interpreter (the encoder loads each time)


@pytest.fixture
def with_article(ingest, kb: Path, font: Path, tmp_path: Path) -> Path:
    pdf = write(tmp_path, "article.pdf", fixtures.russian_pdf(font))
    assert ingest("--knowledge", kb, pdf, "--id", "ivanova-2025-southern-borders").rc == 0
    return kb


def ask(kb: Path, question: str, tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("KNOWLEDGE_DIR", "INDEX_DIR", "TELEGRAM_BOT_TOKEN")}
    env["INDEX_DIR"] = str(tmp_path / "index")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", "--knowledge", str(kb), question],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


@pytest.mark.parametrize(
    ("question", "locator", "words"),
    [
        (
            "What threats come from the Tajikistan–Afghanistan border to CSTO members?",
            "p. 47",
            "Граница Таджикистана с Афганистаном",
        ),
        ("Какие угрозы исходят с границы Таджикистана с Афганистаном?", "p. 47", "Граница Таджикистана с Афганистаном"),
        ("Когда был подписан Договор о коллективной безопасности?", "p. 48, note 1", "подписан 15 мая 1992 года"),
        # A title in capitals, its words bridged as common words (Treaty → договор), not taken for names.
        ("When was the Collective Security Treaty signed?", "p. 48, note 1", "подписан 15 мая 1992 года"),
    ],
)
def test_ask_quotes_the_page(with_article: Path, tmp_path: Path, question: str, locator: str, words: str) -> None:
    answer = ask(with_article, question, tmp_path)
    assert answer["answered"], answer
    mine = [q for q in answer["quotes"] if q["source"]["id"] == "ivanova-2025-southern-borders"]
    assert mine, answer["quotes"]
    assert any(q["locator"] == locator and words in q["text"] for q in mine), mine
    source = mine[0]["source"]
    assert source["citation"].startswith("Иванова А. С. Угрозы безопасности на южных рубежах ОДКБ")


def test_console_text_shows_the_page(with_article: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("KNOWLEDGE_DIR", "TELEGRAM_BOT_TOKEN")}
    env["INDEX_DIR"] = str(tmp_path / "index")
    question = "What threats come from the Tajikistan–Afghanistan border to CSTO members?"
    command = [sys.executable, "-m", "bot", "ask", "--knowledge", str(with_article), question]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=True)
    assert "— [1] p. 47" in done.stdout

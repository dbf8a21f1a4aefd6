"""An ingested Russian PDF through the real bot over HTTP, against the Bot API double: English and
Russian questions are answered with its printed page (p. 47), and Cite gives its own line, APA and ГОСТ."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import bundled_knowledge
from tests.ingest import fixtures
from tests.support.botproc import BotProcess
from tests.support.tgdouble import TelegramDouble, checked_double

pytest.importorskip("pypdfium2", reason="the ingest extra is not installed: pip install -e '.[test,ingest]'")
pytest.importorskip("fpdf", reason="fpdf2 (test extra) makes the PDF fixture")

USER = 7301
DOC = "ivanova-2025-southern-borders"


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    font = fixtures.font_path()
    if font is None:
        pytest.skip("no DejaVu Sans font (Debian's fonts-dejavu-core) to make the PDF fixture with")
    root = tmp_path_factory.mktemp("ingested")
    kb = root / "knowledge"
    kb.mkdir()
    for path in bundled_knowledge().iterdir():
        if path.suffix in (".md", ".yaml"):
            shutil.copy(path, kb / path.name)
    pdf = root / "article.pdf"
    pdf.write_bytes(fixtures.russian_pdf(font))
    assert main(["ingest", "--knowledge", str(kb), str(pdf), "--id", DOC]) == 0
    return kb


tg = pytest.fixture(checked_double, scope="module")


@pytest.fixture(scope="module")
def bot(tg: TelegramDouble, knowledge: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    workdir = tmp_path_factory.mktemp("bot")
    with BotProcess(tg, workdir, KNOWLEDGE_DIR=str(knowledge), RATE_LIMIT_PER_MINUTE="0") as proc:
        yield proc
    assert "Traceback" not in proc.output(), proc.output()


@pytest.mark.parametrize(
    ("question", "locator", "words"),
    [
        ("What threats come from the Tajikistan–Afghanistan border to CSTO members?", "p. 47", "остаётся главным направлением"),
        ("Какие угрозы исходят с границы Таджикистана с Афганистаном?", "p. 47", "остаётся главным направлением"),
        ("When was the Collective Security Treaty signed?", "p. 48, note 1", "подписан 15 мая 1992 года"),
    ],
)
def test_the_ingested_pdf_answers_with_its_page(
    tg: TelegramDouble, bot: BotProcess, question: str, locator: str, words: str
) -> None:
    mark = tg.mark()
    tg.private_text(USER, question)
    call = tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == USER, after=mark, timeout=30)
    message = next(m for m in tg.sent_messages(USER) if m.message_id == call.result["message_id"])
    assert words in message.text and f"— [1] {locator}" in message.text, message.text
    assert message.reply_markup is not None
    data = {b["text"]: b["callback_data"] for row in message.reply_markup["inline_keyboard"] for b in row}
    cite = next(v for k, v in data.items() if k.startswith(("Cite [1]", "Цитировать [1]")))
    mark = tg.mark()
    tg.callback(USER, USER, message.message_id, cite)
    reply = tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == USER, after=mark)
    text = reply.params["text"]
    assert "Иванова А. С. Угрозы безопасности на южных рубежах ОДКБ // Новизна." in text
    assert "<b>APA</b>\n<code>Иванова, А. С. (2025)." in text and "<b>ГОСТ Р 7.0.5-2008</b>" in text

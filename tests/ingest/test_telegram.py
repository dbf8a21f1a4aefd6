"""The ingested Russian PDF through the Telegram handlers in-process (real Updates, a fake Bot API
whose every message is checked by the HTML oracle): the quotation carries its page, and Cite gives
the PDF's own citation line, APA and ГОСТ."""

from __future__ import annotations

from pathlib import Path

from bot.core.answer import Core
from tests.ingest import fixtures
from tests.ingest.conftest import write
from tests.support.fakebot import FakeRequest, InProcessBot
from tests.tg.test_handlers import _buttons, drive

USER = 4242


def test_ingested_pdf_in_telegram(ingest, kb: Path, font: Path, tmp_path: Path) -> None:
    pdf = write(tmp_path, "article.pdf", fixtures.russian_pdf(font))
    assert ingest("--knowledge", kb, pdf, "--id", "ivanova-2025-southern-borders").rc == 0
    core = Core.load(kb, index_dir=tmp_path / "index")

    async def scenario(bot: InProcessBot, tg: FakeRequest) -> None:
        for question in (
            "What threats come from the Tajikistan–Afghanistan border to CSTO members?",
            "Какие угрозы исходят с границы Таджикистана с Афганистаном?",
        ):
            mark = await bot.send(bot.private(USER, question))
            sent = tg.of("sendMessage", USER, after=mark)
            text = " ".join(c.params["text"] for c in sent)
            assert "остаётся главным направлением" in text and "— [1] p. 47" in text, text
        buttons = _buttons(next(c for c in reversed(sent) if c.params.get("reply_markup")))
        cite = next(v for k, v in buttons.items() if k.startswith(("Cite [1]", "Цитировать [1]")))
        mark = await bot.send(bot.callback(USER, USER, cite))
        text = tg.of("sendMessage", USER, after=mark)[0].params["text"]
        assert "<code>Иванова А. С. Угрозы безопасности на южных рубежах ОДКБ // Новизна." in text
        assert "<b>APA</b>\n<code>Иванова, А. С. (2025)." in text
        assert "<b>ГОСТ Р 7.0.5-2008</b>" in text

    drive(core, scenario)

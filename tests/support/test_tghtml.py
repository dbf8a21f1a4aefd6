"""The test-only HTML oracle: Telegram's refusals that Telethon lets through, and agreement with bot.tg.html."""

from __future__ import annotations

import pytest

from bot.core.answer import Core
from bot.render import render_html_blocks
from bot.tg.html import parse_html
from tests.support.tghtml import HtmlRefused, telegram_parse


@pytest.mark.parametrize(
    "html", ["<b>open", "<p>x</p>", "<b>x</i>", "a < b", "x</b>", "AT&T", "&nbsp;", '<a hreff="x">l</a>', "<b>" * 3]
)
def test_refuses_what_telegram_refuses(html: str) -> None:
    with pytest.raises(HtmlRefused):
        telegram_parse(html)


def test_entities_and_utf16_offsets() -> None:
    text, entities = telegram_parse('👍 <b>a &amp; b</b> <blockquote expandable>q</blockquote> <a href="https://x.org">l</a>')
    assert text == "👍 a & b q l"
    assert entities == [
        {"type": "bold", "offset": 3, "length": 5},
        {"type": "expandable_blockquote", "offset": 9, "length": 1},
        {"type": "text_link", "offset": 11, "length": 1, "url": "https://x.org"},
    ]


@pytest.mark.parametrize("question", ["Who are the members of the CSTO?", "Кто написал статью об ОДКБ?", "hello"])
def test_agrees_with_the_bots_parser_on_real_answers(core: Core, question: str) -> None:
    for block in render_html_blocks(core.answer(question)):
        text, entities = telegram_parse(block)
        ours = parse_html(block)
        assert text == ours.text
        assert [(e["type"], e["offset"], e["length"]) for e in entities] == [(e.type, e.offset, e.length) for e in ours.entities]

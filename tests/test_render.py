"""Golden files for rendered answers: `UPDATE_GOLDEN=1 make test` rewrites them after a deliberate change."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.core.answer import Core
from bot.core.models import Answer, Kind, Quote, Source
from bot.render import render_citation_html, render_html, render_html_blocks, render_passage, render_sources, render_text
from bot.tg.html import parse_html

GOLDEN = Path(__file__).parent / "golden"
CASES = {
    "members": "Who are the members of the CSTO?",
    "russian": "Кто написал статью об ОДКБ и санкциях?",
    "abstain": "Who won the 2018 World Cup?",
    "help": "hello",
}


def _golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual + "\n", encoding="utf-8")
    elif not path.exists():
        pytest.fail(f"golden file {path} is missing: create it with UPDATE_GOLDEN=1 make test, then review and commit it")
    assert actual + "\n" == path.read_text(encoding="utf-8"), f"{name} changed; UPDATE_GOLDEN=1 to accept"


@pytest.mark.parametrize("case", CASES)
def test_console_text_golden(core: Core, case: str) -> None:
    text = render_text(core.answer(CASES[case]))
    assert all(len(line) <= 80 for line in text.splitlines())
    _golden(f"{case}.txt", text)


@pytest.mark.parametrize("case", CASES)
def test_telegram_html_golden(core: Core, case: str) -> None:
    answer = core.answer(CASES[case])
    html = render_html(answer)
    parse_html(html)  # Telegram would accept it
    _golden(f"{case}.html", html)


def test_html_escapes_source_and_user_text() -> None:
    source = Source(1, "x", "T <b>", "Cite & <i>", "https://example.org/?a=1&b=<2>")
    quote = Quote(1, "A < B & <script>alert(1)</script>", "x:1", "L <1>", 1.0, source, ((0, 1),))
    html = render_html(Answer("q <b>", Kind.ANSWER, (quote,), (source,)))
    parse_html(html)
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>A</b>" in html
    assert 'href="https://example.org/?a=1&amp;b=&lt;2&gt;"' in html


def test_long_quotes_are_expandable_and_blocks_split_cleanly(core: Core) -> None:
    blocks = render_html_blocks(core.answer("How does the CSTO operate under sanctions?"))
    assert blocks[-1].startswith("<b>Sources</b>")
    for block in blocks:
        parse_html(block)  # every block stands alone: a long message splits between them


def test_sources_passage_and_citation(core: Core) -> None:
    for kind in ("html", "text"):
        blocks = render_sources(core.documents, kind)
        assert sum("Samokhin I.R." in b for b in blocks) == 1
        view = core.passage_view("samokhin-2025-csto-sanctions:6")
        assert view is not None
        rendered = "\n".join(render_passage(view, kind))
        assert " ".join(view.text.split(".")[0].split()) in " ".join(rendered.split())
        if kind == "html":
            parse_html(rendered)
    cite = render_citation_html(core.answer("Who is the author of the article?").sources[0])
    assert cite.startswith("<code>Samokhin I.R.")


@pytest.mark.parametrize(
    ("more", "lang", "hint"),
    [
        (1, "en", "(1 more quotation)"),
        (3, "en", "(3 more quotations)"),
        (1, "ru", "(ещё одна цитата)"),
        (4, "ru", "(ещё цитат: 4)"),
    ],
)
def test_the_console_says_how_many_quotations_are_left(more: int, lang: str, hint: str) -> None:
    source = Source(1, "x", "T", "C", None)
    answer = Answer("q", Kind.ANSWER, (Quote(1, "Text.", "x:1", "L", 1.0, source, ()),), (source,), more=more, lang=lang)
    assert render_text(answer).splitlines()[-1] == hint

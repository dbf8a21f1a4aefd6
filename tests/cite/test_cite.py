"""Citations in APA and ГОСТ Р 7.0.5-2008 from the front matter (citeproc-py and the shipped CSL
styles), in Telegram's Cite answer and the console's /cite N."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from bot.cite import citations, csl_item, name_parts, render
from bot.console import run_console
from bot.core.answer import Core, source_of
from bot.render import render_citation_html
from bot.tg.html import parse_html

pytest.importorskip("citeproc")


def meta(**fields: object) -> SimpleNamespace:
    base: dict[str, object] = dict(
        id="x", title="T", authors=[], year=None, venue=None, publisher=None, volume=None, issue=None, pages=None
    )
    base.update(url=None, language="en", citation="Own line.")
    base.update(fields)
    return SimpleNamespace(**base)


def test_name_parts() -> None:
    assert name_parts("Иванова, Анна Сергеевна") == {"family": "Иванова", "given": "Анна Сергеевна"}
    assert name_parts("I. R. Samokhin") == {"family": "Samokhin", "given": "I. R."}
    assert name_parts("Иванова А. С.") == {"family": "Иванова", "given": "А. С."}
    assert name_parts("Collective Security Treaty Organization") == {"literal": "Collective Security Treaty Organization"}


def test_samokhin_in_both_styles(core: Core) -> None:
    document = core.document("samokhin-2025-csto-sanctions")
    assert document is not None
    got = dict(citations(document.meta))
    assert got["Source"] == document.meta.citation
    assert got["APA"] == (
        "Samokhin, I. R. (2025). Consequences of the Sanctions Policy for Russian-Kazakh Relations within the Collective "
        "Security Treaty Organization (2014 – Present). Novelty. Experiment. Traditions (N.Ex.T), 11(4 (32)), 47–60."
    )
    assert got["ГОСТ Р 7.0.5-2008"] == (
        "Samokhin I. R. Consequences of the Sanctions Policy for Russian-Kazakh Relations within the Collective Security "
        "Treaty Organization (2014 – Present) // Novelty. Experiment. Traditions (N.Ex.T). 2025. Т. 11. № 4 (32). С. 47–60."
    )


def test_russian_article_and_missing_fields() -> None:
    m = meta(title="Угрозы безопасности", authors=["Иванова, Анна Сергеевна"], year=2025, venue="Журнал", volume="11", issue="4")
    m.pages, m.language = "47-49", "ru"
    assert render(m, "gost") == "Иванова А. С. Угрозы безопасности // Журнал. 2025. Т. 11. № 4. С. 47–49."
    assert render(m, "apa") == "Иванова, А. С. (2025). Угрозы безопасности. Журнал, 11(4), 47–49."
    # Nothing invented for what the front matter leaves empty; the title is not repeated for a missing author.
    bare = meta(title="Collected excerpts")
    assert render(bare, "apa") == "Collected excerpts. (n.d.)."
    assert "issued" not in csl_item(bare) and "author" not in csl_item(bare)


def test_cite_html_is_valid_telegram_html(core: Core) -> None:
    document = core.document("samokhin-2025-csto-sanctions")
    assert document is not None
    html = render_citation_html(source_of(document, 1), "en", citations(document.meta)[1:])
    assert html.startswith("<code>Samokhin I.R.")
    assert "<b>APA</b>\n<code>Samokhin, I. R. (2025)." in html and "<b>ГОСТ Р 7.0.5-2008</b>" in html
    parse_html(html)


def test_console_cite(core: Core) -> None:
    out = io.StringIO()
    run_console(core, io.StringIO("/cite 1\nWho is the author of the article?\n/cite 1\n/cite 7\n"), out)
    text = out.getvalue()
    assert "Ask a question first" in text
    assert "APA:\n  Samokhin, I. R. (2025)." in text and "ГОСТ Р 7.0.5-2008:\n  Samokhin I. R." in text
    assert "Which source? /cite 1" in text
    assert "Unknown command" not in text  # /cite is answered once, not also taken for an unknown command

"""Rendering with jinja2: Telegram HTML (autoescaped) and plain console text from the same data."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import jinja2

from bot.core.models import Answer, PassageView, Quote, Source
from bot.knowledge.model import Document

BLOCK = "\x1e"  # separates the blocks of a rendered message (where a long message may be split)
EXPANDABLE_FROM = 400  # quotations longer than this are collapsible in Telegram
WIDTH = 80

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "sources": "Sources",
        "abstain": "My sources do not cover this question, so I will not guess.",
        "covers": "My sources cover",
        "try": "You could ask, for example",
        "help": (
            "I answer questions about the Collective Security Treaty Organization (CSTO), Russian–Kazakh "
            "relations under sanctions and Eurasian integration, only with verbatim quotations from my "
            "sources, each with a numbered citation."
        ),
        "no_more": "There are no more quotations for this question.",
        "more_hint": "{n} more quotations",
        "context_before": "Before",
        "context_after": "After",
        "link": "link",
    },
    "ru": {
        "sources": "Источники",
        "abstain": "Мои источники не отвечают на этот вопрос, поэтому я не буду гадать.",
        "covers": "Мои источники охватывают",
        "try": "Можно спросить, например",
        "help": (
            "Я отвечаю на вопросы об Организации Договора о коллективной безопасности (ОДКБ), "
            "российско-казахстанских отношениях в условиях санкций и евразийской интеграции — только "
            "дословными цитатами из источников, каждая с нумерованной ссылкой."
        ),
        "no_more": "Других цитат по этому вопросу нет.",
        "more_hint": "ещё цитат: {n}",
        "context_before": "До",
        "context_after": "После",
        "link": "ссылка",
    },
}


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    bold: bool


def segments(quote: Quote) -> list[Segment]:
    """The quotation cut into plain and highlighted (matched-word) pieces."""
    spans: list[tuple[int, int]] = []
    for start, end in sorted(quote.highlights):
        if spans and start >= spans[-1][1] and not quote.text[spans[-1][1] : start].strip():
            spans[-1] = (spans[-1][0], end)  # "January 2022" is one highlight, not two
        elif not spans or start >= spans[-1][1]:
            spans.append((start, end))
    out: list[Segment] = []
    pos = 0
    for start, end in spans:
        if start < pos:
            continue
        if start > pos:
            out.append(Segment(quote.text[pos:start], False))
        out.append(Segment(quote.text[start:end], True))
        pos = end
    if pos < len(quote.text):
        out.append(Segment(quote.text[pos:], False))
    return out


def _wrap(text: str, indent: int = 0, first: str | None = None) -> str:
    pad = " " * indent
    lines = []
    for i, para in enumerate(text.split("\n\n")):
        lead = first if first is not None and i == 0 else pad
        lines.append(textwrap.fill(para, WIDTH, initial_indent=lead, subsequent_indent=pad, break_on_hyphens=False))
    return "\n".join(lines)


def _strip_separators(value: object) -> object:
    return value.replace(BLOCK, " ") if isinstance(value, str) and value != BLOCK else value


@cache
def _env(kind: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bot", "templates"),
        autoescape=kind == "html",
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        finalize=_strip_separators,
    )
    env.filters["wrap"] = _wrap
    env.globals["BLOCK"] = BLOCK
    return env


def _render(name: str, kind: str, **data: object) -> str:
    lang = str(data.get("lang", "en"))
    return _env(kind).get_template(name).render(t=STRINGS.get(lang, STRINGS["en"]), **data)


def _blocks(rendered: str) -> list[str]:
    return [b.strip("\n") for b in rendered.split(BLOCK) if b.strip()]


def render_html_blocks(answer: Answer) -> list[str]:
    """The answer as Telegram HTML blocks (paragraphs, quotations, the sources list)."""
    quotes = [(q, segments(q), len(q.text) > EXPANDABLE_FROM) for q in answer.quotes]
    return _blocks(_render("answer.html.j2", "html", answer=answer, quotes=quotes, lang=answer.lang))


def render_html(answer: Answer) -> str:
    return "\n\n".join(render_html_blocks(answer))


def render_text(answer: Answer) -> str:
    """The answer as plain text for a terminal, wrapped at 80 columns."""
    return "\n\n".join(_blocks(_render("answer.txt.j2", "text", answer=answer, lang=answer.lang)))


def render_sources(documents: Sequence[Document], kind: str, lang: str = "en") -> list[str]:
    """Every document with its citation, as HTML or text blocks."""
    ext = "html" if kind == "html" else "txt"
    return _blocks(_render(f"sources.{ext}.j2", kind, documents=documents, lang=lang))


def render_passage(view: PassageView, kind: str, lang: str = "en") -> list[str]:
    """A whole passage with its neighbours, as HTML or text blocks."""
    ext = "html" if kind == "html" else "txt"
    return _blocks(_render(f"passage.{ext}.j2", kind, view=view, lang=lang))


def render_citation_html(source: Source, lang: str = "en") -> str:
    return "\n\n".join(_blocks(_render("cite.html.j2", "html", source=source, lang=lang)))


def render_about_html(version: str, documents: int, passages: int, lang: str = "en") -> str:
    return "\n\n".join(
        _blocks(_render("about.html.j2", "html", version=version, documents=documents, passages=passages, lang=lang))
    )


def render_commands_html(lang: str = "en") -> str:
    return "\n\n".join(_blocks(_render("commands.html.j2", "html", lang=lang)))


def render_inline_html(quote: Quote, lang: str = "en") -> str:
    """One quotation with its full citation: what an inline result inserts into a chat."""
    return "\n\n".join(_blocks(_render("inline.html.j2", "html", quote=quote, lang=lang)))

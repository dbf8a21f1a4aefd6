"""Rendering with jinja2: Telegram HTML (autoescaped) and plain console text from the same data."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import jinja2
from markupsafe import Markup, escape

from bot.core.models import Answer, PassageView, Quote, Source
from bot.knowledge.model import Document
from bot.words import word

BLOCK = "\x1e"  # separates the blocks of a rendered message (where a long message may be split)
EXPANDABLE_FROM = 400  # quotations longer than this are collapsible in Telegram
WIDTH = 80


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
    env.filters["bold"] = _bold
    env.globals["BLOCK"] = BLOCK
    return env


def _translator(lang: str, html: bool) -> Callable[..., str]:
    """The templates' `t("key", name=value)`: the bot's words (bot.words) in `lang`. In HTML the
    word is escaped and so is every value filled in, unless the value is already markup (`|bold`)."""

    def t(key: str, **values: object) -> str:
        if html:
            return escape(word(lang, key, **{k: "{" + k + "}" for k in values})).format(**values)
        return word(lang, key, **values)

    return t


def _bold(value: object) -> Markup:
    return Markup("<b>{}</b>").format(value)


def _render(name: str, kind: str, **data: object) -> str:
    lang = str(data.get("lang", "en"))
    return _env(kind).get_template(name).render(t=_translator(lang, kind == "html"), **data)


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


def render_citation_html(source: Source, lang: str = "en", styles: Sequence[tuple[str, str]] = ()) -> str:
    """The source's own citation line, ready to copy, then the same in other styles (name, text)."""
    return "\n\n".join(_blocks(_render("cite.html.j2", "html", source=source, lang=lang, styles=styles)))


def render_about_html(version: str, documents: int, passages: int, lang: str = "en") -> str:
    return "\n\n".join(
        _blocks(_render("about.html.j2", "html", version=version, documents=documents, passages=passages, lang=lang))
    )


def render_commands_html(lang: str = "en") -> str:
    return "\n\n".join(_blocks(_render("commands.html.j2", "html", lang=lang)))


def render_inline_html(quote: Quote, lang: str = "en") -> str:
    """One quotation with its full citation: what an inline result inserts into a chat."""
    return "\n\n".join(_blocks(_render("inline.html.j2", "html", quote=quote, lang=lang)))

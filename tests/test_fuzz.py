"""Hostile input through the whole pipeline: question → answer → Telegram HTML and console text.

`FUZZ_EXAMPLES=10000 make test` (or `make test-long`) runs the long mode.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.answer import Core
from bot.render import render_html_blocks, render_text
from bot.tg.html import MAX_ENTITIES, MAX_MESSAGE_UNITS, parse_html, split_html

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

INJECTIONS = [
    "</blockquote>", "<blockquote>", '<a href="javascript:alert(1)">x</a>', "&amp;", "&lt;b&gt;", "&#60;", "&", "<",
    "**bold**", "__it__", "`code`", "[link](http://x)", "<b><i>", "\u200b", "\u200e", "\u202e", "\u2066", "\ufeff",
    "\x00", "\x1b[31m", "\x1e", "🇰🇿", "👩‍👩‍👧", "CSTO", "ОДКБ", "Kazakhstan", "sanctions", "\n\n", "@csto_test_bot", "/start",
]  # fmt: skip
questions = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(INJECTIONS) | st.text(max_size=12), max_size=40).map("".join),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=3000, max_size=4096),
)
TAG = re.compile(r"</?([a-z-]+)")


def _allowed_tags(html: str) -> set[str]:
    return set(TAG.findall(html))


@FUZZ
@given(question=questions)
def test_any_question_gives_valid_html_and_text(core: Core, question: str) -> None:
    answer = core.answer(question)
    text = render_text(answer)
    assert "\x1e" not in text
    blocks = render_html_blocks(answer)
    for message in split_html(blocks):
        parsed = parse_html(message)  # Telegram would accept it
        assert parsed.length <= MAX_MESSAGE_UNITS and len(parsed.entities) <= MAX_ENTITIES
        # Markup comes only from the templates: no tag the bot does not write itself.
        assert _allowed_tags(message) <= {"b", "i", "a", "blockquote", "code"}
    # User text never becomes markup: whatever the question held, its tags arrive escaped.
    html = "\n\n".join(blocks)
    assert "<script" not in html and "href=" not in html  # the bundled sources have no URLs; users add none


@FUZZ
@given(question=questions)
def test_more_pages_never_fail(core: Core, question: str) -> None:
    first = core.answer(question)
    if first.answered:
        nxt = core.answer(question, offset=len(first.quotes))
        assert nxt.answered


corruptions = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=400),
    st.lists(st.sampled_from(["---", "id: x", "title: T", "authors: []", "language: en", "citation: C", "## H", "text",
                              ": :", "- [", "\t", "year: 99999", "url: ftp://x", ""]), max_size=20).map("\n".join),
)  # fmt: skip


@settings(max_examples=max(EXAMPLES // 3, 30), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=corruptions, aliases=st.one_of(st.none(), st.binary(max_size=200), st.text(max_size=200)))
def test_corrupted_knowledge_gives_clear_errors(
    tmp_path_factory: pytest.TempPathFactory, document: bytes | str, aliases: bytes | str | None
) -> None:
    directory: Path = tmp_path_factory.mktemp("kb")
    (directory / "doc.md").write_bytes(document if isinstance(document, bytes) else document.encode("utf-8"))
    if aliases is not None:
        (directory / "aliases.yaml").write_bytes(aliases if isinstance(aliases, bytes) else aliases.encode("utf-8"))
    for problem in Core.check(directory):
        assert re.match(r"^.+:\d+: \S", str(problem)), problem

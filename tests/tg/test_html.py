"""bot.tg.html: Telegram's HTML parser rules, UTF-16 counting and safe message splitting."""

from __future__ import annotations

import html
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.tg.html import (
    Entity,
    HtmlError,
    check_message,
    html_to_plain,
    measure,
    parse_html,
    split_html,
    utf16_len,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
STADIUM = "🏟"  # outside the BMP: 2 UTF-16 code units, 4 UTF-8 bytes


def ents(html_text: str, *, strict: bool = True) -> list[tuple[str, int, int]]:
    return [(e.type, e.offset, e.length) for e in parse_html(html_text, strict=strict).entities]


# --------------------------------------------------------------------------------------------------
# UTF-16


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("", 0),
        ("abc", 3),
        ("ОДКБ", 4),
        ("中文", 2),
        ("👍", 2),
        ("👍🏽", 4),  # thumbs up + skin tone: two astral code points
        ("👨‍👩‍👧", 8),  # three astral code points joined by two zero-width joiners
        ("❤️", 2),  # BMP heart + variation selector
        ("𝕏", 2),
        ("a\U0010fffd", 3),
    ],
)
def test_utf16_len(text: str, units: int) -> None:
    assert utf16_len(text) == units
    assert utf16_len(text) == len(text.encode("utf-16-le")) // 2


def test_entity_offsets_count_utf16_units() -> None:
    parsed = parse_html(f"{STADIUM} x <b>ОДКБ 👍</b> <i>{STADIUM}</i>")
    assert parsed.text == f"{STADIUM} x ОДКБ 👍 {STADIUM}"
    assert [(e.type, e.offset, e.length) for e in parsed.entities] == [("bold", 5, 7), ("italic", 13, 2)]
    assert parsed.length == 15


# --------------------------------------------------------------------------------------------------
# Parsing: what Telegram accepts


VALID = [
    ("", "", []),
    ("plain text", "plain text", []),
    ("&lt;&gt;&amp;&quot;", '<>&"', []),
    ("&#65;&#x42;&#x1F44D;", "AB👍", []),
    ("a > b", "a > b", []),
    ("<b>bold</b> <strong>strong</strong>", "bold strong", [("bold", 0, 4), ("bold", 5, 6)]),
    ("<i>i</i><em>em</em>", "iem", [("italic", 0, 1), ("italic", 1, 2)]),
    ("<u>u</u><ins>ins</ins>", "uins", [("underline", 0, 1), ("underline", 1, 3)]),
    (
        "<s>s</s><strike>k</strike><del>d</del>",
        "skd",
        [("strikethrough", 0, 1), ("strikethrough", 1, 1), ("strikethrough", 2, 1)],
    ),
    ('<tg-spoiler>x</tg-spoiler><span class="tg-spoiler">y</span>', "xy", [("spoiler", 0, 1), ("spoiler", 1, 1)]),
    ('<a href="https://example.org/?a=1&amp;b=2">link</a>', "link", [("text_link", 0, 4)]),
    ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", [("custom_emoji", 0, 2)]),
    ("<code>x = 1</code>", "x = 1", [("code", 0, 5)]),
    ("<pre>block</pre>", "block", [("pre", 0, 5)]),
    ('<pre><code class="language-python">print(1)</code></pre>', "print(1)", [("pre", 0, 8)]),
    ("<pre><code>no language</code></pre>", "no language", [("pre", 0, 11), ("code", 0, 11)]),
    ("<blockquote>quote</blockquote>", "quote", [("blockquote", 0, 5)]),
    ("<blockquote expandable>long</blockquote>", "long", [("expandable_blockquote", 0, 4)]),
    ("<b><i>both</i></b>", "both", [("bold", 0, 4), ("italic", 0, 4)]),
    ("<B>upper</B>", "upper", [("bold", 0, 5)]),
    ("<b>x</>", "x", [("bold", 0, 1)]),  # an empty end tag closes the innermost tag
    ("<i>a</i   >", "a", [("italic", 0, 1)]),
    ("<b></b>empty", "empty", []),  # empty tags make no entity
    ("<i aba = 190azAz-.>a</i>", "a", [("italic", 0, 1)]),  # unknown attributes are ignored
    ("<i aba>a</i>", "a", [("italic", 0, 1)]),  # attributes without a value are allowed
    (f"{STADIUM} {STADIUM}&lt;<i>{STADIUM} {STADIUM}&lt;</>", f"{STADIUM} {STADIUM}<{STADIUM} {STADIUM}<", [("italic", 6, 6)]),
    ("<code><i><b> </b></i></code>", " ", [("code", 0, 1), ("bold", 0, 1), ("italic", 0, 1)]),
    ("a\n\nb", "a\n\nb", []),
]


@pytest.mark.parametrize(("source", "text", "entities"), VALID)
def test_valid_html(source: str, text: str, entities: list[tuple[str, int, int]]) -> None:
    parsed = parse_html(source)
    assert parsed.text == text
    assert [(e.type, e.offset, e.length) for e in parsed.entities] == entities
    assert parse_html(source, strict=False) == parsed


def test_entity_details() -> None:
    link, mention = parse_html('<a href="https://x.org/?q=&quot;">a</a><a href="tg://user?id=42">b</a>').entities
    assert link == Entity("text_link", 0, 1, url='https://x.org/?q="')
    assert mention.type == "text_mention" and mention.user_id == 42
    assert mention.to_dict()["user"]["id"] == 42
    (pre,) = parse_html('<pre><code class="language-py">x</code></pre>').entities
    assert pre.to_dict() == {"type": "pre", "offset": 0, "length": 1, "language": "py"}
    (emoji,) = parse_html('<tg-emoji emoji-id="123">*</tg-emoji>').entities
    assert emoji.to_dict() == {"type": "custom_emoji", "offset": 0, "length": 1, "custom_emoji_id": "123"}
    (code,) = parse_html('<code class="language-py">x</code>').entities
    assert code.to_dict() == {"type": "code", "offset": 0, "length": 1}  # language only on pre


# --------------------------------------------------------------------------------------------------
# Parsing: what Telegram refuses (messages and byte offsets as the Bot API reports them)


INVALID = [
    ("<br>", 'Unsupported start tag "br" at byte offset 0'),
    ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
    ("a <b/>", 'Unsupported start tag "b/" at byte offset 2'),
    ("<>", 'Unsupported start tag "" at byte offset 0'),
    ("x < y", 'Unsupported start tag "" at byte offset 2'),
    ("email <me@example.org>", 'Unsupported start tag "me@example.org" at byte offset 6'),
    (f"{STADIUM} {STADIUM}&lt;<abacaba", "Unclosed start tag at byte offset 13"),
    (f"{STADIUM} {STADIUM}&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
    (f"{STADIUM} {STADIUM}&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
    (f"{STADIUM} {STADIUM}&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
    (f"{STADIUM} {STADIUM}&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
    (f'{STADIUM} {STADIUM}&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
    (f"{STADIUM} {STADIUM}&lt;</", "Unexpected end tag at byte offset 13"),
    (f"{STADIUM} {STADIUM}&lt;<b></b></", "Unexpected end tag at byte offset 20"),
    (f"{STADIUM} {STADIUM}&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
    (f"{STADIUM} {STADIUM}&lt;<i>a</em   >", 'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"'),
    ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
    ("<b>never closed", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ('<span class="bold">x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier specified"),
    ("<tg-emoji>x</tg-emoji>", "Invalid custom emoji identifier specified"),
    (
        "&#57311;",
        "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units",
    ),
    ("a\0b", "Text must not contain null bytes"),
]


@pytest.mark.parametrize(("source", "reason"), INVALID)
def test_invalid_html(source: str, reason: str) -> None:
    for strict in (True, False):
        with pytest.raises(HtmlError) as info:
            parse_html(source, strict=strict)
        assert info.value.reason == reason
        assert str(info.value) == f"Can't parse entities: {reason}"
        assert info.value.api_description == f"Bad Request: can't parse entities: {reason}"


@pytest.mark.parametrize(
    ("source", "lenient_text", "reason"),
    [
        ("AT&T", "AT&T", 'Unsupported HTML entity "&T" at byte offset 2'),
        ("a & b", "a & b", 'Unsupported HTML entity "&" at byte offset 2'),
        ("&laquo;quote&raquo;", "&laquo;quote&raquo;", 'Unsupported HTML entity "&laquo;" at byte offset 0'),
        ("&nbsp;", "&nbsp;", 'Unsupported HTML entity "&nbsp;" at byte offset 0'),
        ("&#0;", "&#0;", 'Unsupported HTML entity "&#0;" at byte offset 0'),
        ("&#12345678;", "&#12345678;", 'Unsupported HTML entity "&#12345678;" at byte offset 0'),
        ("1 &lt 2", "1 < 2", 'HTML entity "&lt" without ";" at byte offset 2'),
        ('<a href="/?a=1&b=2">x</a>', "x", 'Unsupported HTML entity "&b" at byte offset 14'),
    ],
)
def test_strict_mode_refuses_what_telegram_shows_wrongly(source: str, lenient_text: str, reason: str) -> None:
    assert parse_html(source, strict=False).text == lenient_text  # what Telegram would display
    with pytest.raises(HtmlError) as info:
        parse_html(source)
    assert info.value.reason.startswith(reason)


def test_invalid_utf8_is_not_an_entity_error() -> None:
    with pytest.raises(HtmlError) as info:
        parse_html("lone \ud83d surrogate")
    assert info.value.api_description == "Bad Request: strings must be encoded in UTF-8"


def test_check_message_limits() -> None:
    assert check_message("<b>ok</b>").text == "ok"
    with pytest.raises(HtmlError, match="Message text is empty") as info:
        check_message("<b> </b>")
    assert info.value.api_description == "Bad Request: message text is empty"
    with pytest.raises(HtmlError) as info:
        check_message("x" * 4097)
    assert info.value.api_description == "Bad Request: message is too long"
    check_message("👍" * 2048)
    with pytest.raises(HtmlError):
        check_message("👍" * 2049)
    with pytest.raises(HtmlError, match="Too many entities"):
        check_message("<b>x</b> " * 101)
    assert measure("<b>x</b> " * 101) == (202, 101)


@pytest.mark.parametrize(
    ("source", "plain"),
    [
        ("<b>Bold</b> &amp; <i>it</i>", "Bold & it"),
        ("<blockquote>q</blockquote>\n\n<a href='x'>l</a>", "q\n\nl"),
        ("<b>unclosed &amp; broken", "unclosed & broken"),  # invalid HTML still gives readable text
        ("<p>para</p> a < b &lt; c", "para a < b < c"),
        ("AT&T", "AT&T"),
    ],
)
def test_html_to_plain(source: str, plain: str) -> None:
    assert html_to_plain(source) == plain


# --------------------------------------------------------------------------------------------------
# Splitting


def visible(messages: list[str]) -> list[str]:
    return [parse_html(m).text for m in messages]


def test_blocks_that_fit_are_joined_with_a_blank_line() -> None:
    assert split_html(["<b>one</b>", "two"]) == ["<b>one</b>\n\ntwo"]
    assert split_html("single &amp; string") == ["single &amp; string"]
    assert split_html([]) == []
    assert split_html(["", "<b> </b>", "x"]) == ["x"]  # blocks without visible text are dropped


def test_packing_is_greedy_by_length_and_entities() -> None:
    assert split_html(["a" * 5, "b" * 5, "c" * 5], limit=12) == ["aaaaa\n\nbbbbb", "ccccc"]
    blocks = ["<b>1</b>", "<b>2</b>", "<b>3</b>"]
    assert split_html(blocks, max_entities=2) == ["<b>1</b>\n\n<b>2</b>", "<b>3</b>"]
    assert split_html(["x" * 4096, "y"]) == ["x" * 4096, "y"]


def test_long_blockquote_becomes_two_blockquotes() -> None:
    sentences = [f"Sentence number {k} is about the CSTO &amp; its members." for k in range(150)]
    block = "<blockquote expandable><i>" + " ".join(sentences) + "</i></blockquote>"
    messages = split_html(["<b>Answer</b>", block, "<i>Sources</i>"])
    assert len(messages) == 2  # about 7600 characters
    for message in messages:
        parsed = check_message(message)
        assert parsed.length <= 4096
    assert messages[0].startswith("<b>Answer</b>\n\n<blockquote expandable><i>Sentence number 0 ")
    assert messages[0].endswith(".</i></blockquote>")  # cut at a sentence end
    assert messages[1].startswith("<blockquote expandable><i>Sentence number ")
    assert messages[1].endswith("</i></blockquote>\n\n<i>Sources</i>")
    types = [e.type for e in parse_html(messages[1]).entities]
    assert types == ["expandable_blockquote", "italic", "italic"]
    whole = "".join(t.replace(" ", "").replace("\n", "") for t in visible(messages))
    expected = "Answer" + html.unescape("".join(sentences)).replace(" ", "") + "Sources"
    assert whole == expected


def test_cut_prefers_paragraph_then_line_then_sentence_then_word() -> None:
    text = "aaaa bbbb. cccc\ndddd\n\neeee ffff"
    assert visible(split_html([text], limit=30)) == ["aaaa bbbb. cccc\ndddd", "eeee ffff"]
    assert visible(split_html([text], limit=19)) == ["aaaa bbbb. cccc", "dddd\n\neeee ffff"]
    assert visible(split_html(["aaaa bbbb. cccc dddd"], limit=16)) == ["aaaa bbbb.", "cccc dddd"]
    assert visible(split_html(["aaaa bbbb cccc dddd"], limit=16)) == ["aaaa bbbb cccc", "dddd"]
    assert visible(split_html(["abcdefghij"], limit=4)) == ["abcd", "efgh", "ij"]


def test_cut_never_breaks_entities_tags_or_surrogate_pairs() -> None:
    messages = split_html(["&amp;" * 10], limit=3)
    assert messages == ["&amp;&amp;&amp;", "&amp;&amp;&amp;", "&amp;&amp;&amp;", "&amp;"]
    messages = split_html(["👍" * 5], limit=3)
    assert visible(messages) == ["👍"] * 5
    messages = split_html(['<a href="https://example.org/a&amp;b">' + "x" * 10 + "</a>"], limit=4)
    assert messages[1] == '<a href="https://example.org/a&amp;b">xxxx</a>'
    family = "👨‍👩‍👧"  # a ZWJ sequence is kept whole when it fits
    messages = split_html(["ab" + family], limit=9)
    assert visible(messages) == ["ab", family]


def test_nested_tags_are_closed_and_reopened() -> None:
    block = '<b>bold <i>both <a href="https://e.org">link text here</a> tail</i> end</b>'
    messages = split_html([block], limit=12)
    for message in messages:
        parse_html(message)
    assert messages[0] == "<b>bold <i>both</i></b>"
    assert messages[1] == '<b><i><a href="https://e.org">link text</a></i></b>'
    assert "".join(visible(messages)).replace(" ", "") == "boldbothlinktexthere tailend".replace(" ", "")


def test_pre_code_language_survives_a_split() -> None:
    code = "\n".join(f"line_{k} = {k}" for k in range(20))
    block = f'<pre><code class="language-python">{code}</code></pre>'
    messages = split_html([block], limit=120)
    assert len(messages) > 1
    for message in messages:
        (entity,) = parse_html(message).entities
        assert entity.type == "pre" and entity.language == "python"


def test_too_many_entities_in_one_block_are_split() -> None:
    block = " ".join(f"<b>{k}</b>" for k in range(250))
    messages = split_html([block])
    assert [len(parse_html(m).entities) for m in messages] == [100, 100, 50]


def test_oversized_block_fills_the_current_message_first() -> None:
    messages = split_html(["intro", "word " * 1500], limit=4096)
    assert len(messages) == 2
    assert messages[0].startswith("intro\n\nword word")
    assert parse_html(messages[0]).length > 4000
    short_room = split_html(["x" * 3500, "word " * 1500])
    assert short_room[0] == "x" * 3500  # under a quarter of the message free: start a fresh one


def test_entity_budget_smaller_than_the_nesting_degrades_to_plain_text() -> None:
    messages = split_html(["<b><i><u>deep</u></i></b> <b>flat</b>"], max_entities=2)
    assert all(len(parse_html(m).entities) <= 2 for m in messages)
    assert "".join(visible(messages)).replace(" ", "") == "deepflat"


def test_invalid_blocks_and_arguments_are_refused() -> None:
    with pytest.raises(HtmlError):
        split_html(["<b>unclosed"])
    with pytest.raises(ValueError):
        split_html(["x"], limit=1)
    with pytest.raises(ValueError):
        split_html(["x"], separator="<br>")


# --------------------------------------------------------------------------------------------------
# Properties


TEXT = st.text(
    alphabet=st.sampled_from(list("abc xyz.!?,\n\t&<>\"'") + ["Ж", "中", "👍", "🏟", "\u200d", "\ufe0f", "é", "\u0301"]),
    max_size=40,
)
OPENERS = [
    "<b>",
    "<strong>",
    "<i>",
    "<em>",
    "<u>",
    "<ins>",
    "<s>",
    "<strike>",
    "<del>",
    "<tg-spoiler>",
    '<span class="tg-spoiler">',
    '<a href="https://example.org/?q=1&amp;r=&quot;2&quot;">',
    "<code>",
    "<pre>",
    '<pre><code class="language-python">',
    "<blockquote>",
    "<blockquote expandable>",
]


def closer(opener: str) -> str:
    names = re.findall(r"<([a-z-]+)", opener)
    return "".join(f"</{name}>" for name in reversed(names))


@st.composite
def fragment(draw: st.DrawFn, depth: int = 0) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 4))):
        if depth < 3 and draw(st.booleans()):
            opener = draw(st.sampled_from(OPENERS))
            parts.append(opener + draw(fragment(depth + 1)) + closer(opener))
        else:
            parts.append(html.escape(draw(TEXT)))
    return "".join(parts)


def assert_in_order_modulo_whitespace(original: str, pieces: list[str]) -> None:
    pos = 0
    for piece in pieces:
        found = original.find(piece, pos) if piece else pos
        assert found >= 0, (piece, original[pos:])
        assert not original[pos:found].strip(), f"lost {original[pos:found]!r}"
        pos = found + len(piece)
    assert not original[pos:].strip(), f"lost the tail {original[pos:]!r}"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks=st.lists(fragment(), min_size=1, max_size=6), limit=st.integers(2, 200), max_entities=st.integers(1, 12))
def test_split_pieces_parse_fit_and_keep_the_text(blocks: list[str], limit: int, max_entities: int) -> None:
    texts = [parse_html(block).text for block in blocks]
    original = "\n\n".join(t for t in texts if t.strip())
    messages = split_html(blocks, limit, max_entities)
    pieces = []
    for message in messages:
        parsed = parse_html(message)
        assert parsed.text.strip()
        assert parsed.length <= limit
        assert len(parsed.entities) <= max_entities
        pieces.append(parsed.text)
    assert_in_order_modulo_whitespace(original, pieces)
    assert re.sub(r"\s", "", "".join(pieces)) == re.sub(r"\s", "", original)


@settings(max_examples=EXAMPLES, deadline=None)
@given(blocks=st.lists(fragment(), min_size=1, max_size=8))
def test_split_packs_whole_blocks_greedily(blocks: list[str]) -> None:
    sizes = [measure(b) for b in blocks if parse_html(b).text.strip()]
    limit = max(2, max((u for u, _ in sizes), default=2))
    max_entities = max(1, max((e for _, e in sizes), default=1))
    expected: list[list[str]] = []
    used = (0, 0)
    for block in (b for b in blocks if parse_html(b).text.strip()):
        units, count = measure(block)
        if expected and used[0] + 2 + units <= limit and used[1] + count <= max_entities:
            expected[-1].append(block)
            used = (used[0] + 2 + units, used[1] + count)
        else:
            expected.append([block])
            used = (units, count)
    assert split_html(blocks, limit, max_entities) == ["\n\n".join(group) for group in expected]


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text(max_size=60))
def test_parser_only_raises_html_errors_and_round_trips_escaped_text(text: str) -> None:
    try:
        parse_html(text, strict=False)
    except HtmlError:
        pass
    clean = text.replace("\0", "")
    try:
        clean.encode("utf-8")
    except UnicodeEncodeError:
        return
    assert parse_html(html.escape(clean)).text == clean
    assert parse_html(html.escape(clean)).length == utf16_len(clean)
    assert html_to_plain(html.escape(clean)) == clean

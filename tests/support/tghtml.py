"""A test-only oracle for Telegram's parse_mode=HTML, independent of the bot's own parser (bot.tg.html).

The visible text and the entities come from Telethon's HTML parser (`telethon.extensions.html.parse`,
offsets in UTF-16 units like the Bot API's). Telethon is lenient where Telegram refuses: it drops
unknown tags, closes unclosed ones, ignores a mismatched end tag and passes a bare `<` or `&`. So the
rules Telegram enforces (and the double's strict mode adds) are checked here by a small scanner of
its own, before Telethon sees the text:
- only Telegram's tags, with their attributes; every tag closed, in order;
- `<` only as a tag, `&` only as `&lt;` `&gt;` `&amp;` `&quot;` or a numeric reference (strict mode:
  Telegram shows `AT&T` or `&nbsp;` literally, which is never what a bot means).
Limits (4096 UTF-16 units, 100 entities) are checked by the caller on what this returns.
"""

from __future__ import annotations

import re
from typing import Any

from telethon.extensions import html as telethon_html
from telethon.tl import types

TAGS = {
    "b": (), "strong": (), "i": (), "em": (), "u": (), "ins": (), "s": (), "strike": (), "del": (),
    "tg-spoiler": (), "span": ("class",), "a": ("href",), "tg-emoji": ("emoji-id",), "code": ("class",),
    "pre": (), "blockquote": ("expandable",),
}  # fmt: skip
NAMED = {"lt", "gt", "amp", "quot"}
MAX_UNITS, MAX_ENTITIES = 4096, 100

_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[A-Za-z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*>")
_ATTR = re.compile(r"([A-Za-z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?")
_REF = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|([A-Za-z][A-Za-z0-9]*));")

_KINDS: dict[type, str] = {
    types.MessageEntityBold: "bold", types.MessageEntityItalic: "italic", types.MessageEntityUnderline: "underline",
    types.MessageEntityStrike: "strikethrough", types.MessageEntitySpoiler: "spoiler", types.MessageEntityCode: "code",
    types.MessageEntityPre: "pre", types.MessageEntityTextUrl: "text_link", types.MessageEntityMentionName: "text_mention",
    types.MessageEntityCustomEmoji: "custom_emoji", types.MessageEntityBlockquote: "blockquote",
}  # fmt: skip


class HtmlRefused(ValueError):
    """What Telegram (or the double's strict mode) would refuse; `description` as the Bot API gives it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.description = f"Bad Request: can't parse entities: {reason}"


def _byte(text: str, i: int) -> int:
    return len(text[:i].encode("utf-8"))


def check_tags(html: str, *, strict: bool = True) -> None:
    """Raise HtmlRefused for what Telegram refuses and Telethon would let through."""
    stack: list[tuple[str, int]] = []
    i = 0
    while i < len(html):
        c = html[i]
        if c == "<":
            m = _TAG.match(html, i)
            if m is None:
                raise HtmlRefused(f'unexpected "<" at byte offset {_byte(html, i)} (escape it as "&lt;")')
            closing, name = m.group(1) == "/", m.group(2).lower()
            if closing:
                if not stack:
                    raise HtmlRefused(f'unexpected end tag "{name}" at byte offset {_byte(html, i)}')
                open_name, _ = stack.pop()
                if open_name != name:
                    raise HtmlRefused(
                        f'unmatched end tag at byte offset {_byte(html, i)}, expected "</{open_name}>", found "</{name}>"'
                    )
            else:
                if name not in TAGS:
                    raise HtmlRefused(f'unsupported start tag "{name}" at byte offset {_byte(html, i)}')
                for attr in _ATTR.finditer(m.group(3)):
                    if attr.group(1).lower() not in TAGS[name]:
                        raise HtmlRefused(
                            f'unsupported attribute "{attr.group(1)}" of tag "{name}" at byte offset {_byte(html, i)}'
                        )
                stack.append((name, i))
            i = m.end()
        elif c == "&":
            m = _REF.match(html, i)
            if strict and (m is None or (m.group(1) is not None and m.group(1) not in NAMED)):
                raise HtmlRefused(f'unsupported HTML entity at byte offset {_byte(html, i)} (escape "&" as "&amp;")')
            i = m.end() if m else i + 1
        else:
            i += 1
    if stack:
        name, at = stack[-1]
        raise HtmlRefused(f'can\'t find end tag corresponding to start tag "{name}" at byte offset {_byte(html, at)}')


def entity_dict(e: Any) -> dict[str, Any]:
    kind = _KINDS.get(type(e), type(e).__name__)
    if kind == "blockquote" and getattr(e, "collapsed", False):
        kind = "expandable_blockquote"
    out: dict[str, Any] = {"type": kind, "offset": e.offset, "length": e.length}
    if kind == "text_link":
        out["url"] = e.url
    if kind == "pre" and e.language:
        out["language"] = e.language
    return out


def telegram_text_and_entities(html: str, *, strict: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """(visible text, Bot API entities) of an HTML message, or HtmlRefused; no length check."""
    check_tags(html, strict=strict)
    text, entities = telethon_html.parse(html)
    return text, [entity_dict(e) for e in entities]


def telegram_parse(html: str, *, strict: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """(visible text, Bot API entities) of an HTML message, or HtmlRefused. Raises AssertionError when
    the text is over Telegram's length limit (which Telegram refuses as "message is too long")."""
    check_tags(html, strict=strict)
    text, entities = telethon_html.parse(html)
    assert len(text.encode("utf-16-le")) // 2 <= MAX_UNITS, "message is too long"
    return text, [entity_dict(e) for e in entities]

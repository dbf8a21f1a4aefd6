"""Telegram's rules for parse_mode=HTML messages: parse like Telegram does, measure, and split safely.

Pure functions, no I/O. The parser follows the Bot API's HTML parser (tdlib's `parse_html`) step by
step, so it accepts and refuses the same inputs, with the same error messages and byte offsets.
On top of that it has a `strict` mode (the default) that also refuses what Telegram would silently
show wrongly: a bare `&` or an unsupported entity such as `&nbsp;` (Telegram prints those literally)
and a named entity without its `;` (Telegram decodes `&lt` too, which hides unescaped user text).

Limits: a message may hold at most 4096 UTF-16 code units of text after entity parsing, and at most
100 entities (Telegram accepts more but silently drops the formatting after the 100th).
"""

from __future__ import annotations

import bisect
import html as _stdhtml
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

MAX_MESSAGE_UNITS = 4096
MAX_CAPTION_UNITS = 1024
MAX_ENTITIES = 100
BLOCK_SEPARATOR = "\n\n"

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACE = frozenset(" \t\r\n\v\0")  # tdlib's is_space; "\0" is the end-of-input sentinel
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")
_ALPHA = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ALNUM = _ALPHA | _DIGITS
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ATTR_NAME_END = _SPACE | frozenset("=>/\"'")
_SURROGATE_ERROR = (
    "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units"
)
_MENTION_URL = re.compile(r"tg://user\?id=([0-9]{1,19})")
# tdlib's sort order for entities starting at the same offset with the same length (lower first)
_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}


class HtmlError(ValueError):
    """Text that Telegram would refuse with parse_mode=HTML (or that strict mode refuses)."""

    def __init__(self, reason: str, *, entity_error: bool = True) -> None:
        self.reason = reason
        self.entity_error = entity_error
        super().__init__(f"Can't parse entities: {reason}" if entity_error else reason)

    @property
    def api_description(self) -> str:
        """The `description` the Bot API would answer with (after HTTP 400)."""
        if self.entity_error:
            return f"Bad Request: can't parse entities: {self.reason}"
        return f"Bad Request: {self.reason[:1].lower()}{self.reason[1:]}"


@dataclass(frozen=True, slots=True)
class Entity:
    """One MessageEntity, offsets and lengths in UTF-16 code units."""

    type: str
    offset: int
    length: int
    url: str | None = None
    language: str | None = None
    custom_emoji_id: str | None = None
    user_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The Bot API JSON form of this entity."""
        out: dict[str, Any] = {"type": self.type, "offset": self.offset, "length": self.length}
        if self.url is not None:
            out["url"] = self.url
        if self.language:
            out["language"] = self.language
        if self.custom_emoji_id is not None:
            out["custom_emoji_id"] = self.custom_emoji_id
        if self.user_id is not None:
            out["user"] = {"id": self.user_id, "is_bot": False, "first_name": str(self.user_id)}
        return out


@dataclass(frozen=True, slots=True)
class ParsedHtml:
    """The visible text of an HTML message and its entities, as Telegram computes them."""

    text: str
    entities: tuple[Entity, ...]

    @property
    def length(self) -> int:
        """Visible length in UTF-16 code units."""
        return utf16_len(self.text)

    def entity_dicts(self) -> list[dict[str, Any]]:
        """The entities in Bot API JSON form."""
        return [entity.to_dict() for entity in self.entities]


class _Tok(NamedTuple):
    kind: int  # _TEXT, _OPEN or _CLOSE
    raw: str  # the source text of the token
    value: str  # TEXT: the decoded character; OPEN/CLOSE: the tag name


_TEXT, _OPEN, _CLOSE = 0, 1, 2


def utf16_len(s: str) -> int:
    """Length of `s` in UTF-16 code units (characters outside the BMP count twice)."""
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def _units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _decode_entity(t: str, i: int) -> tuple[str | None, int]:
    """Decode the character reference at t[i] == "&" like tdlib: (character or None, end index)."""
    j = i + 1
    if t[j] == "#":
        j += 1
        code = 0
        if t[j] == "x":
            j += 1
            while t[j] in _HEX:
                code = code * 16 + int(t[j], 16)
                j += 1
        else:
            while t[j] in _DIGITS:
                code = code * 10 + ord(t[j]) - 48
                j += 1
        if code == 0 or code >= 0x10FFFF or j - i >= 10:
            return None, i
        decoded = chr(code)
    else:
        while t[j] in _ALPHA:
            j += 1
        named = _NAMED.get(t[i + 1 : j])
        if named is None:
            return None, i
        decoded = named
    if t[j] == ";":
        j += 1
    return decoded, j


def _entity_problem(t: str, i: int) -> str | None:
    """Why strict mode refuses the character reference at t[i] == "&" (None if it is acceptable)."""
    decoded, end = _decode_entity(t, i)
    if decoded is not None and t[end - 1] == ";":
        return None
    reference = re.match(r"&#?[0-9A-Za-z]*;?", t[i:])
    assert reference is not None  # t[i] is "&", and the rest of the pattern is optional
    shown = reference.group(0)
    if decoded is None:
        return f'Unsupported HTML entity "{shown}" at byte offset {{}} (escape "&" as "&amp;")'
    return f'HTML entity "{shown}" without ";" at byte offset {{}}'


def _scan(source: str, strict: bool) -> tuple[list[_Tok], str, list[Entity]]:
    """Tokenize and parse `source` exactly like Telegram; raise HtmlError where Telegram would."""
    if "\0" in source:
        raise HtmlError("Text must not contain null bytes")
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        raise HtmlError("Strings must be encoded in UTF-8", entity_error=False) from None

    t = source + "\0"
    n = len(source)

    def bo(pos: int) -> int:
        return len(source[:pos].encode("utf-8"))

    tokens: list[_Tok] = []
    text: list[str] = []
    entities: list[Entity] = []
    # open tags: (name, argument, utf16 offset, index into `text`)
    stack: list[tuple[str, str, int, int]] = []
    offset = 0
    bad_surrogate = False
    i = 0
    while i < n:
        c = t[i]
        if c == "&":
            problem = _entity_problem(t, i) if strict else None
            if problem is not None:
                raise HtmlError(problem.format(bo(i)))
            decoded, end = _decode_entity(t, i)
            if decoded is not None:
                bad_surrogate |= 0xD800 <= ord(decoded) <= 0xDFFF
                tokens.append(_Tok(_TEXT, t[i:end], decoded))
                text.append(decoded)
                offset += _units(decoded)
                i = end
                continue
        if c != "<":
            tokens.append(_Tok(_TEXT, c, c))
            text.append(c)
            offset += _units(c)
            i += 1
            continue

        begin = i
        i += 1
        if t[i] != "/":
            while t[i] not in _SPACE and t[i] != ">":
                i += 1
            if t[i] == "\0":
                raise HtmlError(f"Unclosed start tag at byte offset {bo(begin)}")
            name = t[begin + 1 : i].translate(_ASCII_LOWER)
            if name not in SUPPORTED_TAGS:
                raise HtmlError(f'Unsupported start tag "{name}" at byte offset {bo(begin)}')
            argument = ""
            while t[i] != ">":
                while t[i] != "\0" and t[i] in _SPACE:
                    i += 1
                if t[i] == ">":
                    break
                attr_begin = i
                while t[i] not in _ATTR_NAME_END:
                    i += 1
                attr = t[attr_begin:i]
                if not attr:
                    raise HtmlError(f'Empty attribute name in the tag "{name}" at byte offset {bo(begin)}')
                while t[i] != "\0" and t[i] in _SPACE:
                    i += 1
                if t[i] != "=":
                    if t[i] == "\0":
                        raise HtmlError(f'Unclosed start tag "{name}" at byte offset {bo(begin)}')
                    if name == "blockquote" and attr == "expandable":
                        argument = "1"
                    continue
                i += 1
                while t[i] != "\0" and t[i] in _SPACE:
                    i += 1
                if t[i] == "\0":
                    raise HtmlError(f'Unclosed start tag "{name}" at byte offset {bo(begin)}')
                if t[i] not in "'\"":
                    token_begin = i
                    while t[i] in _ALNUM or t[i] in ".-":
                        i += 1
                    value = t[token_begin:i].translate(_ASCII_LOWER)
                    if t[i] not in _SPACE and t[i] != ">":
                        raise HtmlError(f"Unexpected end of name token at byte offset {bo(token_begin)}")
                else:
                    quote = t[i]
                    i += 1
                    chars: list[str] = []
                    while t[i] != quote and t[i] != "\0":
                        if t[i] == "&":
                            problem = _entity_problem(t, i) if strict else None
                            if problem is not None:
                                raise HtmlError(problem.format(bo(i)))
                            decoded, end = _decode_entity(t, i)
                            if decoded is not None:
                                chars.append(decoded)
                                i = end
                                continue
                        chars.append(t[i])
                        i += 1
                    if t[i] == quote:
                        i += 1
                    value = "".join(chars)
                if t[i] == "\0":
                    raise HtmlError(f"Unclosed start tag at byte offset {bo(begin)}")
                if name == "a" and attr == "href":
                    argument = value
                elif name == "code" and attr == "class" and value.startswith("language-"):
                    argument = value[9:]
                elif name == "span" and attr == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif name == "tg-emoji" and attr == "emoji-id":
                    argument = value
                elif name == "blockquote" and attr == "expandable":
                    argument = "1"
            if name == "span" and argument != "spoiler":
                raise HtmlError(f'Tag "span" must have class "tg-spoiler" at byte offset {bo(begin)}')
            i += 1
            tokens.append(_Tok(_OPEN, t[begin:i], name))
            stack.append((name, argument, offset, len(text)))
            continue

        if not stack:
            raise HtmlError(f"Unexpected end tag at byte offset {bo(begin)}")
        while t[i] not in _SPACE and t[i] != ">":
            i += 1
        end_name = t[begin + 2 : i].translate(_ASCII_LOWER)
        while t[i] != "\0" and t[i] in _SPACE:
            i += 1
        if t[i] != ">":
            raise HtmlError(f"Unclosed end tag at byte offset {bo(begin)}")
        name, argument, start, text_start = stack[-1]
        if end_name and end_name != name:
            raise HtmlError(f'Unmatched end tag at byte offset {bo(begin)}, expected "</{name}>", found "</{end_name}>"')
        i += 1
        tokens.append(_Tok(_CLOSE, t[begin:i], name))
        stack.pop()
        if offset > start:
            _add_entity(entities, name, argument, start, offset - start, "".join(text[text_start:]))
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    if bad_surrogate:
        raise HtmlError(_SURROGATE_ERROR)
    entities = [e if e.type != "code" or e.language is None else _replace_language(e, None) for e in entities]
    entities.sort(key=lambda e: (e.offset, -e.length, _PRIORITY.get(e.type, 50)))
    return tokens, "".join(text), entities


def _replace_language(e: Entity, language: str | None) -> Entity:
    return Entity(e.type, e.offset, e.length, e.url, language, e.custom_emoji_id, e.user_id)


def _add_entity(entities: list[Entity], name: str, argument: str, offset: int, length: int, inner: str) -> None:
    """Append the entity made by a closed tag, merging <pre><code class="language-x"> like tdlib."""
    simple = _SIMPLE_TYPES.get(name)
    if simple is not None:
        entities.append(Entity(simple, offset, length))
    elif name == "tg-emoji":
        if not re.fullmatch(r"-?[0-9]{1,19}", argument) or not -(2**63) <= int(argument) < 2**63 or int(argument) == 0:
            raise HtmlError("Invalid custom emoji identifier specified")
        entities.append(Entity("custom_emoji", offset, length, custom_emoji_id=str(int(argument))))
    elif name == "a":
        url = argument or inner
        mention = _MENTION_URL.fullmatch(url)
        if mention:
            entities.append(Entity("text_mention", offset, length, user_id=int(mention.group(1))))
        elif url:  # Telegram also drops links it considers invalid; not modelled (counting stays safe)
            entities.append(Entity("text_link", offset, length, url=url))
    elif name == "pre":
        last = entities[-1] if entities else None
        if last and last.type == "code" and (last.offset, last.length) == (offset, length) and last.language:
            entities[-1] = Entity("pre", offset, length, language=last.language)
        else:
            entities.append(Entity("pre", offset, length))
    elif name == "code":
        last = entities[-1] if entities else None
        if last and last.type == "pre" and (last.offset, last.length) == (offset, length) and argument:
            entities[-1] = Entity("pre", offset, length, language=argument)
        else:
            entities.append(Entity("code", offset, length, language=argument or None))
    elif name == "blockquote":
        entities.append(Entity("expandable_blockquote" if argument else "blockquote", offset, length))


def parse_html(html: str, *, strict: bool = True) -> ParsedHtml:
    """Parse Telegram HTML into visible text and entities; raise HtmlError where Telegram would refuse."""
    _, text, entities = _scan(html, strict)
    return ParsedHtml(text, tuple(entities))


def measure(html: str, *, strict: bool = True) -> tuple[int, int]:
    """(visible length in UTF-16 code units, number of entities) of an HTML message."""
    parsed = parse_html(html, strict=strict)
    return parsed.length, len(parsed.entities)


def check_message(
    html: str, *, limit: int = MAX_MESSAGE_UNITS, max_entities: int = MAX_ENTITIES, strict: bool = True
) -> ParsedHtml:
    """Parse and check an HTML message against Telegram's limits; raise HtmlError if it breaks one."""
    parsed = parse_html(html, strict=strict)
    if not parsed.text.strip():
        raise HtmlError("Message text is empty", entity_error=False)
    if parsed.length > limit:
        raise HtmlError("Message is too long", entity_error=False)
    if len(parsed.entities) > max_entities:
        raise HtmlError(f"Too many entities: {len(parsed.entities)} > {max_entities}", entity_error=False)
    return parsed


_TAG_LIKE = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")


def html_to_plain(html: str) -> str:
    """The visible text of an HTML message, for resending as plain text; never raises."""
    try:
        return parse_html(html, strict=False).text
    except HtmlError:
        pass
    stripped = _TAG_LIKE.sub("", html.replace("\0", ""))
    out: list[str] = []
    t = stripped + "\0"
    i = 0
    while i < len(stripped):
        if t[i] == "&":
            decoded, end = _decode_entity(t, i)
            if decoded is not None and not 0xD800 <= ord(decoded) <= 0xDFFF:
                out.append(decoded)
                i = end
                continue
        out.append(t[i])
        i += 1
    return "".join(out)


# --------------------------------------------------------------------------------------------------
# Splitting


_SENTENCE_END = frozenset(".!?…。")
_CLOSERS = frozenset("\"'»”’)]")
_GLUE = frozenset("\u200d\ufe0e\ufe0f")  # zero-width joiner, variation selectors: never cut around them
_PARAGRAPH, _LINE, _SENTENCE, _WORD, _ANYWHERE = 4, 3, 2, 1, 0


class _Block:
    """One HTML block prepared for cutting: its characters, tag instances and a running renderer."""

    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.chars: list[str] = []
        self.char_tok: list[int] = []  # token index of each visible character
        spans: list[tuple[int, int]] = []  # visible char ranges of non-empty tag instances
        opened: list[int] = []
        for k, tok in enumerate(tokens):
            if tok.kind == _TEXT:
                self.chars.append(tok.value)
                self.char_tok.append(k)
            elif tok.kind == _OPEN:
                opened.append(len(self.chars))
            else:
                start = opened.pop()
                if len(self.chars) > start:
                    spans.append((start, len(self.chars)))
        spans.sort()
        self.starts = [s for s, _ in spans]
        self.spans = spans
        self.prefix = [0]
        for ch in self.chars:
            self.prefix.append(self.prefix[-1] + _units(ch))
        self.n = len(self.chars)
        self._pos = 0  # tokens before this index have been walked
        self._stack: list[_Tok] = []

    def units(self, a: int, b: int) -> int:
        """UTF-16 length of chars[a:b]."""
        return self.prefix[b] - self.prefix[a]

    def entities(self, a: int, b: int) -> int:
        """Upper bound of the entities of the piece chars[a:b] (pre+code pairs count twice)."""
        open_at_a = sum(1 for s, e in self.spans[: bisect.bisect_left(self.starts, a)] if e > a)
        return open_at_a + bisect.bisect_left(self.starts, b) - bisect.bisect_left(self.starts, a)

    def max_end(self, a: int, units: int, entities: int) -> tuple[int, int]:
        """Largest b such that chars[a:b] fits the budget, by units only and by both limits."""
        by_units = bisect.bisect_right(self.prefix, self.prefix[a] + units) - 1
        first = bisect.bisect_left(self.starts, a)
        open_at_a = sum(1 for s, e in self.spans[:first] if e > a)
        if open_at_a > entities:
            return min(by_units, self.n), a
        k = first + entities - open_at_a
        by_entities = self.starts[k] if k < len(self.starts) else self.n
        return min(by_units, self.n), min(by_units, by_entities, self.n)

    def skip_space(self, a: int) -> int:
        """The first position at or after a that is not whitespace (n if none)."""
        while a < self.n and self.chars[a].isspace():
            a += 1
        return a

    def _ws(self, k: int) -> bool:
        return self.chars[k].isspace()

    def _safe(self, p: int) -> bool:
        """Whether cutting between chars[p-1] and chars[p] keeps grapheme clusters whole (roughly)."""
        before, after = self.chars[p - 1], self.chars[p]
        if after in _GLUE or before == "\u200d" or unicodedata.combining(after):
            return False
        if 0x1F3FB <= ord(after) <= 0x1F3FF:  # skin tone modifier
            return False
        return not (0xDC00 <= ord(after) <= 0xDFFF)

    def _score(self, p: int, a: int) -> int:
        """Boundary class of cutting at p (chars[p] starts a whitespace run), -1 if p starts none."""
        if not self._ws(p) or self._ws(p - 1):
            return -1
        q = p
        newlines = 0
        while q < self.n and self._ws(q):
            newlines += self.chars[q] == "\n"
            q += 1
        if newlines >= 2:
            return _PARAGRAPH
        if newlines == 1:
            return _LINE
        last = self.chars[p - 1]
        if last in _SENTENCE_END or (last in _CLOSERS and p - 2 >= a and self.chars[p - 2] in _SENTENCE_END):
            return _SENTENCE
        return _WORD

    def cut(self, a: int, b_max: int) -> tuple[int, int]:
        """Where to end the piece starting at a (end <= b_max) and where the next piece starts."""
        if b_max >= self.n:
            return self.n, self.n
        best: dict[int, int] = {}
        low = a + max(1, (b_max - a) // 2)
        for p in range(b_max, low - 1, -1):
            score = self._score(p, a)
            if score >= 0 and score not in best:
                best[score] = p
        for score in (_PARAGRAPH, _LINE, _SENTENCE, _WORD):
            if score in best:
                end = best[score]
                nxt = end
                while nxt < self.n and self._ws(nxt):
                    nxt += 1
                return end, nxt
        for p in range(b_max, a, -1):
            if self._safe(p):
                return p, p
        return b_max, b_max

    def render(self, a: int, b: int, *, plain: bool = False) -> str:
        """HTML of the piece chars[a:b]: open tags reopened first, still-open tags closed at the end."""
        s = self.char_tok[a - 1] + 1 if a > 0 else 0
        e = self.char_tok[b - 1] + 1 if b < self.n else len(self.tokens)
        while self._pos < s:
            self._walk(self.tokens[self._pos])
        out = [] if plain else [tok.raw for tok in self._stack]
        for tok in self.tokens[s:e]:
            self._walk(tok)
            if tok.kind == _TEXT:
                out.append(_stdhtml.escape(tok.value, quote=False) if plain else tok.raw)
            elif not plain:
                out.append(tok.raw)
        if not plain:
            out.extend(f"</{tok.value}>" for tok in reversed(self._stack))
        return "".join(out)

    def _walk(self, tok: _Tok) -> None:
        if tok.kind == _OPEN:
            self._stack.append(tok)
        elif tok.kind == _CLOSE:
            self._stack.pop()
        self._pos += 1

    def piece(self, a: int, units: int, entities: int, *, allow_plain: bool = True) -> tuple[str, int, int, int] | None:
        """Cut the next piece from a: (html, units, entities, next start), or None if nothing fits."""
        by_units, b_max = self.max_end(a, units, entities)
        if b_max > a:
            end, nxt = self.cut(a, b_max)
            return self.render(a, end), self.units(a, end), self.entities(a, end), nxt
        if by_units <= a or not allow_plain:
            return None
        # More tags are open around chars[a] than the entity budget allows: send that stretch unformatted.
        end, nxt = self.cut(a, by_units)
        return self.render(a, end, plain=True), self.units(a, end), 0, nxt


def split_html(
    blocks: Sequence[str] | str,
    limit: int = MAX_MESSAGE_UNITS,
    max_entities: int = MAX_ENTITIES,
    *,
    separator: str = BLOCK_SEPARATOR,
    strict: bool = True,
) -> list[str]:
    """Pack HTML blocks into as few messages as fit Telegram's limits, splitting oversized blocks safely.

    Blocks that share a message are joined with `separator` (a blank line by default). Blocks with no
    visible text are dropped. A block too big for a message of its own is cut at the best boundary of
    its visible text (paragraph, line, sentence, word, else a character that keeps emoji whole),
    closing the tags open at the cut and reopening them in the next piece; the whitespace at a cut is
    dropped. An oversized block first fills the current message if at least a quarter of it is free.
    Raises HtmlError if a block is not valid Telegram HTML.
    """
    if isinstance(blocks, str):
        blocks = [blocks]
    if limit < 2 or max_entities < 0:
        raise ValueError("limit must be at least 2 and max_entities non-negative")
    if separator.strip() or "<" in separator or "&" in separator:
        raise ValueError("separator must be plain whitespace")
    sep_units = utf16_len(separator)

    messages: list[str] = []
    parts: list[str] = []
    used_units = used_entities = 0

    def flush() -> None:
        nonlocal parts, used_units, used_entities
        if parts:
            messages.append(separator.join(parts))
        parts, used_units, used_entities = [], 0, 0

    def add(html: str, units: int, entities: int) -> None:
        nonlocal used_units, used_entities
        used_units += units + (sep_units if parts else 0)
        used_entities += entities
        parts.append(html)

    for html in blocks:
        tokens, text, entities = _scan(html, strict)
        if not text.strip():
            continue
        units, count = utf16_len(text), len(entities)
        sep = sep_units if parts else 0
        if used_units + sep + units <= limit and used_entities + count <= max_entities:
            add(html, units, count)
            continue
        if units <= limit and count <= max_entities:
            flush()
            add(html, units, count)
            continue

        block = _Block(tokens)
        a = 0
        free = limit - used_units - sep
        if parts and free >= limit // 4:
            head = block.piece(0, free, max_entities - used_entities, allow_plain=False)
            if head is not None:
                add(*head[:3])
                a = head[3]
        a = block.skip_space(a)
        while a < block.n:
            flush()
            piece = block.piece(a, limit, max_entities)
            assert piece is not None  # limit >= 2 always fits one character
            add(*piece[:3])
            a = block.skip_space(piece[3])
    flush()
    return messages

"""Plain text (passages `¶ N`) and Markdown (passages labelled by their heading path)."""

from __future__ import annotations

import re

from bot.ingest.model import Block, Extraction, Labels, Stated, counted
from bot.ingest.textcheck import garbled, repair


def _paragraphs(text: str) -> list[str]:
    return [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]


def _check_garbled(text: str) -> None:
    from bot.ingest.model import IngestError

    if why := garbled(text):
        raise IngestError(f"the text is garbled ({why})")


def extract_text(text: str) -> Extraction:
    repairs: list[str] = []
    source = text.replace("\r\n", "\n").replace("\r", "\n")
    _check_garbled(source)
    clean = repair(source, repairs)
    paras = _paragraphs(clean)
    blocks = [Block(f"¶ {n}", p) for n, p in enumerate(paras, 1)]
    if any("\n" in p for p in clean.split("\n\n")):
        repairs.append("line breaks inside paragraphs joined")
    return Extraction("text", blocks, {}, repairs, [], source_text=source, summary=counted(len(blocks), "paragraph"))


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^(```|~~~)")
_MARKUP = [
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images: their alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links: their text
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?!\w)"), r"\1"),
    (re.compile(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?![\w])"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"<[^>]+>"), ""),
]
_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_QUOTE = re.compile(r"^\s*>\s?")


def _strip_markup(text: str, counts: dict[str, int]) -> str:
    for pattern, repl in _MARKUP:
        text, n = pattern.subn(repl, text)
        if n:
            counts["markup"] = counts.get("markup", 0) + n
    return text


def extract_markdown(text: str) -> Extraction:
    repairs: list[str] = []
    source = text.replace("\r\n", "\n").replace("\r", "\n")
    _check_garbled(source)
    clean = repair(source, repairs)
    lines = clean.split("\n")
    meta: dict[str, Stated] = {}
    if lines and lines[0].strip() == "---":  # front matter of the file's own: not text to quote
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is not None:
            lines = lines[end + 1 :]
            repairs.append("the file's own front matter left out")
    labels = Labels()
    blocks: list[Block] = []
    counts: dict[str, int] = {}
    buffer: list[str] = []
    title: str | None = None
    plain: list[str] = []  # the text with markup removed, for the verbatim check

    def flush() -> None:
        if not buffer:
            return
        para = " ".join(" ".join(buffer).split())
        buffer.clear()
        if para:
            blocks.append(Block(labels.label(), para))

    in_fence = False
    for line in lines:
        if _FENCE.match(line.strip()):
            flush()
            in_fence = not in_fence
            continue
        if in_fence:
            buffer.append(line)
            plain.append(line)
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            level, name = len(heading.group(1)), _strip_markup(heading.group(2), counts)
            if level == 1 and title is None and not blocks:
                title = name
                labels.path.clear()
                continue
            labels.heading(level - 1 if title is not None else level, name)  # under a title, ## is the top
            continue
        if not line.strip():
            flush()
            continue
        if _LIST.match(line) and buffer:
            flush()
        body = _QUOTE.sub("", _LIST.sub("", line))
        body = _strip_markup(body, counts)
        buffer.append(body)
        plain.append(body)
    flush()
    if title:
        meta["title_fallback"] = Stated(title, "the Markdown's first-level heading")
    if counts.get("markup"):
        repairs.append(f"Markdown markup removed ×{counts['markup']} (emphasis, links, code marks, list bullets kept out)")
    return Extraction(
        "Markdown", blocks, meta, repairs, [], source_text="\n".join(plain), summary=counted(len(blocks), "paragraph")
    )

"""The knowledge file: front matter with each value's origin as a YAML comment, the passages, and
the checks made before anything is written (the loader's own, and the verbatim check)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from bot.ingest.meta import Resolved
from bot.ingest.model import Block, Extraction, IngestError
from bot.ingest.textcheck import LineTiler, in_text, skeleton
from bot.knowledge.load import parse_document
from bot.knowledge.model import Problem

_HEADING_LIKE = re.compile(r"^##\s")
_SLUG = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip


def slug(text: str) -> str:
    out = "".join(_SLUG.get(c, c) for c in text.lower())
    out = re.sub(r"[^a-z0-9]+", "-", out).strip("-")
    return out[:64].rstrip("-")


def _q(value: object) -> str:
    """A YAML scalar: JSON's double-quoted strings are valid YAML."""
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_q(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def render(doc_id: str, resolved: Resolved, extraction: Extraction, source: Path, data: bytes) -> str:
    v, src = resolved.values, resolved.sources
    lines = ["---"]
    digest = hashlib.sha256(data).hexdigest()
    lines.append(f"# ingested by csto-bot ingest from {source.name} ({extraction.kind}, {extraction.summary}); sha256 {digest}")
    lines.append(f"id: {_q(doc_id)}")
    for name in ("title", "authors", "year", "venue", "publisher", "volume", "issue", "pages", "url", "language", "citation"):
        comment = f"  # {src[name]}" if name in src else ""
        lines.append(f"{name}: {_q(v[name])}{comment}".replace("\n", " "))
    note = f"Text extracted by csto-bot ingest from {source.name} ({extraction.kind}); the repairs made are listed below."
    lines.append(f"note: {_q(note)}")
    for repair in extraction.repairs:
        lines.append(f"# repair: {repair}".replace("\n", " "))
    for remark in resolved.notes + extraction.notes:
        lines.append(f"# note: {remark}".replace("\n", " "))
    lines.append("---")
    for block in extraction.blocks:
        lines.append(f"## {block.label}")
        for para in block.text.split("\n\n"):
            if _HEADING_LIKE.match(para):
                raise IngestError(
                    f"a paragraph on {block.label} starts with '## ', which the knowledge format reads as a heading"
                )
            lines.append(para)
            lines.append("")
        if lines[-1] == "":
            lines.pop()
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def verify(path: Path, text: str, extraction: Extraction) -> None:
    """The file the loader will read must give back exactly these passages, each the source's own
    words (whitespace and the listed repairs aside)."""
    problems: list[Problem] = []
    document = parse_document(path, text, problems)
    if problems or document is None:
        raise IngestError("the written document would not load: " + "; ".join(str(p) for p in problems))
    got = [(p.label, p.text) for p in document.passages]
    want = [(b.label, "\n\n".join(" ".join(part.split()) for part in b.text.split("\n\n"))) for b in extraction.blocks]
    if got != want:
        raise IngestError("internal error: the loader reads other passages than were extracted")
    if extraction.source_lines is not None:
        tiler = LineTiler(extraction.source_lines)
        check = tiler.covers
    else:
        source = skeleton(extraction.source_text or "")

        def check(passage: str) -> bool:
            return in_text(passage, source)

    for block in extraction.blocks:
        for para in block.text.split("\n\n"):
            if not check(para):
                raise IngestError(f"internal error: the passage on {block.label} is not the source's own words: “{para[:80]}…”")


def passages_report(blocks: list[Block], width: int = 100) -> list[str]:
    out = []
    for n, block in enumerate(blocks, 1):
        text = " ".join(block.text.split())
        out.append(f"  {n:>3}. [{block.label}] {text if len(text) <= width else text[: width - 1] + '…'}")
    return out

"""Text checks: a garbled text layer, and that every passage is the source's own words."""

from __future__ import annotations

import unicodedata
from collections import defaultdict

_BAD_CATEGORIES = {"Co", "Cn", "Cs"}
_ALLOWED_CONTROLS = set("\t\n\r\x02\x0c")
_REPAIRABLE = "\u00ad\u0002"  # soft hyphens: dropped by a listed repair


def garbled_share(text: str) -> tuple[float, str]:
    """The share of characters that cannot be real text (U+FFFD, private use, unassigned, stray
    controls), counting a text with too few letters as wholly garbled; and a sample of them."""
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return 0.0, ""
    bad = [
        c
        for c in visible
        if c == "\ufffd" or unicodedata.category(c) in _BAD_CATEGORIES or (unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS)
    ]
    letters = sum(1 for c in visible if c.isalpha())
    share = len(bad) / len(visible)
    if letters < 0.4 * len(visible):
        share = max(share, 1 - letters / len(visible))
        bad = bad or [c for c in visible if not c.isalnum()]
    return share, "".join(bad[:8])


def skeleton(text: str) -> str:
    """What the verbatim check compares: NFC, no whitespace, no soft hyphens."""
    text = unicodedata.normalize("NFC", text)
    return "".join(c for c in text if not c.isspace() and c not in _REPAIRABLE)


def in_text(passage: str, source_skeleton: str) -> bool:
    return skeleton(passage) in source_skeleton


class LineTiler:
    """Checks that a passage is a sequence of whole source lines (in any order of lines, since a
    page's columns are read in another order than the file's); a line ending in a hyphen may drop it
    (the hyphen-join repair)."""

    def __init__(self, lines: list[str]) -> None:
        self.by_prefix: dict[str, set[str]] = defaultdict(set)
        self.short: set[str] = set()
        for line in lines:
            sk = skeleton(line)
            variants = {sk, sk[:-1]} if sk[-1:] in "-\u2010" else {sk}
            for v in variants:
                if not v:
                    continue
                if len(v) < 4:
                    self.short.add(v)
                else:
                    self.by_prefix[v[:4]].add(v)

    def covers(self, passage: str) -> bool:
        target = skeleton(passage)
        reachable = [False] * (len(target) + 1)
        reachable[0] = True
        for i in range(len(target)):
            if not reachable[i]:
                continue
            for v in self.by_prefix.get(target[i : i + 4], ()):
                if target.startswith(v, i):
                    reachable[i + len(v)] = True
            for v in self.short:
                if target.startswith(v, i):
                    reachable[i + len(v)] = True
        return reachable[len(target)]

"""Text checks: a garbled text layer, and that every passage is the source's own words."""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict

_BAD_CATEGORIES = {"Co", "Cn", "Cs"}
_ALLOWED_CONTROLS = set("\t\n\r\x02\x0c")
_REPAIRABLE = "\u00ad\u0002"  # soft hyphens: dropped by a listed repair


GARBLED = 0.05  # a text with more unreadable characters than this is refused


def garbled(text: str) -> str | None:
    """Why a text layer cannot be real text, or None: the share of its characters that are
    unreadable (U+FFFD, private use, unassigned, stray controls), with a sample of them; or, for a
    text with too few letters to be prose, that share and how it begins."""
    counts = Counter(text)
    visible = bad = letters = 0
    sample: list[str] = []
    for c, n in counts.items():
        if c.isspace():
            continue
        visible += n
        category = unicodedata.category(c)
        if c == "\ufffd" or category in _BAD_CATEGORIES or (category == "Cc" and c not in _ALLOWED_CONTROLS):
            bad += n
            sample.append(c)
        elif c.isalpha():
            letters += n
    if not visible:
        return None
    if bad / visible > GARBLED:
        return f"{bad / visible:.0%} of its characters are unreadable, e.g. {''.join(sorted(sample)[:8])!r}"
    if letters < 0.4 * visible:
        return f"only {letters / visible:.0%} of its characters are letters; it begins {' '.join(text.split())[:24]!r}"
    return None


def repair(text: str, repairs: list[str], where: str = "") -> str:
    """The listed repairs of a text layer: NFC, and soft hyphens dropped; each one noted in `repairs`."""
    at = f" ({where})" if where else ""
    nfc = unicodedata.normalize("NFC", text)
    if nfc != text:
        repairs.append(f"NFC applied{at}")
    if "\u00ad" in nfc:
        repairs.append(f"soft hyphen dropped ×{nfc.count(chr(0xAD))}{at}")
        nfc = nfc.replace("\u00ad", "")
    return nfc


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

"""Sentence splitting: where a passage's sentences start and end (quotations and sentence vectors use it)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence ends at . ! ? or … followed by space and a capital, digit, quote or bracket.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"”»’)]?\s+(?=[\"“«(\[…]?[A-ZА-ЯЁ0-9])")
# Words after which a full stop does not end a sentence: initials and common abbreviations.
_ABBREVIATION = re.compile(
    r"(?:\b[A-ZА-Я]|\b(?:St|Mr|Mrs|Ms|Dr|Prof|Pp|pp|No|Vol|vol|ed|eds|comp|etc|vs|Jr|Sr|Ltd|Inc|Co|Apr|Jan|Feb|Mar|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|г|гг|им|т|ул|см))\.[\"”»’)]?$"
)


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


def sentences(text: str) -> list[Span]:
    """Sentence spans of a passage; paragraphs always end a sentence."""
    spans: list[Span] = []
    for para in re.finditer(r"[^\n]+", text):
        start = para.start()
        for boundary in _BOUNDARY.finditer(para.group()):
            cut = para.start() + boundary.start()
            if _ABBREVIATION.search(text[start:cut]) or cut <= start:
                continue
            spans.append(Span(start, cut))
            start = para.start() + boundary.end()
        end = para.end()
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans.append(Span(start, end))
    return spans

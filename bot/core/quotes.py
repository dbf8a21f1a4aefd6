"""Quote selection: the sentence or sentences of a passage that answer a question, verbatim."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from bot.search.analysis import Analyzer, Token

ELLIPSIS = "…"

# A sentence ends at . ! ? or … followed by space and a capital, digit, quote or bracket.
_BOUNDARY = re.compile(r"(?<=[.!?…])[\"”»’)]?\s+(?=[\"“«(\[…]?[A-ZА-ЯЁ0-9])")
# Words after which a full stop does not end a sentence: initials and common abbreviations.
_ABBREVIATION = re.compile(
    r"(?:\b[A-ZА-Я]|\b(?:St|Mr|Mrs|Ms|Dr|Prof|Pp|pp|No|Vol|vol|ed|eds|comp|etc|vs|Jr|Sr|Ltd|Inc|Co|Apr|Jan|Feb|Mar|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|г|гг|им|т|ул|см))\.[\"”»’)]?$"
)


# Three or more capitalised names in a row, separated by commas: "Armenia, Belarus, and Kazakhstan".
_ENUMERATION = re.compile(r"\b[A-ZА-ЯЁ][\w’'-]+(?:,\s+(?:and\s+|и\s+)?[A-ZА-ЯЁ][\w’'-]+){2,}")
# Questions whose answer is a list of names: who the members are, which countries or states.
_LIST_QUESTION = re.compile(
    r"\bwho\s+(?:are|is|were)\s+(?:the\s+)?members?\b|\bmembers?\s+of\b|\bmembership\b"
    r"|\b(?:which|what)\s+(?:countries|states|nations|members)\b|\blist\b"
    r"|\bчлен\w*|\bкакие\s+(?:страны|государства)\b|\bвход(?:ит|ят)\b|\bсостав\w*",
    re.IGNORECASE,
)


def asks_for_list(question: str) -> bool:
    return _LIST_QUESTION.search(question) is not None


def is_enumeration(text: str) -> bool:
    return _ENUMERATION.search(text) is not None


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


@dataclass(frozen=True, slots=True)
class Excerpt:
    """A verbatim stretch of a passage chosen as a quotation."""

    text: str  # with "…" where the passage was trimmed
    covered: frozenset[str]  # query terms it contains
    highlights: tuple[tuple[int, int], ...]  # spans of `text` whose words matched


@dataclass(frozen=True, slots=True)
class Profile:
    """A passage analyzed once: its sentences, the tokens of each (offsets into the passage text)
    and every term of the passage (its label's included), so that answering analyzes only the question."""

    sentences: tuple[Span, ...]
    tokens: tuple[tuple[Token, ...], ...]  # per sentence
    terms: frozenset[str]


def profile(text: str, analyzer: Analyzer, extra: str = "") -> Profile:
    """Analyze a passage's text sentence by sentence; `extra` (a label, metadata) adds terms only."""
    spans = tuple(sentences(text)) or (Span(0, len(text)),)
    tokens = tuple(
        tuple(Token(t.term, t.start + s.start, t.end + s.start) for t in analyzer.tokens(text[s.start : s.end])) for s in spans
    )
    terms = {t.term for sentence in tokens for t in sentence} | set(analyzer.terms(extra) if extra else ())
    return Profile(spans, tokens, frozenset(terms))


def best_excerpt(
    text: str,
    prof: Profile,
    query: Collection[str],
    weight: Callable[[str], float],
    *,
    max_chars: int,
    whole_below: int = 400,
    max_sentences: int = 3,
) -> Excerpt:
    """The shortest run of consecutive sentences that covers the most query weight, within max_chars.

    A passage shorter than `whole_below` is quoted whole (bibliography entries, author notes).
    """
    spans = prof.sentences
    if len(text) <= min(whole_below, max_chars):
        chosen = (0, len(spans) - 1)
    else:
        wanted = set(query)
        terms = [{t.term for t in sentence} & wanted for sentence in prof.tokens]
        best: tuple[float, int, int] | None = None
        chosen = (0, 0)
        for i in range(len(spans)):
            covered: set[str] = set()
            for j in range(i, min(i + max_sentences, len(spans))):
                covered |= terms[j]
                if spans[j].end - spans[i].start > max_chars and j > i:
                    break
                if j > i and not terms[j]:
                    continue  # a run never ends on a sentence that adds nothing
                key = (sum(weight(t) for t in covered), -(j - i), -i)
                if best is None or key > best:
                    best = key
                    chosen = (i, j)
    tokens = [t for sentence in prof.tokens[chosen[0] : chosen[1] + 1] for t in sentence]
    return _excerpt(text, spans[chosen[0]].start, spans[chosen[1]].end, tokens, query, max_chars)


def _excerpt(text: str, start: int, end: int, tokens: list[Token], query: Collection[str], max_chars: int) -> Excerpt:
    if end - start > max_chars:  # one very long sentence: cut at a word boundary
        cut = text.rfind(" ", start, start + max_chars)
        end = cut if cut > start else start + max_chars
    body = text[start:end]
    prefix = ELLIPSIS if start > 0 and not body.startswith(ELLIPSIS) else ""
    suffix = ""
    if end < len(text) and not body.endswith(ELLIPSIS):
        suffix = ELLIPSIS if body[-1:].isalnum() or body[-1:] in ",;:" else " " + ELLIPSIS
    shift = len(prefix) - start
    matched = [t for t in tokens if t.term in query and t.end <= end]
    highlights = tuple((t.start + shift, t.end + shift) for t in matched)
    return Excerpt(prefix + body + suffix, frozenset(t.term for t in matched), highlights)

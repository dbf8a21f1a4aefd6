"""Quote selection: the sentence or sentences of a passage that answer a question, verbatim."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from bot.search.analysis import Analyzer, Token
from bot.search.sentences import Span, sentences

__all__ = [
    "Excerpt", "Profile", "Span", "asks_for_date", "asks_for_list", "asks_for_quantity", "best_excerpt",
    "has_number", "has_quantity", "is_enumeration", "profile",
    "sentences",
]  # fmt: skip

ELLIPSIS = "…"

# Three or more capitalised names in a row, separated by commas: "Armenia, Belarus, and Kazakhstan".
_ENUMERATION = re.compile(r"\b[A-ZА-ЯЁ][\w’'-]+(?:,\s+(?:and\s+|и\s+)?[A-ZА-ЯЁ][\w’'-]+){2,}")
# Questions whose answer is a list of names: who the members are, which countries or states.
_LIST_QUESTION = re.compile(
    r"\bwho\s+(?:are|is|were)\s+(?:the\s+)?members?\b|\bmembers?\s+of\b|\bmembership\b"
    r"|\b(?:which|what)\s+(?:countries|states|nations|members)\b|\blist\b"
    r"|\bчлен\w*|\bкакие\s+(?:страны|государства)\b|\bвход(?:ит|ят)\b|\bсостав\w*",
    re.IGNORECASE,
)


# Questions whose answer is a date (when, which year) or a quantity (how many, how much, the
# population or the GDP of…). A quotation that answers one has a number in it; for a quantity, a
# number that is neither a year nor where a cited work sits (No. 3, pp. 140–147, 268 p.).
_DATE_QUESTION = re.compile(
    r"\bwhen\b|\b(?:what|which)\s+year\b|\bin\s+what\s+year\b|\bsince\s+when\b"
    r"|\bкогда\b|\b(?:в|с)\s+каком\s+году\b|\bс\s+какого\s+года\b|\bкакого\s+числа\b|\bв\s+каком\s+месяце\b",
    re.IGNORECASE,
)
_QUANTITY_QUESTION = re.compile(
    r"\bhow\s+(?:many|much|large|big|old|long)\b|\bсколько\b|\b(?:population|gdp|budget|exchange\s+rate|number\s+of)\b"
    r"|\bчисленност\w*|\bнаселени\w*|\bввп\b|\bбюджет\w*|\bкурс\w*",
    re.IGNORECASE,
)
# Number words, "one" and "один" left out: mostly a pronoun ("one cannot dismiss"), not a figure.
_NUMBER = re.compile(
    r"\d|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|hundred|thousand|million|billion"
    r"|dozens?|два|две|три|четыре|пять|шесть|семь|восемь|девять|десять|сто|тысяч\w*|миллион\w*)\b",
    re.IGNORECASE,
)
# What is a number but not a quantity: a year (with its parentheses, a range "2014 – Present" or
# "2002–2009"), and the locators of a citation: issue, volume, pages.
_NOT_A_QUANTITY = re.compile(
    r"\(?\b(?:1[89]|20)\d\d\b(?:\s*[–—-]\s*(?:(?:1[89]|20)\d\d\b|present\b))?\)?"
    r"|\b(?:no|vol|issue|pp?|с|№|т|вып)\.?\s*\d[\d\s().–—-]*"
    r"|\b\d+(?:\s*[–—-]\s*\d+)?\s*(?:p|pp|с)\.",
    re.IGNORECASE,
)


def asks_for_date(question: str) -> bool:
    return _DATE_QUESTION.search(question) is not None


def asks_for_quantity(question: str) -> bool:
    return _QUANTITY_QUESTION.search(question) is not None


def has_number(text: str) -> bool:
    return _NUMBER.search(text) is not None


def has_quantity(text: str) -> bool:
    """A number in `text` that is not a year or a citation's issue, volume or page."""
    return has_number(_NOT_A_QUANTITY.sub(" ", text))


def asks_for_list(question: str) -> bool:
    return _LIST_QUESTION.search(question) is not None


def is_enumeration(text: str) -> bool:
    return _ENUMERATION.search(text) is not None


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
    meaning: Callable[[int, int], float] | None = None,
) -> Excerpt:
    """The shortest run of consecutive sentences that best answers the question, within max_chars.

    A run is judged by the share of the query weight it covers plus, when `meaning` is given, how
    well its best sentence matches the question by meaning (`meaning(start, end)`, a cosine).
    A passage shorter than `whole_below` is quoted whole (bibliography entries, author notes).
    """
    spans = prof.sentences
    if len(text) <= min(whole_below, max_chars):
        chosen = (0, len(spans) - 1)
    else:
        wanted = set(query)
        # fsum: exact, so a run's score never depends on the order in which a set yields its terms
        # (that order changes with PYTHONHASHSEED, and equal scores must stay equal for the tie-break).
        total = math.fsum(weight(t) for t in wanted) or 1.0
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
                score = math.fsum(weight(t) for t in covered) / total
                if meaning is not None:
                    score += meaning(spans[i].start, spans[j].end)
                key = (score, -(j - i), -i)
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

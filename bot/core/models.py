"""The data that flows from the core to the adapters: sources, quotations and answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True, slots=True)
class Source:
    """A cited document, numbered [n] in order of first use within one answer."""

    n: int
    id: str
    title: str
    citation: str
    url: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"n": self.n, "id": self.id, "title": self.title, "citation": self.citation, "url": self.url}


@dataclass(frozen=True, slots=True)
class Quote:
    """A verbatim quotation from one passage.

    `text` is the source's own words; "…" marks where it was trimmed. `highlights` are
    (start, end) character spans of `text` whose words matched the question.
    """

    n: int
    text: str
    passage_id: str
    locator: str
    score: float
    source: Source
    highlights: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "n": self.n,
            "text": self.text,
            "passage_id": self.passage_id,
            "locator": self.locator,
            "score": round(self.score, 6),
            "source": self.source.to_json(),
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why the core answered or declined: the best passage's evidence and the threshold it met or missed."""

    coverage: float  # the share of the question's weight whose words the passage has (or their stand-ins)
    meaning: float  # cosine of the question with the passage's best sentence
    specificity: float  # the share of what the question asks beyond its names that the passage has
    confidence: float  # coverage and meaning, calibrated; 0 when the passage has nothing but a name of the question
    threshold: float  # the confidence an answer needs
    passage_id: str | None = None
    unknown: tuple[str, ...] = ()  # question words that no passage uses and that nothing stands in for
    bridged: tuple[tuple[str, tuple[str, ...]], ...] = ()  # question words reached through the term bridge

    def to_json(self) -> dict[str, object]:
        return {
            "coverage": round(self.coverage, 4),
            "meaning": round(self.meaning, 4),
            "specificity": round(self.specificity, 4),
            "confidence": round(self.confidence, 4),
            "threshold": self.threshold,
            "passage_id": self.passage_id,
            "unknown_words": list(self.unknown),
            "bridged_words": {word: list(terms) for word, terms in self.bridged},
        }


class Kind(str, Enum):
    ANSWER = "answer"  # quotations found
    ABSTAIN = "abstain"  # the sources do not cover the question
    HELP = "help"  # greeting, "help", empty input: no search was made


@dataclass(frozen=True, slots=True)
class Answer:
    question: str
    kind: Kind
    quotes: tuple[Quote, ...] = ()
    sources: tuple[Source, ...] = ()
    suggestions: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    more: int = 0  # how many further quotations `answer(question, offset=...)` can give
    offset: int = 0  # the position of the first quotation among all that answer the question
    lang: str = "en"  # the language of the question, for the reply's own words
    evidence: Evidence | None = None  # why it answered or declined (None for help)

    @property
    def answered(self) -> bool:
        return self.kind is Kind.ANSWER

    def to_json(self) -> dict[str, object]:
        return {
            "question": self.question,
            "answered": self.answered,
            "kind": self.kind.value,
            "quotes": [q.to_json() for q in self.quotes],
            "sources": [s.to_json() for s in self.sources],
            "suggestions": list(self.suggestions),
            "topics": list(self.topics),
            "more": self.more,
            "lang": self.lang,
            "evidence": self.evidence.to_json() if self.evidence else None,
        }


@dataclass(frozen=True, slots=True)
class PassageView:
    """A whole passage with its neighbours, for "show the source" requests."""

    passage_id: str
    locator: str
    text: str
    source: Source
    before: str | None = None
    after: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

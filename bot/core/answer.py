"""The pure core: `Core.answer(question) -> Answer`. No network, no Telegram, no terminal."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from bot.core.models import Answer, Kind, PassageView, Quote, Source
from bot.core.quotes import Excerpt, Profile, asks_for_list, best_excerpt, is_enumeration, profile
from bot.knowledge.load import check_knowledge, load_knowledge
from bot.knowledge.model import Document, KnowledgeBase, Passage, Problem
from bot.search.aliases import AliasCheck
from bot.search.retriever import Hit, Retriever

MAX_QUESTION_CHARS = 1000
CANDIDATES = 20  # passages considered per question
PROFILE_CACHE = 8192  # analyzed passages kept in memory (all of them for a small knowledge base)
COVERAGE_DEPTH = 5  # the best of this many passages decides whether the sources cover a question
# A question word that no passage uses is strong evidence that the sources do not cover the
# question; a word they use elsewhere, but not in this passage, is weaker evidence.
KNOWN_MISS_WEIGHT = 0.5

_HELP = {
    "help", "hi", "hello", "hey", "start", "menu", "about", "thanks", "thank you", "good morning",
    "good evening", "good afternoon", "what can you do", "who are you", "how are you",
    "помощь", "привет", "здравствуй", "здравствуйте", "добрый день", "добрый вечер", "доброе утро",
    "спасибо", "начать", "меню", "что ты умеешь", "кто ты", "хелп",
}  # fmt: skip
_DEFAULT_EXAMPLES = (
    "Who are the members of the CSTO?",
    "How does the CSTO operate under sanctions?",
    "What happened in Kazakhstan in January 2022?",
)


@dataclass(frozen=True, slots=True)
class Limits:
    max_quotes: int = 3
    max_quote_chars: int = 600
    max_answer_chars: int = 1800
    min_coverage: float = 0.5


def clean_question(text: str) -> str:
    """Drop control and format characters (zero-width, bidi), collapse spaces, bound the length."""
    kept = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text if unicodedata.category(c) != "Cf")
    kept = " ".join(kept.split())
    return kept[:MAX_QUESTION_CHARS]


def language_of(text: str) -> str:
    """ "ru" when the question is mostly Cyrillic, else "en": the language of the reply's own words."""
    cyrillic = sum(1 for c in text if "\u0400" <= c <= "\u04ff")
    latin = sum(1 for c in text if c.isascii() and c.isalpha())
    return "ru" if cyrillic > latin else "en"


def is_help(question: str) -> bool:
    words = re.sub(r"[^\w\s]", " ", question.casefold()).split()
    return not words or " ".join(words) in _HELP or (len(words) == 1 and words[0] in {"h", "help", "помощь"})


def source_of(document: Document, n: int = 0) -> Source:
    m = document.meta
    return Source(n=n, id=m.id, title=m.title, citation=m.citation, url=m.url)


@dataclass(frozen=True, slots=True)
class _Candidate:
    hit: Hit
    excerpt: Excerpt
    coverage: float


class Core:
    """Answers questions from one knowledge base with verbatim, cited quotations."""

    def __init__(self, kb: KnowledgeBase, retriever: Retriever, limits: Limits = Limits()) -> None:
        self.kb = kb
        self.retriever = retriever
        self.limits = limits
        self._documents = {d.meta.id: d for d in kb.documents}
        self._passages = {p.id: p for p in kb.passages}
        examples = [q for d in kb.documents for q in d.meta.examples]
        self.examples: tuple[str, ...] = tuple(examples[:3]) if examples else _DEFAULT_EXAMPLES
        self._profile = functools.lru_cache(maxsize=PROFILE_CACHE)(self._analyze)
        if len(kb.passages) <= PROFILE_CACHE // 4:  # small: analyze everything now, not on first use
            for p in kb.passages:
                self._profile(p.id)

    def _analyze(self, passage_id: str) -> Profile:
        p = self._passages[passage_id]
        extra = p.search_text if p.search_text is not None else p.label
        return profile(p.text, self.retriever.analyzer, extra)

    @classmethod
    def load(cls, knowledge_dir: Path, limits: Limits = Limits(), index_dir: Path | None = None) -> Core:
        """Validate and load a knowledge base (raises KnowledgeError), then build or load its index."""
        kb = load_knowledge(knowledge_dir, alias_check=AliasCheck)
        return cls(kb, Retriever.build(kb, index_dir), limits)

    @staticmethod
    def check(knowledge_dir: Path) -> list[Problem]:
        """Every problem of a knowledge base, the alias checks that need the analysis included (`csto-bot check`)."""
        return check_knowledge(knowledge_dir, alias_check=AliasCheck)

    @property
    def documents(self) -> tuple[Document, ...]:
        return self.kb.documents

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(d.meta.title for d in self.kb.documents)

    def answer(self, question: str, offset: int = 0) -> Answer:
        """Quotations that answer `question`, best first, from `offset` on; or help, or an honest abstention."""
        question = clean_question(question)
        lang = language_of(question)
        terms = self.retriever.analyzer.terms(question) if not is_help(question) else []
        if not terms:
            return Answer(question, Kind.HELP, suggestions=self.examples, topics=self.topics, lang=lang)
        candidates = self._candidates(terms, asks_for_list(question))
        if not candidates or max(c.coverage for c in candidates[:COVERAGE_DEPTH]) < self.limits.min_coverage:
            return Answer(question, Kind.ABSTAIN, suggestions=self.examples, topics=self.topics, lang=lang)
        return self._compose(question, candidates, max(offset, 0), lang)

    def _candidates(self, terms: list[str], wants_list: bool = False) -> list[_Candidate]:
        """Passages that may answer, best first, each with its quotation and how much of the question
        it covers. For a question whose answer is a list of names ("Who are the members…"), quotations
        that enumerate names come first: the words of such a question rarely occur beside the list."""
        query = frozenset(terms)
        weight = self.retriever.weight
        known = self.retriever.index.df
        out: list[_Candidate] = []
        seen: set[str] = set()
        for hit in self.retriever.search(terms, CANDIDATES):
            prof = self._profile(hit.passage.id)
            covered = query & prof.terms
            excerpt = best_excerpt(hit.passage.text, prof, query, weight, max_chars=self.limits.max_quote_chars)
            if excerpt.text in seen:
                continue  # the same words in two places: quote them once
            seen.add(excerpt.text)
            matched = sum(weight(t) for t in covered)
            missed = sum(weight(t) * (KNOWN_MISS_WEIGHT if known(t) else 1.0) for t in query - covered)
            out.append(_Candidate(hit, excerpt, matched / (matched + missed)))
        best = max((c.coverage for c in out), default=0.0)
        # Quotes that cover much less of the question than the best one are noise.
        out = [c for c in out if c.coverage >= 0.5 * best]
        if wants_list:
            out.sort(key=lambda c: not is_enumeration(c.excerpt.text))  # stable: BM25 order otherwise
        return out

    def _compose(self, question: str, candidates: list[_Candidate], offset: int, lang: str) -> Answer:
        chosen: list[_Candidate] = []
        length = 0
        for c in candidates[offset:]:
            if len(chosen) >= self.limits.max_quotes or (chosen and length + len(c.excerpt.text) > self.limits.max_answer_chars):
                break
            chosen.append(c)
            length += len(c.excerpt.text)
        numbers: dict[str, Source] = {}
        quotes: list[Quote] = []
        for c in chosen:
            doc = self._documents[c.hit.passage.doc_id]
            source = numbers.get(doc.meta.id) or numbers.setdefault(doc.meta.id, source_of(doc, len(numbers) + 1))
            quotes.append(
                Quote(source.n, c.excerpt.text, c.hit.passage.id, c.hit.passage.label, c.hit.score, source, c.excerpt.highlights)
            )
        more = max(0, len(candidates) - offset - len(chosen))
        return Answer(question, Kind.ANSWER, tuple(quotes), tuple(numbers.values()), more=more, offset=offset, lang=lang)

    def document(self, doc_id: str) -> Document | None:
        return self._documents.get(doc_id)

    def passage(self, passage_id: str) -> Passage | None:
        return self._passages.get(passage_id)

    def passage_view(self, passage_id: str) -> PassageView | None:
        """A whole passage with its neighbours in the same document, for "show the source"."""
        p = self._passages.get(passage_id)
        if p is None:
            return None
        doc = self._documents[p.doc_id]
        i = p.ordinal - 1
        before = doc.passages[i - 1].text if i > 0 else None
        after = doc.passages[i + 1].text if 0 <= i and i + 1 < len(doc.passages) else None
        return PassageView(p.id, p.label, p.text, source_of(doc, 1), before, after)

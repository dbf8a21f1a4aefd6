"""The pure core: `Core.answer(question) -> Answer`. No network, no Telegram, no terminal."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.core import quotes as quoting
from bot.core.models import Answer, Evidence, Kind, PassageView, Quote, Source
from bot.core.quotes import Excerpt, Profile, best_excerpt, profile
from bot.knowledge.load import check_knowledge, load_knowledge
from bot.knowledge.model import REFERENCE_WORDS, Document, KnowledgeBase, Passage, Problem
from bot.search.aliases import AliasCheck
from bot.search.analysis import Token
from bot.search.bridge import WordMatch, match_words
from bot.search.encoder import Encoder
from bot.search.fusion import CALIBRATION, rrf
from bot.search.retriever import Hit, Retriever

MAX_QUESTION_CHARS = 1000
CANDIDATES = 20  # passages taken from each ranking (BM25, meaning) per question
COARSE = 4 * CANDIDATES  # passages ranked by their whole-passage vector before their sentences are
PROFILE_CACHE = 8192  # analyzed passages kept in memory (all of them for a small knowledge base)
# A word that no passage uses and that the bridge cannot translate weighs the most a word can:
# it is strong evidence that the sources do not cover the question (pizza, weather, France).
# Weighing ordinary words half (a verb the sources put otherwise) answered "weather in Moscow":
# measured in docs/retrieval.md.
# A name, acronym or number of the question that the passage lacks weighs this much more: the
# passage is about something else (a question about Tajikistan's president, a passage about
# Kazakhstan's).
EXACT_MISS = 2.0
NOISE_SHARE = 0.5  # quotations less than half as likely to answer as an answer must be are left out

_HELP = {
    "help", "hi", "hello", "hey", "start", "menu", "about", "thanks", "thank you", "good morning",
    "good evening", "good afternoon", "what can you do", "who are you", "how are you",
    "помощь", "привет", "здравствуй", "здравствуйте", "добрый день", "добрый вечер", "доброе утро",
    "спасибо", "начать", "меню", "что ты умеешь", "кто ты", "хелп",
}  # fmt: skip
EXAMPLES = {
    "en": (
        "Who are the members of the CSTO?",
        "How does the CSTO operate under sanctions?",
        "What happened in Kazakhstan in January 2022?",
    ),
    "ru": (
        "Какие страны входят в ОДКБ?",
        "Как ОДКБ действует в условиях санкций?",
        "Что произошло в Казахстане в январе 2022 года?",
    ),
}


@dataclass(frozen=True, slots=True)
class Limits:
    max_quotes: int = 3
    max_quote_chars: int = 600
    max_answer_chars: int = 1800
    min_confidence: float = 0.5


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
    coverage: float  # the share of the question's weight whose words the passage has
    meaning: float  # the cosine of the question with the passage's best sentence
    specificity: float  # how much of what the question asks about its names the passage says (_specificity)
    confidence: float  # coverage and meaning, calibrated (0 without specificity): how likely it answers


@dataclass(frozen=True, slots=True)
class _Strongest:
    """The evidence of the passage most likely to answer, for the explanation of a decision."""

    coverage: float
    meaning: float
    specificity: float
    confidence: float
    passage_id: str


class Core:
    """Answers questions from one knowledge base with verbatim, cited quotations."""

    def __init__(self, kb: KnowledgeBase, retriever: Retriever, limits: Limits = Limits()) -> None:
        self.kb = kb
        self.retriever = retriever
        self.meaning = retriever.meaning
        self.limits = limits
        self._documents = {d.meta.id: d for d in kb.documents}
        self._passages = {p.id: p for p in kb.passages}
        self._ordinal = {p.id: i for i, p in enumerate(kb.passages)}
        self._work_terms = frozenset(retriever.analyzer.terms(REFERENCE_WORDS))  # "cited", "source", "wrote"…
        # The names each document carries on every passage: its authors (the methods Samokhin used
        # are in his article's abstract, which does not name him).
        self._doc_names = {d.meta.id: frozenset(retriever.analyzer.terms(" ".join(d.meta.authors))) for d in kb.documents}
        self._profile = functools.lru_cache(maxsize=PROFILE_CACHE)(self._analyze)
        if len(kb.passages) <= PROFILE_CACHE // 4:  # small: analyze everything now, not on first use
            for p in kb.passages:
                self._profile(p.id)

    def _analyze(self, passage_id: str) -> Profile:
        p = self._passages[passage_id]
        extra = p.search_text if p.search_text is not None else p.label
        return profile(p.text, self.retriever.analyzer, extra)

    @classmethod
    def load(
        cls, knowledge_dir: Path, limits: Limits = Limits(), index_dir: Path | None = None, encoder: Encoder | None = None
    ) -> Core:
        """Validate and load a knowledge base (raises KnowledgeError), then build or load its indexes."""
        kb = load_knowledge(knowledge_dir, alias_check=AliasCheck)
        return cls(kb, Retriever.build(kb, index_dir, encoder=encoder), limits)

    def warm_up(self) -> None:
        """Load what the first question would otherwise wait for (the encoder's weights, about 2 s)."""
        self.meaning.encoder.encode(["CSTO"])

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

    def examples(self, lang: str) -> tuple[str, ...]:
        """Example questions in the asker's language: the documents' own, else the defaults."""
        own = [q for d in self.kb.documents for q in d.meta.examples if language_of(q) == lang]
        return tuple(own[:3]) if own else EXAMPLES.get(lang, EXAMPLES["en"])

    def welcome(self, lang: str) -> Answer:
        """What the bot says to a greeting or /start: what it covers and what to ask."""
        return Answer("", Kind.HELP, suggestions=self.examples(lang), topics=self.topics, lang=lang)

    def answer(self, question: str, offset: int = 0) -> Answer:
        """Quotations that answer `question`, best first, from `offset` on; or help, or an honest abstention."""
        question = clean_question(question)
        lang = language_of(question)
        tokens = self.retriever.analyzer.tokens(question) if not is_help(question) else []
        if not tokens:
            return Answer(question, Kind.HELP, suggestions=self.examples(lang), topics=self.topics, lang=lang)
        candidates, words, strongest = self._candidates(question, tokens, quoting.asks_for_list(question))
        best = max(candidates, key=lambda c: c.confidence, default=None)
        evidence = self._evidence(
            words,
            _Strongest(best.coverage, best.meaning, best.specificity, best.confidence, best.hit.passage.id)
            if best
            else strongest,
        )
        if best is None or best.confidence < self.limits.min_confidence:
            return Answer(
                question, Kind.ABSTAIN, suggestions=self.examples(lang), topics=self.topics, lang=lang, evidence=evidence
            )
        return self._compose(question, candidates, max(offset, 0), lang, evidence)

    def _evidence(self, words: list[WordMatch], best: _Strongest | None) -> Evidence:
        bridged = tuple(
            (w.surface, tuple(t for t, s in w.alternatives.items() if t != w.term and s > 0))
            for w in words
            if len(w.alternatives) > 1
        )
        return Evidence(
            coverage=best.coverage if best else 0.0,
            meaning=best.meaning if best else 0.0,
            specificity=best.specificity if best else 0.0,
            confidence=best.confidence if best else 0.0,
            threshold=self.limits.min_confidence,
            passage_id=best.passage_id if best else None,
            unknown=tuple(w.surface for w in words if len(w.alternatives) == 1 and not self.retriever.index.df(w.term)),
            bridged=bridged,
        )

    def _weights(self, words: list[WordMatch]) -> list[float]:
        """Each question word's weight: its idf; a bridged word, that of its best stand-in; else see above."""
        r = self.retriever
        out = []
        for w in words:
            if r.index.df(w.term):
                out.append(r.weight(w.term))
                continue
            stand_ins = [(s, t) for t, s in w.alternatives.items() if t != w.term and s > 0]
            if stand_ins:
                out.append(r.weight(max(stand_ins)[1]))
            else:
                out.append(r.unknown_weight)
        return out

    def _candidates(
        self, question: str, tokens: list[Token], wants_list: bool = False
    ) -> tuple[list[_Candidate], list[WordMatch], _Strongest | None]:
        """Passages that may answer, most likely first, each with its quotation and its evidence;
        the question's words; and the strongest evidence of any passage, quoted or not.

        BM25 ranks the passages by the question's words and their bridged stand-ins; the encoder
        ranks them by meaning; reciprocal rank fusion merges the two lists into the candidates, and
        the calibrated confidence of each orders them. For a question whose answer is a list of
        names ("Who are the members…"), quotations that enumerate names come first.
        """
        r = self.retriever
        meaning = self.meaning
        known = r.knows
        qv, words = match_words(question, tokens, known, r.analyzer, meaning.bridge, meaning.encoder)
        weights = self._weights(words)
        query = [
            t for w in words for t, s in w.alternatives.items() if s >= 0.5 and known(t) and (t == w.term or not known(w.term))
        ]
        lexical = [self._ordinal[h.passage.id] for h in r.search(query, CANDIDATES)]
        coarse = meaning.vectors.coarse(qv)
        shortlist = (
            np.argpartition(-coarse, min(COARSE, len(coarse)) - 1)[:COARSE] if len(coarse) > COARSE else np.arange(len(coarse))
        )
        refined = dict(zip(shortlist.tolist(), meaning.vectors.best(qv, shortlist, coarse[shortlist]).tolist()))
        semantic = sorted(refined, key=lambda i: -refined[i])[:CANDIDATES]
        fused = rrf([lexical, semantic])
        missing = np.asarray([i for i in fused if i not in refined], dtype=np.int64)
        if len(missing):  # found by BM25 alone
            refined.update(zip(missing.tolist(), meaning.vectors.best(qv, missing, coarse[missing]).tolist()))
        floor = NOISE_SHARE * self.limits.min_confidence
        term_weight: dict[str, float] = {}
        for w, wt in zip(words, weights):
            for t, s in w.alternatives.items():
                term_weight[t] = max(term_weight.get(t, 0.0), wt * s)
        out: list[_Candidate] = []
        seen: set[str] = set()
        strongest: _Strongest | None = None
        for i in sorted(fused, key=lambda i: -fused[i]):
            passage = self.kb.passages[i]
            prof = self._profile(passage.id)
            names = self._doc_names[passage.doc_id]
            coverage = _coverage(words, weights, prof.terms | names if names else prof.terms)
            sem = refined[i]
            specific = _specificity(words, weights, prof.terms, names)
            # A passage that says nothing of what is asked, only a name it shares with others, cannot answer.
            confidence = CALIBRATION.confidence(coverage, sem) if specific > 0.0 else 0.0
            if strongest is None or confidence > strongest.confidence:
                strongest = _Strongest(coverage, sem, specific, confidence, passage.id)
            if confidence < floor:
                continue  # quotations less than half as likely to answer as an answer must be are noise
            sims = meaning.vectors.sentence_scores(qv, i)
            excerpt = best_excerpt(
                passage.text, prof, term_weight.keys(), lambda t: term_weight.get(t, 0.0),
                max_chars=self.limits.max_quote_chars, meaning=_sentence_meaning(sims),
            )  # fmt: skip
            if excerpt.text in seen:
                continue  # the same words in two places: quote them once
            seen.add(excerpt.text)
            out.append(_Candidate(Hit(passage, fused[i]), excerpt, coverage, sem, specific, confidence))
        out.sort(key=lambda c: -c.confidence)
        if quoting.asks_for_quantity(question):  # how many: a year or a page number does not answer
            out = [c for c in out if quoting.has_quantity(c.excerpt.text)]
        elif quoting.asks_for_date(question):  # when: a quotation without a number does not answer
            out = [c for c in out if quoting.has_number(c.excerpt.text)]
        if wants_list:
            out.sort(key=lambda c: not quoting.is_enumeration(c.excerpt.text))  # stable: confidence order otherwise
        if not any(s >= 0.5 and t in self._work_terms for w in words for t, s in w.alternatives.items()):
            # Not a question about the works cited: the sources' text answers before their reference lists.
            out.sort(key=lambda c: c.hit.passage.is_reference)
        return out, words, strongest

    def _compose(self, question: str, candidates: list[_Candidate], offset: int, lang: str, evidence: Evidence) -> Answer:
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
                Quote(source.n, c.excerpt.text, c.hit.passage.id, c.hit.passage.label, c.confidence, source, c.excerpt.highlights)
            )
        more = max(0, len(candidates) - offset - len(chosen))
        return Answer(
            question, Kind.ANSWER, tuple(quotes), tuple(numbers.values()), more=more, offset=offset, lang=lang, evidence=evidence
        )

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


def _sentence_meaning(sims: list[tuple[int, int, float]]) -> Callable[[int, int], float]:
    """How well the best sentence within [start, end) of a passage matches the question."""

    def meaning(start: int, end: int) -> float:
        return max((s for a, b, s in sims if a >= start and b <= end), default=0.0)

    return meaning


def _coverage(words: list[WordMatch], weights: list[float], terms: frozenset[str]) -> float:
    """The share of the question's weight that a passage's terms cover, word for word or bridged."""
    matched = missed = 0.0
    for w, weight in zip(words, weights):
        strength = w.strength_in(terms)
        matched += weight * strength
        missed += weight * (1.0 - strength) * (EXACT_MISS if w.exact else 1.0)
    return matched / (matched + missed) if matched + missed else 0.0


def _specificity(words: list[WordMatch], weights: list[float], terms: frozenset[str], doc_names: frozenset[str]) -> float:
    """How much a passage says of what the question asks about the names in it (0–1).

    A question that names something (Tajikistan, the CSTO, 2022, Samokhin) is about it: a passage
    with none of its names (nor its document's authors) is about something else. Of the question's
    other words (who the *president* of Tajikistan is), the share of their weight that the passage has,
    word for word or bridged: a passage that names Tajikistan but no president is about Tajikistan,
    not about its president, even when it is the only passage that names it. Names alone are
    specific enough when the passage has two of the question's (Russia and Armenia: what is between
    them).
    """
    matched = total = 0.0
    asked = found = 0  # the question's names, and how many of them the passage has
    for w, weight in zip(words, weights):
        if w.exact:
            asked += 1
            found += any(s > 0.0 and (t in terms or t in doc_names) for t, s in w.alternatives.items())
            continue
        total += weight
        matched += weight * w.strength_in(terms)
    if asked and not found:
        return 0.0
    if found >= 2:  # two names of the question: what is between them
        return 1.0
    if total == 0.0:
        return 1.0 if found else 0.0
    return matched / total

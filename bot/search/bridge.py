"""The term bridge: a question word that no passage uses reaches the passages' own words that mean
the same, across languages (давление → pressure) and across wordings (criticise → critic).

Every term of the knowledge base is embedded once, by its most frequent written form, with the
sentence encoder; an unknown question word is embedded at question time (in the same batch as the
question) and matched to its nearest terms. Russian names written in Cyrillic are also
transliterated (Самохин → samokhin), since an encoder does not know every surname.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.search.analysis import Analyzer, Token, stem
from bot.search.encoder import Encoder

# Cosine of a question word and a knowledge-base word: below FLOOR they are not the same word
# (погода ~ forecast 0.61 is an association); from FULL on, as good as the word itself
# (граница ~ boundary 0.89, итоги ~ outcomes 0.86). Between the two the strength rises linearly.
# Every word but names and numbers is bridged, also those the passages use, since a passage may
# say it otherwise (use ~ employ). Chosen by measurement: docs/retrieval.md.
FLOOR = 0.55
FULL = 0.8
NEIGHBOURS = 5
BRIDGE_KNOWN = True
# A term the passages write with a capital in this share of its places within a sentence is a name
# (Kazakhstan, Russian, Ageev): a question that writes it in lower case still means the name.
NAME_SHARE = 0.8
# A capitalized word of a title that no passage uses is taken for a common word only when the bridge
# translates it (treaty → договор, strength 0.96), not when it finds an association (Roman ~
# literature, 0.12): else it is a name, matched as it is.
TITLE_WORD = 0.5

_TRANSLIT = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",
    "ь": "", "э": "e", "ю": "yu", "я": "ya",
})  # fmt: skip


def transliterate(word: str) -> str:
    """Russian letters → Latin, the way English texts usually spell Russian names."""
    return word.casefold().translate(_TRANSLIT)


def is_cyrillic(word: str) -> bool:
    return any("\u0400" <= c <= "\u04ff" for c in word)


def is_exact(surface: str, sentence_start: bool) -> bool:
    """A number, an acronym or a name: a word that must be matched as it is, not by meaning."""
    if any(c.isdigit() for c in surface):
        return True
    if len(surface) >= 2 and surface.isupper():
        return True
    return not sentence_start and surface[:1].isupper()


@dataclass
class WordMatch:
    """One question word and the knowledge-base terms that stand for it, each with a strength 0–1."""

    term: str
    surface: str
    exact: bool
    alternatives: dict[str, float] = field(default_factory=dict)

    def strength_in(self, terms: frozenset[str] | set[str]) -> float:
        return max((s for t, s in self.alternatives.items() if t in terms), default=0.0)


@dataclass(frozen=True)
class TermBridge:
    terms: tuple[str, ...]
    vectors: np.ndarray  # (terms, dim) float16, as stored
    names: frozenset[str] = frozenset()  # terms the passages write capitalized within a sentence: names
    _rows: np.ndarray = field(init=False, repr=False, compare=False)  # float32 (terms, dim), for the products

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rows", np.ascontiguousarray(self.vectors, dtype=np.float32))

    @classmethod
    def build(cls, texts: Sequence[str], analyzer: Analyzer, encoder: Encoder, own: Sequence[str] = ()) -> TermBridge:
        """`texts`: what the index sees of each passage (its terms are bridged); `own`: the passages' own
        words, where a name is told by its capital (labels and titles capitalize every word)."""
        forms: dict[str, Counter[str]] = {}
        for text in texts:
            for tok in analyzer.tokens(text):
                if not tok.term.isdigit():
                    forms.setdefault(tok.term, Counter())[text[tok.start : tok.end].casefold()] += 1
        inner: Counter[str] = Counter()  # occurrences not at the start of a sentence
        capitalized: Counter[str] = Counter()  # of those, written with a capital
        for text in own:
            for tok in analyzer.tokens(text):
                if not _sentence_start(text, tok.start):
                    inner[tok.term] += 1
                    capitalized[tok.term] += text[tok.start : tok.start + 1].isupper()
        terms = sorted(forms)
        written = [forms[t].most_common(1)[0][0] for t in terms]
        names = frozenset(t for t, n in inner.items() if n >= 2 and capitalized[t] >= NAME_SHARE * n and t in forms)
        return cls(tuple(terms), encoder.encode(written).astype(np.float16), names)

    def nearest(self, vectors: np.ndarray) -> list[list[tuple[str, float]]]:
        """For each row, up to NEIGHBOURS (term, cosine) at or above FLOOR, best first."""
        if not self.terms or len(vectors) == 0:
            return [[] for _ in range(len(vectors))]
        sims = vectors @ self._rows.T
        k = min(NEIGHBOURS, len(self.terms))
        out = []
        for row in sims:
            top = np.argpartition(-row, k - 1)[:k]
            top = top[np.argsort(-row[top])]
            out.append([(self.terms[i], float(row[i])) for i in top if row[i] >= FLOOR])
        return out


def _sentence_start(text: str, at: int) -> bool:
    j = at - 1
    while j >= 0 and text[j] in " \t\"“«(‘'[":
        j -= 1
    return j < 0 or text[j] in ".!?…\n:—–/"


def truecased(question: str, tokens: Sequence[Token], words: Sequence[WordMatch], analyzer: Analyzer) -> str:
    """The question with each name it writes in lower case written as a name (одкб → ОДКБ, the sco →
    the SCO): the encoder reads case, and knows "CSTO" where "csto" is noise to it."""
    out, at = [], 0
    for tok, w in zip(tokens, words):
        if not w.exact or not w.surface.islower():
            continue
        key = " ".join(w.surface.casefold().split())
        written = analyzer.aliases.written.get(key) or " ".join(part[:1].upper() + part[1:] for part in w.surface.split(" "))
        out += [question[at : tok.start], written]
        at = tok.end
    return "".join(out) + question[at:] if out else question


def _question_start(question: str, at: int) -> bool:
    """Whether the word at `at` begins the question or one of its sentences (its capital says nothing)."""
    before = question[:at].rstrip()
    return not before or before[-1] in ".!?"


def _title_case(surface: str, sentence_start: bool) -> bool:
    """Capitalized within a sentence, and not an acronym nor a number: a name, or a word of a title."""
    return not sentence_start and surface[:1].isupper() and not surface.isupper() and not any(c.isdigit() for c in surface)


def title_words(question: str, tokens: Sequence[Token], names: Callable[[int], bool], common: Callable[[str], bool]) -> set[int]:
    """The capitalized words of the question that are words of a title, not names.

    Users write the title of a treaty or a body with capitals ("the Collective Security Treaty",
    "the Eurasian Development Bank"). A run of two or more capitalized words is such a title when
    one of its words is a word the passages use in lower case (`common`: collective, development);
    then each of its words that is not a name by other evidence (`names`: the glossary, the passages'
    capitals) is an ordinary word, bridged like any other (Treaty → договор). A run of unknown
    capitalized words (Kassym-Jomart Tokayev) stays a name.
    """
    runs: list[list[int]] = []
    prev_end = -1
    for i, tok in enumerate(tokens):
        if not _title_case(question[tok.start : tok.end], _question_start(question, tok.start)):
            prev_end = -1
            continue
        gap = question[prev_end : tok.start] if prev_end >= 0 else None
        # Joined by spaces, or by the short lower-case words of a title (Treaty on Collective Security).
        if gap is not None and all(w.islower() and len(w) <= 3 for w in gap.split()) and not set(gap) & set(",.;:!?()"):
            runs[-1].append(i)
        else:
            runs.append([i])
        prev_end = tok.end
    out: set[int] = set()
    for run in runs:
        if len(run) >= 2 and any(common(tokens[i].term) and not names(i) for i in run):
            out.update(i for i in run if not names(i))
    return out


def strength(cosine: float) -> float:
    return max(0.0, min(1.0, (cosine - FLOOR) / (FULL - FLOOR)))


def match_words(
    question: str,
    tokens: Sequence[Token],
    known: Callable[[str], bool],
    analyzer: Analyzer,
    bridge: TermBridge,
    encoder: Encoder,
) -> tuple[np.ndarray, list[WordMatch]]:
    """The question's vector and, for each of its words, the knowledge-base terms that stand for it.

    One encoder call embeds the question and every word of it that is bridged.
    """
    words = []
    for tok in tokens:
        surface = question[tok.start : tok.end]
        start = _question_start(question, tok.start)
        # A name is exact however the question writes it: a glossary name (одкб, csto), or an English
        # word that the passages write as a name (kazakhstan, russian).
        exact = is_exact(surface, start) or tok.term in analyzer.aliases.names or (surface.isascii() and tok.term in bridge.names)
        words.append(WordMatch(tok.term, surface, exact, {tok.term: 1.0}))
    named = [tok.term in analyzer.aliases.names or tok.term in bridge.names for tok in tokens]
    titled = title_words(question, tokens, lambda i: named[i], lambda t: known(t) and t not in bridge.names)
    for i in titled:
        words[i].exact = False
    unknown = [i for i, w in enumerate(words) if not known(w.term) and not w.term.isdigit() and not w.term.startswith("~")]
    bridged = (
        unknown
        if not BRIDGE_KNOWN
        else [i for i, w in enumerate(words) if not w.term.isdigit() and not w.term.startswith("~") and not w.exact]
    )
    for i in unknown:
        if is_cyrillic(words[i].surface):  # a name: its Latin spelling, whole or without its case ending
            for form in {transliterate(words[i].surface), transliterate(stem(words[i].surface.casefold()))}:
                for term in analyzer.terms(form):
                    if known(term):
                        words[i].alternatives[term] = 1.0
    # A title's word is bridged as the common word it is (treaty, not Treaty: the encoder reads case).
    surfaces = [words[i].surface.lower() if i in titled else words[i].surface for i in bridged]
    vectors = encoder.encode([truecased(question, tokens, words, analyzer)] + surfaces)
    for i, near in zip(bridged, bridge.nearest(vectors[1:])):
        if i in titled and not known(words[i].term) and (not near or strength(near[0][1]) < TITLE_WORD):
            words[i].exact = True  # nothing in the passages means it (Bank; Roman ~ literature): a name
            continue
        if near and near[0][0] in bridge.names and words[i].surface.isascii() and not known(words[i].term):
            words[i].exact = True  # nearest to a name, itself unknown: a name in lower case (france, nato)
            continue
        for term, cosine in near:
            words[i].alternatives[term] = max(words[i].alternatives.get(term, 0.0), strength(cosine))
    return vectors[0], words

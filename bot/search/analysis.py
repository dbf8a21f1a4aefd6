"""Text analysis shared by indexing and querying: normalization, words, stop words, stems, aliases."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import Stemmer

from bot.search import stopwords

if TYPE_CHECKING:
    from bot.search.aliases import AliasTable

# Bump when the analysis changes in a way that changes the terms: it is part of the index fingerprint.
ANALYZER_VERSION = "4"

# A dotted acronym (U.S., N.Ex.T) or a word with inner apostrophes (Kazakhstan’s, don't).
_WORD = re.compile(r"(?:[^\W\d_]{1,3}\.){1,}[^\W\d_]{1,3}\.?|\w+(?:['’ʼ`]\w+)*")
_LETTER_SEGMENTS = re.compile(r"[^\W\d_]+")
_CHAR_FOLD = str.maketrans({"ё": "е", "’": "'", "ʼ": "'", "`": "'", "‘": "'"})
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LATIN = re.compile(r"[a-z]")

CONCEPT_PREFIX = "~"


@dataclass(frozen=True, slots=True)
class Token:
    """An analyzed term and the span of original text it came from."""

    term: str
    start: int
    end: int


def normalize(text: str) -> str:
    """NFKC, case folding, ё→е and typographic apostrophes; dashes and quotes are not words anyway."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_CHAR_FOLD)


class _Stemmers(threading.local):
    def __init__(self) -> None:
        self.english = Stemmer.Stemmer("english")
        self.russian = Stemmer.Stemmer("russian")


_stemmers = _Stemmers()


def stem(word: str) -> str:
    """Snowball stem by script: Russian for Cyrillic words, English for Latin ones."""
    if _CYRILLIC.search(word):
        return _stemmers.russian.stemWord(word)
    if _LATIN.search(word):
        return _stemmers.english.stemWord(word)
    return word


def _shouting(words: Sequence[str]) -> bool:
    """True when most words are in capitals, so capitals say nothing about acronyms."""
    lettered = [w for w in words if any(c.isalpha() for c in w)]
    if len(lettered) < 4:
        return False
    return sum(1 for w in lettered if w.isupper()) >= 0.8 * len(lettered)


def _base_tokens(text: str) -> list[Token]:
    """Words → terms with spans, before aliases: acronyms kept whole, stop words dropped, stems."""
    matches = list(_WORD.finditer(text))
    shouting = _shouting([m.group() for m in matches])
    out: list[Token] = []
    for m in matches:
        raw = m.group()
        if "." in raw:
            segments = raw.rstrip(".").split(".")
            if sum(c.isupper() for c in raw) >= 2 and all(segments):
                out.append(Token(normalize("".join(segments)), m.start(), m.end()))
                continue
            # Not an acronym ("e.g"): its letter runs are ordinary words.
            for seg in _LETTER_SEGMENTS.finditer(raw):
                _add_word(out, seg.group(), m.start() + seg.start(), m.start() + seg.end(), shouting)
            continue
        _add_word(out, raw, m.start(), m.end(), shouting)
    return out


def _add_word(out: list[Token], raw: str, start: int, end: int, shouting: bool) -> None:
    word = normalize(raw)
    for suffix in ("'s", "'"):
        if word.endswith(suffix) and len(word) > len(suffix):
            word = word[: -len(suffix)]
            raw = raw[: -len(suffix)]
            break
    if not word or (len(word) == 1 and not word.isdigit()):
        return
    acronym = not shouting and len(raw) >= 2 and raw.isupper() and len(raw) <= 6
    if acronym:
        out.append(Token(word, start, end))
        return
    if word in stopwords.ALL:
        return
    out.append(Token(stem(word), start, end))


class Analyzer:
    """The one analysis used for passages and questions alike."""

    def __init__(self, aliases: AliasTable | None = None) -> None:
        from bot.search.aliases import AliasTable  # aliases.py builds on this module's tokenization

        self.aliases = aliases or AliasTable()

    def tokens(self, text: str) -> list[Token]:
        return self.aliases.apply(_base_tokens(text))

    def terms(self, text: str) -> list[str]:
        return [t.term for t in self.tokens(text)]

    def signature(self) -> str:
        return f"analyzer={ANALYZER_VERSION};aliases={self.aliases.signature()}"

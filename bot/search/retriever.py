"""BM25 retrieval over the knowledge passages: index building or loading, search and term weights."""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bot.knowledge.model import KnowledgeBase, Passage
from bot.search.aliases import AliasTable
from bot.search.analysis import Analyzer
from bot.search.bm25 import BM25Index
from bot.search.encoder import Encoder, shared_encoder
from bot.search.meaning import Meaning

log = logging.getLogger(__name__)

# Not chosen by measurement: on the development questions every variant and k1, b tried gave the same
# hit@3 and abstentions, so the choice rests on behaviour (Lucene's idf is never negative and never
# floored). The figures: docs/retrieval.md, "The BM25 variant, measured".
VARIANT = "lucene"
K1 = 1.2
B = 0.75

# The code that shapes the index, as (package, module file): what a passage is (passage building in
# bot.knowledge.load, the metadata entry in bot.knowledge.model), what the index sees of it
# (indexed_text, here), how text becomes terms (analysis, stop words, aliases) and how terms become
# weights (bm25), and what the saved sentence vectors are (sentence splitting, the vectors, the term
# bridge's build, the encoder wrapper and their store). The bytes of these files are part of the
# index fingerprint (the vectors' key includes it), so an edit to any of them makes a saved index
# stale and it is rebuilt; no version number has to be remembered.
INDEX_CODE = (
    ("bot.knowledge", "load.py"),
    ("bot.knowledge", "model.py"),
    ("bot.search", "analysis.py"),
    ("bot.search", "stopwords.py"),
    ("bot.search", "aliases.py"),
    ("bot.search", "retriever.py"),
    ("bot.search", "bm25.py"),
    ("bot.search", "sentences.py"),
    ("bot.search", "semantic.py"),
    ("bot.search", "bridge.py"),
    ("bot.search", "encoder.py"),
    ("bot.search", "meaning.py"),
    ("bot.search", "vector_store.py"),
)


@dataclass(frozen=True, slots=True)
class Hit:
    passage: Passage
    score: float


def indexed_text(passage: Passage) -> str:
    """What the index sees of a passage: its label (e.g. "About the Author") and its text."""
    if passage.search_text is not None:
        return passage.search_text
    return f"{passage.label}\n{passage.text}" if passage.label else passage.text


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "csto-bot"


def index_locations(kb: KnowledgeBase, index_dir: Path | None) -> list[Path]:
    """Where a persisted index may live: the setting, beside the knowledge, a user cache, a temp dir.

    The first that holds a matching index is used; a new index is saved to the first writable one.
    """
    key = hashlib.sha256(str(kb.directory.resolve()).encode()).hexdigest()[:16]
    places = [kb.directory / ".index", _cache_root() / key, Path(tempfile.gettempdir()) / "csto-bot" / key]
    return ([index_dir] if index_dir is not None else []) + places


class Retriever:
    """Finds the passages that best answer a list of query terms."""

    def __init__(self, kb: KnowledgeBase, analyzer: Analyzer, index: BM25Index, meaning: Meaning) -> None:
        self.kb = kb
        self.analyzer = analyzer
        self.index = index
        self.meaning = meaning
        self.unknown_weight = math.log(1.0 + (index.n_docs + 0.5) / 0.5)

    @classmethod
    def build(
        cls, kb: KnowledgeBase, index_dir: Path | None = None, persist: bool = True, encoder: Encoder | None = None
    ) -> Retriever:
        """Load the persisted indexes when their fingerprint matches the knowledge; else build (and save) them."""
        analyzer = Analyzer(AliasTable(kb.aliases))
        fingerprint = fingerprint_of(kb, analyzer)
        places = index_locations(kb, index_dir)
        meaning = Meaning.build_or_load(
            [p.text for p in kb.passages],
            [indexed_text(p) for p in kb.passages],
            analyzer,
            encoder or shared_encoder(),
            places,
            fingerprint,
            persist,
        )
        return cls(kb, analyzer, cls._bm25(kb, analyzer, places, fingerprint, persist), meaning)

    @staticmethod
    def _bm25(kb: KnowledgeBase, analyzer: Analyzer, places: list[Path], fingerprint: str, persist: bool) -> BM25Index:
        for place in places:
            index = BM25Index.load(place, fingerprint)
            if index is not None and index.n_docs == len(kb.passages):
                log.debug("loaded index from %s", place)
                return index
        docs = [analyzer.terms(indexed_text(p)) for p in kb.passages]
        index = BM25Index.build(docs, k1=K1, b=B, variant=VARIANT)
        if persist:
            for place in places:
                try:
                    index.save(place, fingerprint)
                    log.debug("saved index to %s", place)
                    break
                except OSError as e:  # a read-only place: try the next one
                    log.debug("cannot save index to %s: %s", place, e)
        return index

    def weight(self, term: str) -> float:
        """How much a term says: its idf, and for a term no passage has, the highest idf possible."""
        return self.index.idf(term) if self.index.df(term) else self.unknown_weight

    def knows(self, term: str) -> bool:
        """Whether any passage has the term."""
        return self.index.df(term) > 0

    def search(self, terms: list[str], k: int) -> list[Hit]:
        return [Hit(self.kb.passages[i], s) for i, s in self.index.top_k(terms, k)]


def _source(package: str, name: str) -> bytes:
    """A module file's bytes, through importlib.resources: the same from a checkout, a wheel or the image."""
    return resources.files(package).joinpath(name).read_bytes()


@functools.cache
def code_fingerprint() -> str:
    """SHA-256 over the source files of INDEX_CODE."""
    digest = hashlib.sha256()
    for package, name in INDEX_CODE:
        data = _source(package, name)
        digest.update(f"{package}/{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


def fingerprint_of(kb: KnowledgeBase, analyzer: Analyzer) -> str:
    """What a saved index must match to be used: the knowledge files' bytes (kb.fingerprint: the
    documents and the alias file), the analysis and its aliases, the code that shapes the index
    (code_fingerprint) and the BM25 parameters."""
    settings = f"{analyzer.signature()};code={code_fingerprint()};variant={VARIANT};k1={K1};b={B}"
    return hashlib.sha256(f"{kb.fingerprint};{settings}".encode()).hexdigest()

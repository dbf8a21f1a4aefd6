"""The meaning-based index of one knowledge base: sentence vectors and the term bridge, built or loaded
together under the BM25 index's fingerprint (plus the encoder's name), in the same places."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.search import vector_store
from bot.search.analysis import Analyzer
from bot.search.bridge import TermBridge
from bot.search.encoder import Encoder
from bot.search.semantic import SentenceVectors

log = logging.getLogger(__name__)

VERSION = "2"  # bump when what is embedded changes (units, written forms)


@dataclass(frozen=True)
class Meaning:
    encoder: Encoder
    vectors: SentenceVectors
    bridge: TermBridge

    @classmethod
    def build(cls, texts: Sequence[str], whole: Sequence[str], analyzer: Analyzer, encoder: Encoder) -> Meaning:
        started = time.perf_counter()
        vectors = SentenceVectors.build(texts, whole, encoder)
        bridge = TermBridge.build(whole, analyzer, encoder, own=texts)
        log.info(
            "meaning index: %d passages, %d sentences, %d terms in %.1f s",
            vectors.n_passages,
            len(vectors.units),
            len(bridge.terms),
            time.perf_counter() - started,
        )
        return cls(encoder, vectors, bridge)

    @classmethod
    def build_or_load(
        cls,
        texts: Sequence[str],
        whole: Sequence[str],
        analyzer: Analyzer,
        encoder: Encoder,
        places: Sequence[Path],
        fingerprint: str,
        persist: bool = True,
    ) -> Meaning:
        """The saved index from the first place that has one for this fingerprint; else build and save it."""
        key = fingerprint_of(fingerprint, encoder)
        for place in places:
            found = vector_store.load(place, key)
            if found is not None and found[0]["whole"].shape[0] == len(texts):
                arrays, meta = found
                terms, names = meta.get("terms"), meta.get("names")
                if isinstance(terms, list) and isinstance(names, list):
                    bridge = TermBridge(tuple(str(t) for t in terms), arrays.pop("bridge"), frozenset(str(n) for n in names))
                    return cls(encoder, SentenceVectors.from_arrays(arrays), bridge)
        meaning = cls.build(texts, whole, analyzer, encoder)
        if persist:
            meaning.save(places, key)
        return meaning

    def save(self, places: Sequence[Path], key: str) -> None:
        arrays: dict[str, np.ndarray] = {**self.vectors.arrays(), "bridge": self.bridge.vectors}
        for place in places:
            try:
                vector_store.save(place, key, arrays, {"terms": list(self.bridge.terms), "names": sorted(self.bridge.names)})
                return
            except OSError as e:  # a read-only place: try the next one
                log.debug("cannot save vectors to %s: %s", place, e)


def fingerprint_of(index_fingerprint: str, encoder: Encoder) -> str:
    return f"{index_fingerprint};meaning={VERSION};encoder={encoder.name}"

"""The straightforward reference computation of Lucene-idf BM25, independent of any engine.

For each query term it counts the term's occurrences per passage straight from the corpus's
token stream (no index), then applies idf = log(1 + (N - n + 0.5) / (n + 0.5)) and the Okapi tf
part tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl)), in float64, adding one term occurrence
at a time as rank-bm25 does. The top 10 are the matching passages by score, ties to the lower index.
"""

from __future__ import annotations

import math

import numpy as np

from bench.corpus import Corpus


class Reference:
    def __init__(self, corpus: Corpus, k1: float = 1.2, b: float = 0.75) -> None:
        self.corpus = corpus
        self.k1, self.b = k1, b
        self.n = corpus.n
        self.lengths = np.diff(corpus.offsets).astype(np.float64)
        self.avgdl = float(self.lengths.sum() / self.n)
        self.doc_of = np.repeat(np.arange(self.n, dtype=np.int32), np.diff(corpus.offsets))
        self.term_id = {t: i for i, t in enumerate(corpus.vocab)}
        self._tf_cache: dict[int, np.ndarray] = {}

    def _tf(self, term_id: int) -> np.ndarray:
        tf = self._tf_cache.get(term_id)
        if tf is None:
            tf = np.bincount(self.doc_of[self.corpus.ids == term_id], minlength=self.n)
            self._tf_cache[term_id] = tf
        return tf

    def scores(self, query: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Dense reference scores and the mask of passages matching a query term."""
        scores = np.zeros(self.n, dtype=np.float64)
        matched = np.zeros(self.n, dtype=bool)
        norm = self.k1 * (1 - self.b + self.b * self.lengths / self.avgdl)
        for word in query:
            t = self.term_id.get(word)
            if t is None:
                continue
            tf = self._tf(t)
            df = int(np.count_nonzero(tf))
            idf = math.log(1 + (self.n - df + 0.5) / (df + 0.5))
            scores += idf * (tf * (self.k1 + 1) / (tf + norm))
            matched |= tf > 0
        return scores, matched

    def check(self, query: list[str], got: list[list], k: int = 10, tol: float = 1e-6) -> tuple[bool, int]:
        """(same top-k as the reference, with scores within tol; overlap of the two top-k sets).

        Two passages whose reference scores tie within float noise (1e-9) may come in either
        order. Results without scores are never "identical", only compared by overlap.
        """
        scores, matched = self.scores(query)
        idx = np.flatnonzero(matched)
        want = idx[np.lexsort((idx, -scores[idx]))[:k]].tolist()
        got_docs = [int(g[0]) for g in got]
        overlap = len(set(got_docs) & set(want))
        if len(got_docs) != len(want) or any(g[1] is None for g in got):
            return False, overlap
        for (doc, score), w in zip(got, want):
            if abs(score - scores[doc]) > tol * max(1.0, abs(scores[doc])):
                return False, overlap
            if doc != w and abs(scores[doc] - scores[w]) > 1e-9 * max(1.0, abs(scores[w])):
                return False, overlap
        return True, overlap

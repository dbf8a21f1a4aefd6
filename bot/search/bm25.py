"""BM25 retrieval over pre-tokenized passages, fast as the knowledge base grows.

The scoring model is rank-bm25 0.2.2's (the reference); its per-(term, passage) Python loop is
not. Variants (N passages, n = df of the term, tf = term frequency, dl = passage length in
tokens, avgdl = mean dl, K = k1 * (1 - b + b * dl / avgdl)):

``okapi``  rank_bm25.BM25Okapi: idf = log(N - n + 0.5) - log(n + 0.5); terms whose idf is negative
           (in more than half the passages) get epsilon * average_idf instead, the average being
           over the whole vocabulary before the floor. weight = idf * tf * (k1 + 1) / (tf + K).
``plus``   rank_bm25.BM25Plus: idf = log((N + 1) / n), weight = idf * (delta + tf * (k1 + 1) / (K + tf)).
           A passage *without* the term still gets idf * delta from it. ``scores`` returns exactly
           that dense vector; ``top_k`` ranks only passages that match at least one query term and
           adds the constant sum of idf * delta over the query's terms to their scores, so their
           scores equal rank-bm25's while the non-matching passages (which all share that constant)
           are left out.
``lucene`` Okapi's tf part with Lucene's idf = log(1 + (N - n + 0.5) / (n + 0.5)), never negative, no floor.

Repeated query terms count once per occurrence (as in rank-bm25); unknown terms are ignored.

Layout (CSR by term): ``offsets[t]:offsets[t+1]`` delimits term t's postings in ``docs`` (int32,
ascending passage ids), ``weights`` (float64: the exact BM25 weight of the term in the passage,
precomputed at build time with the reference's formula and operation order) and ``wq`` (uint16:
the weight quantized down, ``floor(weight * qscale)``, with ``qscale`` mapping the largest weight
to 8191).

Query (``top_k``), all numpy, no Python loop over postings:

* Tiny corpora (N <= 4,096 passages): every matching passage's exact score, by ``np.bincount``.
* Small corpora (N <= 32,768 passages): the exact float64 weights of the query terms' postings
  are scatter-added (``np.add.at``) into a per-thread float64 accumulator (at most 256 KB: it
  stays in the CPU cache); the k-th best score among the rarest term's passages bounds the k-th
  best from below, and only passages at or above it are ranked.
* Large corpora: the same with the uint16 quantized weights (2 bytes a passage, so a million
  passages still fit in the cache where float64 would not, and there is less memory to stream),
  then *exact rescoring*: every passage within the quantization error (one unit per query-term
  occurrence) of the k-th best approximate score is a candidate (usually ~k of them, found by a
  blockwise maximum over the accumulator, or by gathering only the touched entries when the
  query has few postings), and the candidates' exact scores are summed from ``weights`` found by
  binary search in each term's postings. A quantized weight is never above the real one and less
  than one unit below it, so the candidates provably contain the exact top k.

Either way the returned top-k and scores equal the straightforward reference computation (ties
broken by the lower passage index). Queries where the bound gives nothing (almost no matches,
zero weights) or where weights can be negative (Okapi's floor on odd corpora) fall back to exact
scoring of every matching passage.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

__all__ = ["BM25Index", "VARIANTS"]

VARIANTS = ("okapi", "plus", "lucene")

# Bump when the on-disk layout changes: an index saved by another format is ignored (rebuilt).
FORMAT_VERSION = 3

QMAX = 8191  # largest quantized weight: 8 query terms at their maximum still fit in uint16
_TINY_DOCS = 4096  # up to this many passages, score every matching passage (two bincounts)
_EXACT_MAX_DOCS = 32_768  # up to this many passages, accumulate exact float64 weights directly
_SAMPLE = 4096  # passages of the rarest term used to bound the k-th best score from below
# Accumulator blocks for the blockwise maximum: 2**bits passages (numpy's row-wise max is slow
# on short rows: measured, 1024 beats smaller blocks; small corpora use the sample instead).
_MIN_BLOCK_BITS = 10
_MAX_BLOCK_BITS = 10
_DENSE_RATIO = 200  # scan the whole accumulator when postings * ratio > N, else gather touched entries
_FILL_RATIO = 32  # reset by fill when postings * ratio > N, else by writing zeros at the postings
_SMALL = 64  # at most this many postings: score every matching passage exactly

_CURRENT = "CURRENT"
_HEADER = "header.json"
_VOCAB = "vocab.json"
_DTYPES: dict[str, str] = {  # name -> dtype as stored
    "offsets": "<i8",
    "docs": "<i4",
    "weights": "<f8",
    "wq": "<u2",
    "maxq": "<u2",
    "idf": "<f8",
    "doc_len": "<i4",
}


@overload
def lucene_idf(n_docs: int, df: int) -> float: ...
@overload
def lucene_idf(n_docs: int, df: np.ndarray) -> np.ndarray: ...
def lucene_idf(n_docs: int, df: int | np.ndarray) -> float | np.ndarray:
    """Lucene's idf, log(1 + (N - n + 0.5) / (n + 0.5)): a float for one df, an array for an array."""
    n = np.asarray(df, dtype=np.float64)
    idf: np.ndarray = np.log1p((n_docs - n + 0.5) / (n + 0.5))
    return idf if isinstance(df, np.ndarray) else float(idf)


class _Scratch(threading.local):
    """Per-thread accumulators, so concurrent queries on one index never share state."""

    acc16: np.ndarray | None = None
    acc32: np.ndarray | None = None
    acc64: np.ndarray | None = None


class BM25Index:
    """An immutable BM25 index; build it with :meth:`build` or :meth:`load`, query with :meth:`top_k`."""

    n_docs: int

    def __init__(
        self,
        *,
        vocab: dict[str, int],
        offsets: np.ndarray,
        docs: np.ndarray,
        weights: np.ndarray,
        wq: np.ndarray,
        maxq: np.ndarray,
        idf: np.ndarray,
        doc_len: np.ndarray,
        params: dict[str, float | str | bool],
    ) -> None:
        self._vocab = vocab
        self._offsets = offsets
        self._docs = docs
        self._w = weights
        self._wq = wq
        self._maxq = maxq
        self._idf = idf
        self._doc_len = doc_len
        self.n_docs = int(doc_len.shape[0])
        self.variant = str(params["variant"])
        self.k1 = float(params["k1"])
        self.b = float(params["b"])
        self.delta = float(params["delta"])
        self.epsilon = float(params["epsilon"])
        self.avgdl = float(params["avgdl"])
        self.qscale = float(params["qscale"])
        # Okapi's epsilon floor can be negative on odd corpora: no bounds then, score exhaustively.
        self._negative = bool(params["negative"])
        self._scratch = _Scratch()
        # Per-term bounds and maxima as Python ints: indexing a list is cheaper than a numpy scalar.
        self._off = offsets.tolist()
        self._maxq_list = maxq.tolist()
        self._block_bits = min(_MAX_BLOCK_BITS, max(_MIN_BLOCK_BITS, (self.n_docs // 100).bit_length()))
        block = 1 << self._block_bits
        self._padded = -(-self.n_docs // block) * block

    # ------------------------------------------------------------------ build

    @classmethod
    def build(
        cls,
        docs: Sequence[Sequence[str]],
        *,
        k1: float = 1.5,
        b: float = 0.75,
        variant: str = "lucene",
        delta: float = 1.0,
        epsilon: float = 0.25,
    ) -> BM25Index:
        if variant not in VARIANTS:
            raise ValueError(f"unknown BM25 variant {variant!r}; expected one of {VARIANTS}")
        n_docs = len(docs)
        if n_docs >= 2**31 - 1:
            raise ValueError("too many passages for int32 passage ids")

        # Term ids in order of first appearance; one flat array of every token's term id.
        vocab: dict[str, int] = {}
        flat = array("i")
        doc_len = np.empty(n_docs, dtype=np.int64)
        getitem = vocab.__getitem__
        for i, doc in enumerate(docs):
            new = [t for t in dict.fromkeys(doc) if t not in vocab]
            if new:
                vocab.update(zip(new, range(len(vocab), len(vocab) + len(new))))
            flat.extend(map(getitem, doc))
            doc_len[i] = len(doc)
        n_terms = len(vocab)
        total = len(flat)
        ids = np.frombuffer(flat, dtype=np.int32) if total else np.empty(0, dtype=np.int32)

        # Group tokens by (term, passage): one sort of a combined 64-bit key gives every term's
        # postings in ascending passage order; run lengths are the term frequencies.
        width = max(n_docs, 1)
        key = ids.astype(np.int64)
        del ids, flat
        key *= width
        key += np.repeat(np.arange(n_docs, dtype=np.int64), doc_len)
        key.sort()
        if total:
            starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        else:
            starts = np.empty(0, dtype=np.int64)
        tf_counts = np.diff(np.append(starts, total))
        key = key[starts]
        del starts
        post_term = (key // width).astype(np.int32)
        post_doc = (key % width).astype(np.int32)
        del key
        df = np.bincount(post_term, minlength=n_terms).astype(np.int64)
        offsets = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df, out=offsets[1:])
        tf = tf_counts.astype(np.float64)
        del tf_counts

        avgdl = float(total / n_docs) if n_docs else 0.0
        idf = cls._idf_for(variant, n_docs, df, epsilon)
        params: dict[str, float | str | bool] = {
            "variant": variant,
            "k1": float(k1),
            "b": float(b),
            "delta": float(delta),
            "epsilon": float(epsilon),
            "avgdl": avgdl,
            "qscale": 0.0,
            "negative": bool((idf < 0).any()),
        }
        index = cls(
            vocab=vocab,
            offsets=offsets,
            docs=post_doc,
            weights=np.zeros(0),
            wq=np.zeros(0, np.uint16),
            maxq=np.zeros(n_terms, np.uint16),
            idf=idf,
            doc_len=doc_len.astype(np.int32),
            params=params,
        )

        # Exact weights, with the reference's operation order; then their quantization.
        if post_doc.shape[0]:
            dl = doc_len.astype(np.float64)
            norm = k1 * (1 - b + b * dl / avgdl)  # K per passage, as the reference computes it
            del dl
            weights = index._weights(idf[post_term], tf, norm.take(post_doc))
            del norm
            del post_term, tf
            wmax = float(weights.max())
            qscale = QMAX / wmax if wmax > 0 else 0.0
            scaled = weights * qscale
            np.floor(scaled, out=scaled)
            np.clip(scaled, 0, QMAX, out=scaled)
            wq = scaled.astype(np.uint16)
            del scaled
            maxq = np.maximum.reduceat(wq, offsets[:-1]).astype(np.uint16)
        else:
            weights, qscale, wq, maxq = np.zeros(0), 0.0, np.zeros(0, np.uint16), np.zeros(n_terms, np.uint16)
        index._w, index._wq, index._maxq, index.qscale = weights, wq, maxq, qscale
        index._maxq_list = maxq.tolist()
        return index

    @staticmethod
    def _idf_for(variant: str, n_docs: int, df: np.ndarray, epsilon: float) -> np.ndarray:
        n = df.astype(np.float64)
        if variant == "lucene":
            return lucene_idf(n_docs, n)
        if variant == "plus":
            return np.log((n_docs + 1) / n) if len(n) else n
        idf = np.log(n_docs - n + 0.5) - np.log(n + 0.5)  # okapi
        if len(idf):
            average_idf = float(idf.sum()) / len(idf)
            idf = np.where(idf < 0, epsilon * average_idf, idf)
        return idf

    def _weights(self, idf: np.ndarray, tf: np.ndarray, norm: np.ndarray) -> np.ndarray:
        """Exact BM25 weights, with the reference's operation order. For BM25+ the part above idf * delta."""
        k1 = self.k1
        weights: np.ndarray
        if self.variant == "plus":
            weights = idf * (self.delta + (tf * (k1 + 1)) / (norm + tf)) - idf * self.delta
        else:
            weights = idf * (tf * (k1 + 1) / (tf + norm))
        return weights

    # ------------------------------------------------------------------ term statistics

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocab)

    @property
    def n_postings(self) -> int:
        return int(self._docs.shape[0])

    def df(self, term: str) -> int:
        """Number of passages containing ``term`` (0 if unknown)."""
        t = self._vocab.get(term)
        if t is None:
            return 0
        return int(self._offsets[t + 1] - self._offsets[t])

    def idf(self, term: str) -> float:
        """The variant's idf of ``term``; for an unknown term, Lucene's idf of a term with df = 0."""
        t = self._vocab.get(term)
        if t is None:
            return float(lucene_idf(self.n_docs, 0))
        return float(self._idf[t])

    # ------------------------------------------------------------------ scoring

    def _query_terms(self, query: Sequence[str]) -> tuple[list[int], list[int]]:
        """Known query terms as (term ids in first-occurrence order, occurrence counts)."""
        counts: dict[int, int] = {}
        get = self._vocab.get
        for word in query:
            t = get(word)
            if t is not None:
                counts[t] = counts.get(t, 0) + 1
        return list(counts), list(counts.values())

    def _plus_constant(self, terms: list[int], counts: list[int]) -> float:
        return float(sum(c * self._idf[t] * self.delta for t, c in zip(terms, counts)))

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """Dense float64 scores of every passage (rank-bm25's ``get_scores``)."""
        out = np.zeros(self.n_docs, dtype=np.float64)
        terms, counts = self._query_terms(query)
        for t, c in zip(terms, counts):
            lo, hi = int(self._offsets[t]), int(self._offsets[t + 1])
            out[self._docs[lo:hi]] += c * self._w[lo:hi]
        if self.variant == "plus" and terms:
            out += self._plus_constant(terms, counts)
        return out

    def top_k(self, query: Sequence[str], k: int = 10) -> list[tuple[int, float]]:
        """The ``k`` best (passage index, score) pairs, best first, among passages matching a query term.

        Ties are broken by the lower passage index. Scores are exact (float64, as the reference).
        """
        if k <= 0 or self.n_docs == 0:
            return []
        cand: np.ndarray | None  # None: score every passage that matches a query term
        terms, counts = self._query_terms(query)
        if not terms:
            return []
        off = self._off
        spans = [(off[t], off[t + 1]) for t in terms]
        dfs = [hi - lo for lo, hi in spans]
        postings = sum(dfs)
        if self.n_docs <= _TINY_DOCS:
            cand, sc = self._score_all_matches(counts, spans)
            top, sc = _select_top(cand, sc, k)
            if self.variant == "plus":
                sc = sc + self._plus_constant(terms, counts)
            return list(zip(top.tolist(), sc.tolist()))
        if self._negative or postings <= max(_SMALL, k):
            cand = None
        elif len(terms) == 1:
            cand = self._single_term_candidates(spans[0], k)
        elif self.n_docs <= _EXACT_MAX_DOCS:
            found = self._exact_dense(counts, spans, dfs, postings, k)
            if found is not None:
                cand, sc = found
                top, sc = _select_top(cand, sc, k)
                if self.variant == "plus":
                    sc = sc + self._plus_constant(terms, counts)
                return list(zip(top.tolist(), sc.tolist()))
            cand = None
        else:
            cand = self._approximate_candidates(terms, counts, spans, dfs, postings, k)
        if cand is None:
            docs = self._docs
            parts = [docs[lo:hi] for lo, hi in spans]
            cand = np.unique(np.concatenate(parts)) if len(parts) > 1 else np.asarray(parts[0])
        sc = self._exact(cand, terms, counts, spans)
        top, sc = _select_top(cand, sc, k)
        if self.variant == "plus":
            sc = sc + self._plus_constant(terms, counts)
        return list(zip(top.tolist(), sc.tolist()))

    def _score_all_matches(self, counts: list[int], spans: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """(every matching passage, ascending; its exact score): two bincounts, for a tiny corpus."""
        docs, weights = self._docs, self._w
        if len(spans) == 1:
            (lo, hi), c = spans[0], counts[0]
            return docs[lo:hi], weights[lo:hi] * c if c != 1 else weights[lo:hi]
        cat = np.concatenate([docs[lo:hi] for lo, hi in spans])
        w = np.concatenate([weights[lo:hi] if c == 1 else weights[lo:hi] * c for (lo, hi), c in zip(spans, counts)])
        cand = np.flatnonzero(np.bincount(cat, minlength=self.n_docs))
        return cand, np.bincount(cat, w, minlength=self.n_docs).take(cand)

    def _single_term_candidates(self, span: tuple[int, int], k: int) -> np.ndarray | None:
        lo, hi = span
        if hi - lo <= k:
            return None
        wq = self._wq[lo:hi]
        kth = int(np.partition(wq, hi - lo - k)[hi - lo - k])
        if kth <= 1:
            return None
        return self._docs[lo:hi][np.flatnonzero(wq >= kth - 1)]

    def _exact_dense(
        self, counts: list[int], spans: list[tuple[int, int]], dfs: list[int], postings: int, k: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(passages, exact scores) that contain the top k, for a small corpus (None: use every match)."""
        best = _rarest_at_least(dfs, k)
        if best < 0:
            return None
        docs, weights = self._docs, self._w
        scratch = self._scratch
        acc = scratch.acc64
        if acc is None:
            acc = scratch.acc64 = np.zeros(self._padded, dtype=np.float64)
        try:
            for (lo, hi), c in zip(spans, counts):
                np.add.at(acc, docs[lo:hi], weights[lo:hi] if c == 1 else weights[lo:hi] * c)
            cand = self._top_candidates(acc, spans, postings, spans[best], k, 0)
            return None if cand is None else (cand, acc.take(cand))
        finally:
            self._reset(acc, spans, postings)

    def _approximate_candidates(
        self, terms: list[int], counts: list[int], spans: list[tuple[int, int]], dfs: list[int], postings: int, k: int
    ) -> np.ndarray | None:
        """Passages that may be in the top k, from the quantized weights (None: use every match)."""
        best = _rarest_at_least(dfs, k)
        if best < 0:
            return None
        docs, wq = self._docs, self._wq
        maxq = self._maxq_list
        peak = 0
        for t, c in zip(terms, counts):
            peak += c * maxq[t]
        scratch = self._scratch
        kind: type[np.unsignedinteger[Any]]
        if peak <= 65535:
            acc = scratch.acc16
            if acc is None:
                acc = scratch.acc16 = np.zeros(self._padded, dtype=np.uint16)
            kind = np.uint16
        else:  # many repeated heavy terms: a wider accumulator
            acc = scratch.acc32
            if acc is None:
                acc = scratch.acc32 = np.zeros(self._padded, dtype=np.uint32)
            kind = np.uint32
        try:
            for (lo, hi), c in zip(spans, counts):
                w = wq[lo:hi]
                if kind is not np.uint16:
                    w = w.astype(kind)
                if c != 1:
                    w = w * kind(c)
                np.add.at(acc, docs[lo:hi], w)
            # A passage's approximate score is at most one unit per query-term occurrence below
            # its exact score (and never above it): that is the slack.
            return self._top_candidates(acc, spans, postings, spans[best], k, sum(counts) + 1)
        finally:
            self._reset(acc, spans, postings)

    def _top_candidates(
        self, acc: np.ndarray, spans: list[tuple[int, int]], postings: int, sample_span: tuple[int, int], k: int, slack: int
    ) -> np.ndarray | None:
        """Ascending passages containing every one whose acc is at least (k-th largest acc) - slack.

        None when that bound is not positive (passages that matched with weight 0 would count).
        The k-th largest acc is bounded from below cheaply: by the k-th largest of the maxima of
        the accumulator's blocks (k distinct passages reach it), or by the k-th largest acc among
        the passages of the rarest term with at least k of them (``sample_span``).
        """
        bits = self._block_bits
        n_blocks = acc.shape[0] >> bits
        dense = postings * _DENSE_RATIO > self.n_docs
        if dense and n_blocks >= max(16, k):
            blocks = acc.reshape(n_blocks, 1 << bits)
            tops = blocks.max(axis=1)
            floor = np.partition(tops, n_blocks - k)[n_blocks - k].item() - slack
            if not floor > 0:
                return None
            hit = np.flatnonzero(tops >= floor)
            inside = np.flatnonzero(blocks.take(hit, axis=0) >= floor)  # 2-D np.nonzero is much slower
            cand = hit.take(inside >> bits) << bits | inside & ((1 << bits) - 1)
        else:
            lo, hi = sample_span
            sample = acc.take(self._docs[lo : min(hi, lo + max(_SAMPLE, k))])
            floor = np.partition(sample, sample.shape[0] - k)[sample.shape[0] - k].item() - slack
            if not floor > 0:
                return None
            cand = self._at_least(acc, floor, spans, postings)
        if cand.shape[0] > 4 * k:  # tighten: the k-th largest among the candidates is the real k-th
            values = acc.take(cand)
            floor = np.partition(values, values.shape[0] - k)[values.shape[0] - k].item() - slack
            if not floor > 0:
                return None
            cand = cand[values >= floor]
        return cand

    def _reset(self, acc: np.ndarray, spans: list[tuple[int, int]], postings: int) -> None:
        if postings * _FILL_RATIO > self.n_docs:
            acc.fill(0)
        else:
            docs = self._docs
            for lo, hi in spans:
                acc.put(docs[lo:hi], 0)

    def _at_least(self, acc: np.ndarray, floor: float, spans: list[tuple[int, int]], n_postings: int) -> np.ndarray:
        """Ascending passages with acc >= floor > 0 (all among ``spans``' postings)."""
        if n_postings * _DENSE_RATIO > self.n_docs:
            return np.flatnonzero(acc >= floor)
        docs = self._docs
        cat = np.concatenate([docs[lo:hi] for lo, hi in spans]) if len(spans) > 1 else docs[spans[0][0] : spans[0][1]]
        return np.unique(cat[acc.take(cat) >= floor])

    def _exact(self, cand: np.ndarray, terms: list[int], counts: list[int], spans: list[tuple[int, int]]) -> np.ndarray:
        """Exact float64 scores of the candidate passages (ascending ids), summed in query-term order."""
        docs = self._docs
        cand = np.asarray(cand, dtype=np.int32)
        n_cand = cand.shape[0]
        if not n_cand:
            return np.zeros(0, dtype=np.float64)
        # Position of each candidate in each term's postings (binary search), as global positions.
        # Searching all but the last posting keeps every position inside the term's own postings
        # (a candidate beyond them lands on the last one), so no clipping is needed.
        pos = np.empty((len(terms), n_cand), dtype=np.int64)
        for j, (lo, hi) in enumerate(spans):
            pos[j] = docs[lo : hi - 1].searchsorted(cand)
        pos += np.array([lo for lo, _ in spans], dtype=np.int64).reshape(-1, 1)
        w = self._w.take(pos)
        w[docs.take(pos) != cand] = 0.0
        if len(counts) != sum(counts):  # a repeated query term
            w *= np.asarray(counts, dtype=np.float64).reshape(-1, 1)
        scores: np.ndarray = w.sum(axis=0)
        return scores

    # ------------------------------------------------------------------ persistence

    def save(self, directory: Path, fingerprint: str) -> None:
        """Write the index into ``directory`` atomically, tagged with ``fingerprint``.

        Layout: ``directory/index-<id>/`` holds ``header.json``, ``vocab.json`` and one ``.npy`` per
        array; ``directory/CURRENT`` names the live subdirectory and is replaced atomically last,
        so a crash at any point leaves either the old index or the new one, never half of one.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        name = f"index-{uuid.uuid4().hex}"
        tmp = directory / f".tmp-{name}"
        tmp.mkdir()
        try:
            dtypes = _DTYPES
            arrays = self._arrays()
            sizes = {}
            for key, dtype in dtypes.items():
                path = tmp / f"{key}.npy"
                with open(path, "wb") as fh:
                    np.save(fh, np.ascontiguousarray(arrays[key], dtype=dtype), allow_pickle=False)
                    fh.flush()
                    os.fsync(fh.fileno())
                sizes[key] = path.stat().st_size
            terms = [""] * len(self._vocab)
            for term, t in self._vocab.items():
                terms[t] = term
            _write_text(tmp / _VOCAB, json.dumps(terms, ensure_ascii=False, separators=(",", ":")))
            header = {
                "format": FORMAT_VERSION,
                "fingerprint": fingerprint,
                "n_docs": self.n_docs,
                "n_terms": len(self._vocab),
                "n_postings": self.n_postings,
                "params": {
                    "variant": self.variant,
                    "k1": self.k1,
                    "b": self.b,
                    "delta": self.delta,
                    "epsilon": self.epsilon,
                    "avgdl": self.avgdl,
                    "qscale": self.qscale,
                    "negative": self._negative,
                },
                "dtypes": dtypes,
                "sizes": sizes,
                "vocab_bytes": (tmp / _VOCAB).stat().st_size,
            }
            _write_text(tmp / _HEADER, json.dumps(header, indent=1))
            _fsync_dir(tmp)
            os.rename(tmp, directory / name)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        pointer = directory / f".{_CURRENT}.{name}"
        _write_text(pointer, name + "\n")
        os.replace(pointer, directory / _CURRENT)
        _fsync_dir(directory)
        # Old generations and leftovers of crashed saves. A reader that already mapped old files
        # keeps them readable (POSIX unlink semantics).
        for entry in directory.iterdir():
            if entry.name != name and (
                entry.name.startswith("index-") or entry.name.startswith(".tmp-index-") or entry.name.startswith(f".{_CURRENT}.")
            ):
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {
            "offsets": self._offsets,
            "docs": self._docs,
            "weights": self._w,
            "wq": self._wq,
            "maxq": self._maxq,
            "idf": self._idf,
            "doc_len": self._doc_len,
        }

    @classmethod
    def load(cls, directory: Path, fingerprint: str) -> BM25Index | None:
        """The index saved in ``directory`` if its fingerprint is ``fingerprint``, else None.

        Postings are memory-mapped read-only. Never raises on a missing, stale or damaged index.
        """
        try:
            return cls._load(Path(directory), fingerprint)
        except Exception:  # noqa: BLE001 - any damage means "rebuild"
            return None

    @classmethod
    def _load(cls, directory: Path, fingerprint: str) -> BM25Index | None:
        current = directory / _CURRENT
        if not current.is_file():
            return None
        name = current.read_text(encoding="utf-8").strip()
        if not name.startswith("index-") or "/" in name or "\\" in name or name in (".", ".."):
            return None
        sub = directory / name
        header = json.loads((sub / _HEADER).read_text(encoding="utf-8"))
        if not isinstance(header, dict) or header.get("format") != FORMAT_VERSION:
            return None
        if header.get("fingerprint") != fingerprint:
            return None
        params = header["params"]
        if params.get("variant") not in VARIANTS:
            return None
        dtypes = header["dtypes"]
        if dtypes != _DTYPES:
            return None
        n_docs, n_terms, n_post = int(header["n_docs"]), int(header["n_terms"]), int(header["n_postings"])
        expected = {
            "offsets": n_terms + 1,
            "docs": n_post,
            "weights": n_post,
            "wq": n_post,
            "maxq": n_terms,
            "idf": n_terms,
            "doc_len": n_docs,
        }
        arrays: dict[str, np.ndarray] = {}
        for key, length in expected.items():
            path = sub / f"{key}.npy"
            if path.stat().st_size != int(header["sizes"][key]):
                return None
            mapped = np.load(path, mmap_mode="r", allow_pickle=False)
            if mapped.dtype != np.dtype(dtypes[key]) or mapped.shape != (length,):
                return None
            arrays[key] = np.asarray(mapped)  # a plain ndarray view of the map: no memmap overhead per slice
        offsets = np.array(arrays["offsets"])
        if offsets[0] != 0 or offsets[-1] != n_post or (n_terms and np.any(np.diff(offsets) <= 0)):
            return None
        docs = arrays["docs"]
        if n_post and (int(docs.min()) < 0 or int(docs.max()) >= n_docs):
            return None
        if n_docs and int(arrays["doc_len"].min()) < 0:
            return None
        if (sub / _VOCAB).stat().st_size != int(header["vocab_bytes"]):
            return None
        terms = json.loads((sub / _VOCAB).read_text(encoding="utf-8"))
        if not isinstance(terms, list) or len(terms) != n_terms:
            return None
        vocab = dict(zip(terms, range(n_terms)))
        if len(vocab) != n_terms:
            return None
        return cls(
            vocab=vocab,
            offsets=offsets,
            docs=docs,
            weights=arrays["weights"],
            wq=arrays["wq"],
            maxq=np.array(arrays["maxq"]),
            idf=np.array(arrays["idf"]),
            doc_len=arrays["doc_len"],
            params=params,
        )


def _rarest_at_least(dfs: list[int], k: int) -> int:
    """Index of the rarest term with at least k postings, or -1."""
    best = -1
    for j, d in enumerate(dfs):
        if d >= k and (best < 0 or d < dfs[best]):
            best = j
    return best


def _select_top(cand: np.ndarray, sc: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of (cand, sc) by score desc, then index asc. ``cand`` must be ascending."""
    n = sc.shape[0]
    if n > max(4 * k, 64):
        kth = np.partition(sc, n - k)[n - k]
        above = np.flatnonzero(sc > kth)
        tied = np.flatnonzero(sc == kth)[: k - above.shape[0]]
        keep = np.concatenate((above, tied))
        cand, sc = cand[keep], sc[keep]
    order = np.lexsort((cand, -sc))[:k]
    return cand[order], sc[order]


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

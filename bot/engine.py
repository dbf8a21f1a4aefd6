"""BM25 retrieval over pre-tokenized passages.

The scoring model is rank-bm25 0.2.2's (the reference); its per-(term, document) Python loop
is not. At build time every (term, passage) pair gets its BM25 weight precomputed, and the
postings are stored per term in a compact CSR layout (``offsets`` into flat ``docs``/``weights``
arrays), so a query only touches the postings of its own terms.

Variants (N passages, n = df of the term, tf = term frequency, dl = passage length in tokens,
avgdl = mean dl, K = k1 * (1 - b + b * dl / avgdl)):

``okapi``  rank_bm25.BM25Okapi: idf = log(N - n + 0.5) - log(n + 0.5); terms whose idf is negative
           (in more than half the passages) get epsilon * average_idf instead, the average being
           over the whole vocabulary before the floor. weight = idf * tf * (k1 + 1) / (tf + K).
``plus``   rank_bm25.BM25Plus: idf = log((N + 1) / n), weight = idf * (delta + tf * (k1 + 1) / (K + tf)).
           A passage *without* the term still gets idf * delta from it. ``scores`` returns exactly
           that dense vector; ``top_k`` only ranks passages that match at least one query term and
           adds the constant sum of idf * delta over the query's terms to their scores, so their
           scores equal rank-bm25's while non-matching passages (which all share that constant) are
           left out.
``lucene`` Okapi's tf part with Lucene's idf = log(1 + (N - n + 0.5) / (n + 0.5)), never negative, no floor.

Repeated query terms count once per occurrence (as in rank-bm25); unknown terms are ignored.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from array import array
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["BM25Index", "VARIANTS"]

VARIANTS = ("okapi", "plus", "lucene")

# Bump when the on-disk layout changes: an index saved by another format is ignored (rebuilt).
FORMAT_VERSION = 1

_CURRENT = "CURRENT"
_HEADER = "header.json"
_VOCAB = "vocab.json"
_ARRAYS: dict[str, str] = {  # name -> dtype as stored
    "offsets": "<i8",
    "docs": "<i4",
    "weights": "<f8",
    "idf": "<f8",
    "doc_len": "<i4",
}


def lucene_idf(n_docs: int, df: int | np.ndarray) -> float | np.ndarray:
    """Lucene's idf, log(1 + (N - n + 0.5) / (n + 0.5))."""
    return np.log1p((n_docs - np.asarray(df, dtype=np.float64) + 0.5) / (np.asarray(df, dtype=np.float64) + 0.5))


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
        idf: np.ndarray,
        doc_len: np.ndarray,
        params: dict[str, float | str],
    ) -> None:
        self._vocab = vocab
        self._offsets = offsets
        self._docs = docs
        self._weights = weights
        self._idf = idf
        self._doc_len = doc_len
        self.n_docs = int(doc_len.shape[0])
        self.variant = str(params["variant"])
        self.k1 = float(params["k1"])
        self.b = float(params["b"])
        self.delta = float(params["delta"])
        self.epsilon = float(params["epsilon"])
        self.avgdl = float(params["avgdl"])
        # Per-term constant every passage gets (BM25+ only): idf * delta.
        self._base = idf * self.delta if self.variant == "plus" else None

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

        # Term ids in order of first appearance; flat array of every token's id.
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

        # Group tokens by (term, doc): one sort of a combined 64-bit key gives the postings,
        # per term in ascending doc order, and the run lengths give the term frequencies.
        doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), doc_len)
        key = ids.astype(np.int64) * max(n_docs, 1) + doc_of
        del doc_of, ids, flat
        key.sort()
        if total:
            starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        else:
            starts = np.empty(0, dtype=np.int64)
        tf = np.diff(np.append(starts, total)).astype(np.float64)
        key = key[starts]
        del starts
        post_term = (key // max(n_docs, 1)).astype(np.int32)
        post_doc = (key % max(n_docs, 1)).astype(np.int32)
        del key
        df = np.bincount(post_term, minlength=n_terms).astype(np.int64)
        offsets = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df, out=offsets[1:])

        avgdl = float(total / n_docs) if n_docs else 0.0
        idf = cls._idf_for(variant, n_docs, df, epsilon)

        # Precomputed weights, with the reference's operation order.
        if len(post_doc):
            dl = doc_len[post_doc].astype(np.float64)
            norm = k1 * (1 - b + b * dl / avgdl)
            del dl
            term_idf = idf[post_term]
            if variant == "plus":
                # Stored weight = the excess over what a non-matching passage gets (idf * delta).
                weights = term_idf * (delta + (tf * (k1 + 1)) / (norm + tf)) - term_idf * delta
            else:
                weights = term_idf * (tf * (k1 + 1) / (tf + norm))
            del norm, term_idf
        else:
            weights = np.empty(0, dtype=np.float64)
        params = {"variant": variant, "k1": float(k1), "b": float(b), "delta": float(delta),
                  "epsilon": float(epsilon), "avgdl": avgdl}
        return cls(vocab=vocab, offsets=offsets, docs=post_doc, weights=weights.astype(np.float64, copy=False),
                   idf=idf, doc_len=doc_len.astype(np.int32), params=params)

    @staticmethod
    def _idf_for(variant: str, n_docs: int, df: np.ndarray, epsilon: float) -> np.ndarray:
        n = df.astype(np.float64)
        if variant == "lucene":
            return lucene_idf(n_docs, n)
        if variant == "plus":
            return np.log((n_docs + 1) / n) if len(n) else n
        # okapi
        idf = np.log(n_docs - n + 0.5) - np.log(n + 0.5)
        if len(idf):
            average_idf = float(idf.sum()) / len(idf)
            idf = np.where(idf < 0, epsilon * average_idf, idf)
        return idf

    # ------------------------------------------------------------------ term statistics

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocab)

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

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """Dense float64 scores of every passage (rank-bm25's ``get_scores``)."""
        out = np.zeros(self.n_docs, dtype=np.float64)
        terms, counts = self._query_terms(query)
        for t, c in zip(terms, counts):
            lo, hi = int(self._offsets[t]), int(self._offsets[t + 1])
            out[self._docs[lo:hi]] += c * self._weights[lo:hi]
            if self._base is not None:
                out += c * self._base[t]
        return out

    def top_k(self, query: Sequence[str], k: int = 10) -> list[tuple[int, float]]:
        """The ``k`` best (passage index, score) pairs, best first, among passages matching a query term.

        Ties are broken by the lower passage index.
        """
        if k <= 0 or self.n_docs == 0:
            return []
        terms, counts = self._query_terms(query)
        if not terms:
            return []
        parts = []
        for t in terms:
            lo, hi = int(self._offsets[t]), int(self._offsets[t + 1])
            parts.append(self._docs[lo:hi])
        acc = np.zeros(self.n_docs, dtype=np.float64)
        for t, c in zip(terms, counts):
            lo, hi = int(self._offsets[t]), int(self._offsets[t + 1])
            acc[self._docs[lo:hi]] += c * self._weights[lo:hi]
        cand = np.unique(np.concatenate(parts)) if len(parts) > 1 else np.asarray(parts[0])
        return self._finish(cand, acc[cand], k, terms, counts)

    def _finish(self, cand: np.ndarray, sc: np.ndarray, k: int, terms: list[int], counts: list[int]
                ) -> list[tuple[int, float]]:
        """Select the top ``k`` of candidates (``cand`` ascending) with index tie-break; add BM25+'s constant."""
        docs, sc = _select_top(cand, sc, k)
        if self._base is not None:
            const = float(sum(c * self._base[t] for t, c in zip(terms, counts)))
            sc = sc + const
        return list(zip(docs.tolist(), sc.tolist()))

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
            arrays = {"offsets": self._offsets, "docs": self._docs, "weights": self._weights,
                      "idf": self._idf, "doc_len": self._doc_len}
            sizes = {}
            for key, dtype in _ARRAYS.items():
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
                "n_postings": int(self._docs.shape[0]),
                "params": {"variant": self.variant, "k1": self.k1, "b": self.b, "delta": self.delta,
                           "epsilon": self.epsilon, "avgdl": self.avgdl},
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
            if entry.name != name and (entry.name.startswith("index-") or entry.name.startswith(".tmp-index-")):
                shutil.rmtree(entry, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path, fingerprint: str) -> BM25Index | None:
        """The index saved in ``directory`` if its fingerprint is ``fingerprint``, else None.

        Arrays are memory-mapped read-only. Never raises on a missing, stale or damaged index.
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
        if not name.startswith("index-") or "/" in name or "\\" in name:
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
        n_docs, n_terms, n_post = int(header["n_docs"]), int(header["n_terms"]), int(header["n_postings"])
        arrays: dict[str, np.ndarray] = {}
        for key, dtype in _ARRAYS.items():
            path = sub / f"{key}.npy"
            if path.stat().st_size != int(header["sizes"][key]):
                return None
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            if arr.dtype != np.dtype(dtype) or arr.ndim != 1:
                return None
            arrays[key] = arr
        expected = {"offsets": n_terms + 1, "docs": n_post, "weights": n_post, "idf": n_terms, "doc_len": n_docs}
        for key, length in expected.items():
            if arrays[key].shape[0] != length:
                return None
        offsets = np.asarray(arrays["offsets"])
        if offsets[0] != 0 or offsets[-1] != n_post or (n_terms and np.any(np.diff(offsets) <= 0)):
            return None
        docs = arrays["docs"]
        if n_post and (int(docs.min()) < 0 or int(docs.max()) >= n_docs):
            return None
        if (sub / _VOCAB).stat().st_size != int(header["vocab_bytes"]):
            return None
        terms = json.loads((sub / _VOCAB).read_text(encoding="utf-8"))
        if not isinstance(terms, list) or len(terms) != n_terms:
            return None
        vocab = dict(zip(terms, range(n_terms)))
        if len(vocab) != n_terms:
            return None
        return cls(vocab=vocab, offsets=offsets, docs=docs, weights=arrays["weights"], idf=np.asarray(arrays["idf"]),
                   doc_len=arrays["doc_len"], params=params)


def _select_top(cand: np.ndarray, sc: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of (cand, sc) by score desc, then index asc. ``cand`` must be ascending."""
    n = sc.shape[0]
    if n > k:
        kth = np.partition(sc, n - k)[n - k]
        above = np.flatnonzero(sc > kth)
        tied = np.flatnonzero(sc == kth)[: k - above.shape[0]]
        keep = np.concatenate((above, tied))
        cand, sc = cand[keep], sc[keep]
    order = np.lexsort((cand, -sc))
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


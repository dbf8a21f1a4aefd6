"""One engine at one corpus size, in its own process (so its peak memory is its own).

Usage: python -m bench.worker ENGINE SIZE QUERIES.json OUT.json WORKDIR BUDGET_S CHECK_N

Prints nothing on success; writes a JSON object to OUT.json.
"""

from __future__ import annotations

import gc
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

PASSES = 3


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main(argv: list[str]) -> None:
    engine_name, size, queries_path, out_path, workdir, budget, check_n = argv
    size, budget, check_n = int(size), float(budget), int(check_n)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)

    from bench import corpus as corpora
    from bench.engines import ENGINES, dir_size

    corpus = corpora.generate(size)
    gc.disable()  # building millions of small lists: no point in scanning them again and again
    docs = corpus.docs()
    del corpus
    gc.enable()
    gc.freeze()  # the corpus stays for the whole run; keep it out of every engine's GC passes
    queries = json.loads(Path(queries_path).read_text(encoding="utf-8"))
    base = rss_mb()

    engine = ENGINES[engine_name]()
    t0 = time.perf_counter()
    engine.build(docs, workdir)
    build_s = time.perf_counter() - t0
    result: dict[str, object] = {"engine": engine_name, "size": size, "build_s": round(build_s, 3)}

    saved = engine.save(workdir)
    result["index_mb"] = round(dir_size(saved) / 2**20, 1) if saved is not None else None
    if engine_name == "csto-bot":
        # Query the index as the bot does after a restart: loaded from disk (memory-mapped).
        engine.index = None
        gc.collect()
        t0 = time.perf_counter()
        engine.index = engine.reload(workdir)
        result["load_s"] = round(time.perf_counter() - t0, 4)
        assert engine.index is not None, "saved index did not load"

    warm = queries[:20]
    if hasattr(engine, "warm"):
        t0 = time.perf_counter()
        engine.warm(warm[0])
        result["warmup_s"] = round(time.perf_counter() - t0, 3)
    for q in warm:
        engine.query(q, 10)

    # Up to PASSES passes over the queries while they fit in the budget (a shared machine's speed
    # drifts; more samples make the median steadier); a slow engine stops inside the first pass.
    times: list[float] = []
    deadline = time.perf_counter() + budget
    started = time.perf_counter()
    done_first = 0
    for attempt in range(PASSES):
        for q in queries:
            t0 = time.perf_counter()
            engine.query(q, 10)
            t1 = time.perf_counter()
            times.append(t1 - t0)
            if t1 > deadline:
                break
        if attempt == 0:
            done_first = len(times)
        if time.perf_counter() > deadline or (time.perf_counter() - started) * (attempt + 2) / (attempt + 1) > budget:
            break
    total = time.perf_counter() - started
    ms = np.array(times) * 1e3
    result.update(
        {
            "queries": len(queries),
            "queries_done": done_first,
            "passes": round(len(times) / len(queries), 2),
            "query_ms_median": round(float(np.median(ms)), 4),
            "query_ms_p99": round(float(np.percentile(ms, 99)), 4),
            "qps": round(len(times) / total, 1),
            "base_mb": round(base, 1),
            "note": engine.note,
        }
    )

    # Results of the first queries, to compare with the reference computation (untimed).
    checked = []
    for q in queries[: min(check_n, len(times))]:
        if engine_name == "csto-bot":
            checked.append([[d, s] for d, s in engine.scored(q, 10)])
        elif engine_name == "tantivy":
            checked.append([[d, None] for d in engine.passage_ids(engine.query(q, 10))])
        else:
            checked.append([[d, None] for d in engine.query(q, 10)])
    result["checked"] = checked
    result["peak_mb"] = round(peak_mb(), 1)
    Path(out_path).write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])

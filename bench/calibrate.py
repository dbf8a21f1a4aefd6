"""Fit the abstention model (bot.search.fusion.CALIBRATION) on questions files.

    python -m bench.calibrate ../shared/eval/questions.jsonl ../shared/eval/questions_users.jsonl tests/data/questions_extra.jsonl

For each question, the evidence of its most confident passage (lexical coverage, meaning) is the
input; whether the question is answerable is the label. A logistic regression (Newton's method, a
little L2) gives the coefficients; leave-one-out errors say how well they carry over. The choice of
the most confident passage depends on the coefficients, so the fit is repeated a few rounds on each
new choice; the round with the fewest errors end to end (missed in the top 3, wrong abstentions) wins.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import bot.core.answer as answer_module
from bot.config import bundled_knowledge
from bot.core.answer import Core, clean_question
from bot.core.evaluate import evaluate, load_questions
from bot.core.quotes import asks_for_list
from bot.search import fusion

L2 = 0.01
ROUNDS = 5


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    a = np.c_[x, np.ones(len(x))]
    w = np.zeros(a.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-a @ w))
        grad = a.T @ (p - y) + L2 * np.r_[w[:-1], 0]
        hess = (a * (p * (1 - p))[:, None]).T @ a + L2 * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    return w


def features(core: Core, questions: list[dict[str, object]]) -> np.ndarray:
    rows = []
    for item in questions:
        q = clean_question(str(item["q"]))
        tokens = core.retriever.analyzer.tokens(q)
        cands, _, strongest = core._candidates(q, tokens, asks_for_list(q)) if tokens else ([], [], None)
        best = max(cands, key=lambda c: c.confidence, default=None)
        rows.append(
            (best.coverage, best.meaning) if best else (strongest.coverage, strongest.meaning) if strongest else (0.0, 0.0)
        )
    return np.asarray(rows)


def errors(core: Core, questions: list[dict[str, object]]) -> int:
    """Answerable questions missed in the top 3 plus wrong abstentions either way."""
    report = evaluate(core, questions)
    return (report.answerable - report.hit3) + (report.unanswerable - report.abstained_right)


def use(cal: fusion.Calibration) -> None:
    fusion.CALIBRATION = cal
    answer_module.CALIBRATION = cal


def main(paths: list[str]) -> int:
    questions = [q for p in paths for q in load_questions(Path(p))]
    y = np.asarray([bool(q["expect"]) for q in questions], float)
    core = Core.load(bundled_knowledge())
    best: tuple[int, fusion.Calibration] | None = None
    x = features(core, questions)
    for round_ in range(ROUNDS):
        w = fit(x, y)
        cal = fusion.Calibration(coverage=round(float(w[0]), 2), meaning=round(float(w[1]), 2), intercept=round(float(w[2]), 2))
        use(cal)  # which passage is each question's best depends on the coefficients: refit on the new choice
        wrong = errors(core, questions)
        print(f"round {round_}: {cal}: {wrong} errors")
        if best is None or wrong < best[0]:
            best = (wrong, cal)
        x = features(core, questions)
    assert best is not None
    loo = 0
    for i in range(len(questions)):
        keep = np.arange(len(questions)) != i
        wi = fit(x[keep], y[keep])
        loo += (1 / (1 + np.exp(-(np.r_[x[i], 1] @ wi))) >= 0.5) != bool(y[i])
    print(f"questions {len(questions)}; leave-one-out errors of the last fit {loo}")
    print(f"CALIBRATION = {best[1]}  # {best[0]} errors")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

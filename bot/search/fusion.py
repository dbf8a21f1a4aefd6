"""One ranking and one confidence from the two signals: BM25 over words and the encoder's meaning."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

RRF_K = 60  # reciprocal rank fusion's usual constant: lower ranks count less, smoothly


def rrf(rankings: Sequence[Sequence[int]]) -> dict[int, float]:
    """Reciprocal rank fusion: each item scores the sum of 1 / (RRF_K + rank) over the rankings."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (RRF_K + rank)
    return scores


@dataclass(frozen=True, slots=True)
class Calibration:
    """A logistic model of "this passage answers the question" from its two kinds of evidence.

    `coverage`: the share of the question's weight (idf) whose words the passage has, word for word
    or through the term bridge. `meaning`: the cosine of the question with the passage's best
    sentence. Fitted on the development questions by `python -m bench.calibrate` (docs/retrieval.md).
    """

    coverage: float
    meaning: float
    intercept: float

    def confidence(self, coverage: float, meaning: float) -> float:
        z = self.intercept + self.coverage * coverage + self.meaning * meaning
        return 1.0 / (1.0 + math.exp(-z))


CALIBRATION = Calibration(coverage=13.33, meaning=7.59, intercept=-6.72)

"""Sentence vectors of the knowledge passages, built with the index (bot.search.vector_store keeps them).

Each passage has one vector for its whole text (with its label), which ranks all passages by meaning
in one matrix product, and one vector per sentence, which says which sentence of a candidate passage
says what the question asks: the quotation can then be that sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.search.encoder import Encoder
from bot.search.sentences import sentences


@dataclass(frozen=True)
class SentenceVectors:
    whole: np.ndarray  # (passages, dim) float32: each passage as a whole
    units: np.ndarray  # (sentences, dim) float16: the sentences of passages that have more than one
    start: np.ndarray  # (sentences,) int32 character offsets in the passage text
    end: np.ndarray
    first: np.ndarray  # (passages + 1,) int64: passage i's sentences are units[first[i]:first[i + 1]]

    @property
    def n_passages(self) -> int:
        return int(self.whole.shape[0])

    @classmethod
    def build(cls, texts: Sequence[str], whole: Sequence[str], encoder: Encoder) -> SentenceVectors:
        """`texts`: the passages' own words (split into sentences); `whole`: what each passage is as a whole."""
        units: list[str] = []
        start: list[int] = []
        end: list[int] = []
        first = [0]
        for text in texts:
            spans = sentences(text)
            if len(spans) > 1:
                for s in spans:
                    units.append(text[s.start : s.end])
                    start.append(s.start)
                    end.append(s.end)
            first.append(len(units))
        return cls(
            encoder.encode(list(whole)),
            encoder.encode(units).astype(np.float16),
            np.asarray(start, np.int32),
            np.asarray(end, np.int32),
            np.asarray(first, np.int64),
        )

    def coarse(self, qv: np.ndarray) -> np.ndarray:
        """Cosine of the question with every passage as a whole."""
        cosines: np.ndarray = self.whole @ qv
        return cosines

    def sentence_scores(self, qv: np.ndarray, passage: int) -> list[tuple[int, int, float]]:
        """(start, end, cosine) for each sentence of one passage; empty for a one-sentence passage."""
        lo, hi = int(self.first[passage]), int(self.first[passage + 1])
        if lo == hi:
            return []
        sims = self.units[lo:hi].astype(np.float32) @ qv
        return [(int(self.start[u]), int(self.end[u]), float(sims[u - lo])) for u in range(lo, hi)]

    def best(self, qv: np.ndarray, passages: np.ndarray, coarse: np.ndarray) -> np.ndarray:
        """How well each passage's best sentence, or the passage as a whole, matches the question:
        one matrix product over all the sentences of `passages` (`coarse` = their whole-passage cosines)."""
        lo, hi = self.first[passages], self.first[passages + 1]
        counts = hi - lo
        out = np.asarray(coarse, np.float32).copy()
        if counts.sum() == 0:
            return out
        rows = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        sims = self.units[rows].astype(np.float32) @ qv
        have = counts > 0
        starts = np.cumsum(counts) - counts
        out[have] = np.maximum(out[have], np.maximum.reduceat(sims, starts[have]))
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        return {"whole": self.whole, "units": self.units, "start": self.start, "end": self.end, "first": self.first}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> SentenceVectors:
        return cls(arrays["whole"], arrays["units"], arrays["start"], arrays["end"], arrays["first"])

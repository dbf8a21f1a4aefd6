"""A benchmark-only cache of sentence encodings, so that rebuilding the 100k index after a code change
does not encode 400k texts again (about 25 minutes on two cores).

The index fingerprint covers the code that builds the index, so any change to it rebuilds the index;
what the encoder makes of a text does not change with that code. `CachingEncoder` answers each text it
has seen from the cache and encodes the rest with the real encoder, saving them in shards of
`CHUNK` texts as it goes. It keeps the real encoder's name, so the index it builds is the one the bot
would build (the encoder gives a text the same vector, to within 1e-6, whatever else is in its batch).
Each shard records how long its texts took to encode, so the benchmark can still report what a
build from nothing costs (`encode_seconds`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.search.encoder import DIM, Encoder

CHUNK = 10_000


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class CachingEncoder:
    def __init__(self, inner: Encoder, directory: Path) -> None:
        self.name = inner.name
        self._inner = inner
        self._dir = directory / hashlib.sha256(inner.name.encode()).hexdigest()[:12]
        self._dir.mkdir(parents=True, exist_ok=True)
        self._rows: dict[bytes, np.ndarray] = {}
        self._cost: dict[bytes, float] = {}  # seconds it took to encode the text, when it was encoded
        for keys_file in sorted(self._dir.glob("*.keys.npy")):
            keys = np.load(keys_file)
            vectors = np.load(keys_file.with_name(keys_file.name.replace(".keys.", ".vecs.")), mmap_mode="r")
            each = json.loads(keys_file.with_name(keys_file.name.replace(".keys.npy", ".json")).read_text())["seconds_each"]
            for k, v in zip(keys, vectors):
                self._rows[k.tobytes()] = v
                self._cost[k.tobytes()] = each
        self._shards = len(list(self._dir.glob("*.keys.npy")))
        self.texts = 0  # texts asked for, in this process
        self.seconds_now = 0.0  # encoding done in this process
        self.seconds_cold = 0.0  # what encoding every text asked for cost when it was first encoded

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [_key(t) for t in texts]
        todo = list({k: t for k, t in zip(keys, texts) if k not in self._rows}.items())
        for lo in range(0, len(todo), CHUNK):
            chunk = todo[lo : lo + CHUNK]
            t0 = time.perf_counter()
            vectors = self._inner.encode([t for _, t in chunk]).astype(np.float32)
            spent = time.perf_counter() - t0
            self.seconds_now += spent
            each = spent / len(chunk)
            self._save([k for k, _ in chunk], vectors, each)
            for k, _ in chunk:
                self._cost[k] = each
            self._rows.update(zip((k for k, _ in chunk), vectors))
        self.texts += len(keys)
        self.seconds_cold += sum(self._cost[k] for k in set(keys))
        if not keys:
            return np.zeros((0, DIM), np.float32)
        return np.stack([self._rows[k] for k in keys]).astype(np.float32)

    def _save(self, keys: list[bytes], vectors: np.ndarray, seconds_each: float) -> None:
        stem = f"{self._shards:05d}"
        (self._dir / f"{stem}.json").write_text(json.dumps({"seconds_each": seconds_each}))
        tmp = self._dir / f"{stem}.vecs.tmp.npy"
        np.save(tmp, vectors)
        tmp.rename(self._dir / f"{stem}.vecs.npy")
        tmp = self._dir / f"{stem}.keys.tmp.npy"
        np.save(tmp, np.frombuffer(b"".join(keys), dtype="S16"))
        tmp.rename(self._dir / f"{stem}.keys.npy")  # last: a shard counts once its keys are there
        self._shards += 1

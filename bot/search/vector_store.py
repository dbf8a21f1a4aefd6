"""Saving and memory-mapping the meaning-based index beside the BM25 index, under the same fingerprint."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FORMAT = 1
PREFIX = "vectors-"


def _place(directory: Path, fingerprint: str) -> Path:
    return Path(directory) / (PREFIX + hashlib.sha256(fingerprint.encode()).hexdigest()[:24])


def save(directory: Path, fingerprint: str, arrays: dict[str, np.ndarray], meta: dict[str, object]) -> None:
    """Write `directory/vectors-<key>/` atomically: a temporary folder, fsynced, renamed last.

    Older generations in `directory` are removed; a reader that mapped them keeps its files.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final = _place(directory, fingerprint)
    if final.is_dir():
        return
    tmp = directory / f".tmp-{PREFIX}{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        for name, array in arrays.items():
            with open(tmp / f"{name}.npy", "wb") as fh:
                np.save(fh, np.ascontiguousarray(array), allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
        header = {"format": FORMAT, "fingerprint": fingerprint, "arrays": sorted(arrays), "meta": meta}
        (tmp / "header.json").write_text(json.dumps(header, ensure_ascii=False), encoding="utf-8")
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for entry in directory.iterdir():
        if entry != final and (entry.name.startswith(PREFIX) or entry.name.startswith(f".tmp-{PREFIX}")):
            shutil.rmtree(entry, ignore_errors=True)


def load(directory: Path, fingerprint: str) -> tuple[dict[str, np.ndarray], dict[str, object]] | None:
    """The arrays (memory-mapped, read-only) and metadata saved for `fingerprint`, or None."""
    place = _place(directory, fingerprint)
    try:
        header = json.loads((place / "header.json").read_text(encoding="utf-8"))
        if header.get("format") != FORMAT or header.get("fingerprint") != fingerprint:
            return None
        # Plain ndarray views of the maps: slicing a np.memmap costs a Python call per slice.
        arrays = {
            name: np.asarray(np.load(place / f"{name}.npy", mmap_mode="r", allow_pickle=False)) for name in header["arrays"]
        }
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.debug("no vectors in %s: %s", place, e)
        return None
    return arrays, header.get("meta") or {}


def size_bytes(directory: Path, fingerprint: str) -> int:
    place = _place(directory, fingerprint)
    return sum(p.stat().st_size for p in place.iterdir()) if place.is_dir() else 0

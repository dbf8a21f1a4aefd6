"""Shared fixtures: the bundled knowledge base, a small fixture knowledge base, and CLI runners."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bot.config import bundled_knowledge
from bot.core.answer import Core

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval" / "questions.jsonl"


@pytest.fixture(scope="session")
def core(tmp_path_factory: pytest.TempPathFactory) -> Core:
    return Core.load(bundled_knowledge(), index_dir=tmp_path_factory.mktemp("index"))


def write_doc(directory: Path, name: str, front: str, body: str) -> Path:
    path = directory / name
    path.write_text(f"---\n{front.strip()}\n---\n{body}", encoding="utf-8")
    return path


MINIMAL_FRONT = """
id: {id}
title: A small test document
authors: []
language: en
citation: A small test document (fixture)
"""


@pytest.fixture
def small_kb(tmp_path: Path) -> Path:
    """Two documents and an alias file: enough to exercise every part of the pipeline."""
    write_doc(
        tmp_path,
        "alpha.md",
        MINIMAL_FRONT.format(id="alpha"),
        "## First\nThe Collective Security Treaty Organization was created in 2002.\n\n"
        "## Second\nThe Eurasian Economic Union was launched in 2015. It has five members.\n",
    )
    write_doc(
        tmp_path,
        "beta.md",
        MINIMAL_FRONT.format(id="beta"),
        "## Only\nKazakhstan chaired the CSTO in 2024, and the chairmanship was stabilization-oriented.\n",
    )
    (tmp_path / "aliases.yaml").write_text(
        "groups:\n  - [CSTO, Collective Security Treaty Organization, ОДКБ]\n  - [EAEU, Eurasian Economic Union, ЕАЭС]\n",
        encoding="utf-8",
    )
    return tmp_path


def run_cli(
    *args: str, stdin: str = "", env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ARGS` as a user would, with no Telegram token in the environment."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    # The console keeps its questions in the state directory: the tests' own, not the machine's /tmp one.
    full_env.setdefault("STATE_DIR", str(Path(tempfile.gettempdir()) / f"csto-bot-tests-{os.getpid()}"))
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=ROOT,
    )


def write_long_kb(directory: Path) -> Path:
    """A knowledge base whose answers exceed one Telegram message: long passages, long citations."""
    directory.mkdir(parents=True, exist_ok=True)
    for k in range(3):
        sentences = " ".join(
            f"The CSTO and Kazakhstan cooperated on security under sanctions in year {2000 + i} in region {k}." for i in range(45)
        )
        front = MINIMAL_FRONT.format(id=f"long-{k}").replace(
            "citation: A small test document (fixture)", "citation: " + f"Long citation {k}, " * 90
        )
        write_doc(directory, f"long-{k}.md", front, f"## Passage\n{sentences}\n")
    (directory / "aliases.yaml").write_text("groups:\n  - [CSTO, Collective Security Treaty Organization]\n", encoding="utf-8")
    return directory

"""Fixtures for the ingest tests: the parsers (skipped without the `ingest` extra), the Cyrillic font
the PDFs are made with, a knowledge directory copied from the bundled one, and an in-process CLI."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import bundled_knowledge
from tests.ingest import fixtures

pytest.importorskip("pypdfium2", reason="the ingest extra is not installed: pip install -e '.[test,ingest]'")
pytest.importorskip("fpdf", reason="fpdf2 (test extra) makes the PDF fixtures")


@pytest.fixture(scope="session")
def font() -> Path:
    path = fixtures.font_path()
    if path is None:
        pytest.skip("no DejaVu Sans font (Debian's fonts-dejavu-core) to make the PDF fixtures with")
    return path


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    """A writable copy of the bundled knowledge base."""
    target = tmp_path / "knowledge"
    target.mkdir()
    for path in bundled_knowledge().iterdir():
        if path.is_file() and path.suffix in (".md", ".yaml"):
            shutil.copy(path, target / path.name)
    return target


@dataclass
class Result:
    rc: int
    out: str
    err: str


@pytest.fixture
def ingest(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Run `csto-bot ingest ARGS` in-process; the working directory is empty (no .env)."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in ("KNOWLEDGE_DIR", "INDEX_DIR"):
        monkeypatch.delenv(name, raising=False)

    def run(*args: object) -> Result:
        capsys.readouterr()
        rc = main(["ingest", *map(str, args)])
        captured = capsys.readouterr()
        return Result(rc, captured.out, captured.err)

    return run


def write(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    path.write_bytes(data)
    return path

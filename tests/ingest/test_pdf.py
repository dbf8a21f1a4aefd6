"""PDF ingestion on generated fixtures: locators, running headers, columns, hyphen joins, footnotes,
metadata, determinism and speed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from bot.knowledge.load import load_knowledge, parse_document
from tests.ingest import fixtures
from tests.ingest.conftest import write


def passages(path: Path) -> list[tuple[str, str]]:
    problems: list = []
    doc = parse_document(path, path.read_text(encoding="utf-8"), problems)
    assert not problems and doc is not None
    return [(p.label, p.text) for p in doc.passages]


def front(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text.split("---\n")[1])


def test_russian_article(ingest, kb: Path, font: Path, tmp_path: Path) -> None:
    pdf = write(tmp_path, "article.pdf", fixtures.russian_pdf(font))
    r = ingest("--knowledge", kb, pdf, "--id", "ivanova-2025")
    assert r.rc == 0, r.err
    target = kb / "ivanova-2025.md"
    got = passages(target)
    labels = [label for label, _ in got]
    texts = [text for _, text in got]
    # Locators from the printed page labels 47–49; a paragraph over the page break; the footnote.
    assert labels == ["p. 47"] * 4 + ["pp. 47–48", "p. 48", "p. 48, note 1", "p. 49", "p. 49"]
    assert texts[0] == fixtures.TITLE_RU
    assert texts[3] == fixtures.P1
    # The hyphen across a line is joined, and the paragraph runs on over the page break.
    assert texts[4].startswith("Статья рассматривает механизмы региональной интеграции в сфере")
    assert texts[4].endswith("обострения обстановки на границе.")
    assert texts[6] == fixtures.NOTE_RU
    # Two columns written row by row: each column read whole, left first.
    assert texts[7] == " ".join(fixtures.COL_LEFT)
    assert texts[8] == " ".join(fixtures.COL_RIGHT)
    # Headers and page numbers are gone from every passage.
    assert not any(t.startswith(fixtures.HEADER_RU) or t.endswith(fixtures.HEADER_RU) for t in texts)
    assert not any(t in ("47", "48", "49") for t in texts)
    # Every repair is reported.
    assert "running header removed: “Новизна. Эксперимент. Традиции. 2025. Т. 11, № 4 (32)” (47–49, 3 pages)" in r.out
    assert "page number removed" in r.out
    assert "hyphen joined: “интегра-” + “ции” (p. 47)" in r.out
    for label, _ in got:
        assert f"[{label}]" in r.out
    # Metadata: XMP and /Info, each with its origin; the author stays one name; the citation line is the PDF's own.
    meta = front(target)
    assert meta["authors"] == ["Иванова, Анна Сергеевна"]
    assert meta["title"] == fixtures.TITLE_RU
    assert meta["year"] == 2025 and "prism:coverDate" in r.out
    assert meta["venue"] == "Новизна. Эксперимент. Традиции"
    assert (meta["volume"], meta["issue"], meta["pages"]) == ("11", "4 (32)", "47-49")
    assert meta["citation"] == fixtures.CITATION_RU.removeprefix("Для цитирования: ")
    assert meta["language"] == "ru"
    assert "title: Угрозы безопасности на южных рубежах ОДКБ  ← PDF /Info Title" in r.out
    assert "# repair: hyphen joined" in target.read_text(encoding="utf-8")
    # The whole knowledge base still loads.
    assert any(d.meta.id == "ivanova-2025" for d in load_knowledge(kb).documents)


def test_no_year_from_creation_date_and_flags_win(ingest, kb: Path, font: Path, tmp_path: Path) -> None:
    pdf = write(tmp_path, "article.pdf", fixtures.russian_pdf(font, xmp=False))
    r = ingest("--knowledge", kb, pdf, "--id", "no-xmp")
    assert r.rc == 0, r.err
    meta = front(kb / "no-xmp.md")
    assert meta["year"] is None  # the fixture's CreationDate is 2026: never a year
    assert meta["venue"] is None and meta["pages"] is None
    assert meta["authors"] == ["Иванова, Анна Сергеевна"]  # /Info Author, not split at the comma
    assert "CreationDate D:2026" in r.out and "not used for the year" in r.out
    r = ingest(
        "--knowledge",
        kb,
        pdf,
        "--id",
        "flags",
        "--year",
        "2024",
        "--authors",
        "Петров, Пётр; Сидорова, Анна",
        "--venue",
        "Журнал",
    )
    assert r.rc == 0, r.err
    meta = front(kb / "flags.md")
    assert meta["year"] == 2024 and meta["authors"] == ["Петров, Пётр", "Сидорова, Анна"] and meta["venue"] == "Журнал"
    assert "year: 2024  ← --year" in r.out


def test_no_labels_placeholders_and_title(ingest, kb: Path, font: Path, tmp_path: Path) -> None:
    pdf = write(tmp_path, "draft.pdf", fixtures.english_pdf(font))
    r = ingest("--knowledge", kb, pdf)
    assert r.rc == 2 and not (kb / "draft.md").exists()
    assert r.err.count("\n") == 1 and "--title" in r.err
    r = ingest("--knowledge", kb, pdf, "--title", "Collective security in Central Asia")
    assert r.rc == 0, r.err
    got = passages(kb / "draft.md")
    assert [label for label, _ in got] == ["PDF p. 1"] * 3 + ["PDF p. 2"] * 3
    assert got[0][1] == fixtures.ENGLISH_TEXT[0]
    meta = front(kb / "draft.md")
    assert meta["authors"] == [] and meta["year"] is None and meta["language"] == "en"
    assert "“Microsoft Word - draft.docx” (PDF /Info Title) is a placeholder" in r.out
    assert "author “User” (PDF /Info Author) is a placeholder: dropped" in r.out
    # No citation line in the file: one is built from the metadata (APA for an English document).
    assert meta["citation"].startswith("Collective security in Central Asia")
    assert "built from the metadata (APA" in r.out


def test_first_page_sets_the_labels(ingest, kb: Path, font: Path, tmp_path: Path) -> None:
    pdf = write(tmp_path, "draft.pdf", fixtures.english_pdf(font))
    r = ingest("--knowledge", kb, pdf, "--title", "T", "--first-page", "101")
    assert r.rc == 0, r.err
    assert [label for label, _ in passages(kb / "draft.md")] == ["p. 101"] * 3 + ["p. 102"] * 3
    pdf = write(tmp_path, "ru.pdf", fixtures.russian_pdf(font, labels=False))
    r = ingest("--knowledge", kb, pdf)
    assert r.rc == 0, r.err
    assert {label for label, _ in passages(kb / "ru.md")} == {
        "PDF p. 1",
        "PDF pp. 1–2",
        "PDF p. 2",
        "PDF p. 2, note 1",
        "PDF p. 3",
    }


def test_dry_run_writes_nothing_and_output_is_deterministic(ingest, kb: Path, font: Path, tmp_path: Path) -> None:
    pdf = write(tmp_path, "article.pdf", fixtures.russian_pdf(font))
    before = sorted(p.name for p in kb.iterdir())
    r = ingest("--knowledge", kb, pdf, "--dry-run")
    assert r.rc == 0, r.err
    assert "dry run: not written" in r.out and "[p. 48, note 1]" in r.out
    assert sorted(p.name for p in kb.iterdir()) == before
    assert ingest("--knowledge", kb, pdf).rc == 0
    first = (kb / "article.md").read_bytes()
    second_out = ingest("--knowledge", kb, pdf, "--force")
    assert second_out.rc == 0
    assert (kb / "article.md").read_bytes() == first


def test_id_clash_needs_force(ingest, kb: Path, font: Path, tmp_path: Path) -> None:
    pdf = write(tmp_path, "article.pdf", fixtures.russian_pdf(font))
    original = (kb / "samokhin-2025-csto-sanctions.md").read_bytes()
    r = ingest("--knowledge", kb, pdf, "--id", "samokhin-2025-csto-sanctions")
    assert r.rc == 2 and "already taken" in r.err and "--force" in r.err and r.err.count("\n") == 1
    assert (kb / "samokhin-2025-csto-sanctions.md").read_bytes() == original


@pytest.mark.slow  # a volume test
def test_300_pages_in_seconds(ingest, kb: Path, font: Path, tmp_path: Path) -> None:
    pdf = write(tmp_path, "long.pdf", fixtures.long_pdf(font, 300))
    start = time.perf_counter()
    r = ingest("--knowledge", kb, pdf, "--dry-run")
    elapsed = time.perf_counter() - start
    assert r.rc == 0, r.err
    assert "running header removed: “Journal of Long Documents, vol. 3” (1–300, 300 pages)" in r.out
    assert "passages (1200)" in r.out
    assert elapsed < 15, f"{elapsed:.1f} s for 300 pages"
    print(f"300 pages: {elapsed:.2f} s, {1000 * elapsed / 300:.1f} ms/page")

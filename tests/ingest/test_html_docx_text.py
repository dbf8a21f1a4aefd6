"""HTML, DOCX, Markdown and plain text: heading-path and ¶ labels, boilerplate left out, metadata only
from what the file states."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ingest.model import Labels
from tests.ingest import fixtures
from tests.ingest.conftest import write
from tests.ingest.test_pdf import front, passages

pytest.importorskip("trafilatura")
pytest.importorskip("docx")


@pytest.mark.parametrize("charset", ["utf-8", "windows-1251"])
def test_html_article(ingest, kb: Path, tmp_path: Path, charset: str) -> None:
    path = write(tmp_path, "page.html", fixtures.russian_html(charset))
    r = ingest("--knowledge", kb, path, "--id", "csto-central-asia")
    assert r.rc == 0, r.err
    target = kb / "csto-central-asia.md"
    got = passages(target)
    assert [label for label, _ in got] == ["Введение", "Введение › Методы", "Результаты", "Результаты"]
    assert got[0][1].startswith("Организация Договора о коллективной безопасности объединяет Россию")
    body = target.read_text(encoding="utf-8")
    for boilerplate in ("Архив номеров", "cookie", "Популярное", "Отличная статья", "Все права защищены"):
        assert boilerplate not in body
    meta = front(target)
    assert meta["title"] == "ОДКБ и безопасность Центральной Азии"
    assert meta["authors"] == ["Иванова, Анна Сергеевна", "Petrov, Ivan"]
    assert meta["year"] == 2023 and meta["venue"] == "Вестник евразийских исследований"
    assert (meta["volume"], meta["issue"], meta["pages"]) == ("7", "2", "10-25")
    assert meta["publisher"] == "Издательство Евразия"
    assert meta["url"] == "https://journal.example.org/articles/csto-central-asia"
    assert meta["language"] == "ru"
    assert "year: 2023  ← meta citation_publication_date (2023/05/17)" in r.out
    if charset != "utf-8":
        assert "cp1251 (declared in the file)" in r.out
    # No citation line in the page: one built from the metadata, in ГОСТ for a Russian document.
    assert "// Вестник евразийских исследований" in meta["citation"]


def test_html_without_meta_guesses_nothing(ingest, kb: Path, tmp_path: Path) -> None:
    path = write(tmp_path, "page.html", fixtures.russian_html(meta=False))
    r = ingest("--knowledge", kb, path)
    assert r.rc == 0, r.err
    meta = front(kb / "page.md")
    # The "© 2024" footer is no publication date, the <title> names the site, not the article.
    assert meta["year"] is None and meta["authors"] == [] and meta["venue"] is None and meta["url"] is None
    assert meta["title"] == "ОДКБ и безопасность Центральной Азии"
    assert "the page's <h1>" in r.out
    assert meta["language"] == "ru" and "<html lang>" in r.out


def test_docx(ingest, kb: Path, tmp_path: Path) -> None:
    path = write(tmp_path, "report.docx", fixtures.english_docx())
    r = ingest("--knowledge", kb, path)
    assert r.rc == 0, r.err
    got = passages(kb / "report.md")
    assert got == [
        ("Introduction", "The Collective Security Treaty Organization brings together six post-Soviet states."),
        ("Introduction › Methods", "We read the treaty, the charter and the statements of the Secretary General."),
        ("Introduction › Methods", "We also compared the exercises held between 2010 and 2020."),
        ("Results", "Cooperation deepened in training but not in procurement."),
    ]
    meta = front(kb / "report.md")
    assert meta["title"] == "Collective security in Central Asia" and meta["authors"] == ["Smith, John A."]
    assert meta["year"] is None  # `created` 2019 is the file's date
    assert "created 2019-01-02 is the file's date" in r.out
    assert meta["language"] == "en"


def test_docx_placeholders(ingest, kb: Path, tmp_path: Path) -> None:
    path = write(tmp_path, "report.docx", fixtures.english_docx(author="Admin", title="Microsoft Word - report.docx"))
    r = ingest("--knowledge", kb, path)
    assert r.rc == 0, r.err
    meta = front(kb / "report.md")
    assert meta["authors"] == [] and "author “Admin” (DOCX core property creator) is a placeholder: dropped" in r.out
    assert meta["title"] == "Collective security in Central Asia" and "the paragraph styled Title" in r.out


def test_markdown_and_text(ingest, kb: Path, tmp_path: Path) -> None:
    r = ingest("--knowledge", kb, write(tmp_path, "notes.md", fixtures.MARKDOWN_EN.encode()))
    assert r.rc == 0, r.err
    assert passages(kb / "notes.md") == [
        ("¶ 1", "Intro paragraph before any section."),
        ("Members", "The members are Armenia, Belarus, Kazakhstan, Kyrgyzstan, Russia and Tajikistan."),
        ("Members › Observers", "There are no observers."),
        ("History", "The treaty was signed in 1992."),
    ]
    assert front(kb / "notes.md")["title"] == "Notes on the CSTO"
    assert "Markdown markup removed" in r.out
    r = ingest("--knowledge", kb, write(tmp_path, "note.txt", fixtures.TEXT_RU.encode()), "--title", "Заметка об ОДКБ")
    assert r.rc == 0, r.err
    got = passages(kb / "note.md")
    assert [label for label, _ in got] == ["¶ 1", "¶ 2"]
    assert got[0][1] == "Первый абзац заметки об ОДКБ: организация была создана в 2002 году на основе договора 1992 года."
    assert front(kb / "note.md")["language"] == "ru"


def test_labels_follow_the_heading_path() -> None:
    labels = Labels()
    assert labels.label() == "¶ 1" and labels.label() == "¶ 2"  # before any heading
    labels.heading(1, "Part")
    labels.heading(3, "Deep")
    assert labels.label() == "Part › Deep"
    labels.heading(3, "Sibling")  # same level: replaces, not nests
    assert labels.label() == "Part › Sibling"
    labels.heading(2, "Section")  # shallower: ends the deeper one
    assert labels.label() == "Part › Section"

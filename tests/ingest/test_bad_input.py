"""Every refusal: one line on stderr naming the file and the reason, exit status 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ingest import model
from tests.ingest import fixtures
from tests.ingest.conftest import write


def refused(ingest, kb: Path, *args: object) -> str:
    before = {p.name: p.read_bytes() for p in kb.iterdir()}
    r = ingest("--knowledge", kb, *args)
    assert r.rc == 2, r.out
    assert r.err.count("\n") == 1 and r.err.startswith("csto-bot ingest: "), r.err
    assert {p.name: p.read_bytes() for p in kb.iterdir()} == before
    assert not r.out
    return r.err


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        ("locked.pdf", fixtures.password_pdf, "password-protected"),
        ("scan.pdf", fixtures.scanned_pdf, "scanned: its pages are images with no text layer; OCR it first"),
        ("blank.pdf", fixtures.empty_pdf, "the PDF is empty"),
        ("garbled.pdf", fixtures.garbled_pdf, "text layer is garbled"),
    ],
)
def test_bad_pdfs(ingest, kb: Path, font: Path, tmp_path: Path, name: str, make, expected: str) -> None:
    path = write(tmp_path, name, make(font))
    err = refused(ingest, kb, path)
    assert str(path) in err and expected in err


def test_truncated_pdf(ingest, kb: Path, font: Path, tmp_path: Path) -> None:
    data = fixtures.russian_pdf(font)
    path = write(tmp_path, "cut.pdf", data[: len(data) // 2])
    assert "truncated" in refused(ingest, kb, path)


def test_empty_and_missing_files(ingest, kb: Path, tmp_path: Path) -> None:
    assert "the file is empty" in refused(ingest, kb, write(tmp_path, "empty.txt", b"  \n"))
    assert "no such file" in refused(ingest, kb, tmp_path / "nowhere.pdf")


def test_wrong_extension_is_sniffed(ingest, kb: Path, font: Path, tmp_path: Path) -> None:
    err = refused(ingest, kb, write(tmp_path, "page.pdf", fixtures.russian_html()))
    assert "wrong extension: the file is an HTML page, not a PDF" in err
    err = refused(ingest, kb, write(tmp_path, "article.docx", fixtures.russian_pdf(font)))
    assert "wrong extension: the file is a PDF, not a DOCX document" in err


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("old.doc", fixtures.DOC_BYTES, "unsupported format: an old Office file"),
        ("notes.odt", fixtures.odt_bytes(), "unsupported format: an OpenDocument file"),
        ("scan.png", fixtures.PNG_BYTES, "unsupported format: a PNG image; OCR it first"),
        ("scan.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 64, "unsupported format: a JPEG image"),
        ("data.bin", b"\x00\x01\x02binary", "unsupported"),
        ("notes.rtf", b"{\\rtf1 hello}", "unsupported format: an RTF file"),
        ("text.doc", "Просто текст.".encode(), "unsupported format: a Word 97–2003 .doc"),
    ],
)
def test_unsupported_formats(ingest, kb: Path, tmp_path: Path, name: str, data: bytes, expected: str) -> None:
    assert expected in refused(ingest, kb, write(tmp_path, name, data))


def test_zip_bomb_docx(ingest, kb: Path, tmp_path: Path) -> None:
    err = refused(ingest, kb, write(tmp_path, "bomb.docx", fixtures.zip_bomb_docx()))
    assert "zip bomb" in err


def test_truncated_docx(ingest, kb: Path, tmp_path: Path) -> None:
    pytest.importorskip("docx")
    data = fixtures.english_docx()
    err = refused(ingest, kb, write(tmp_path, "cut.docx", data[: len(data) // 2]))
    assert "damaged or truncated" in err


def test_huge_files_and_page_limits(ingest, kb: Path, font: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "article.pdf", fixtures.russian_pdf(font))
    monkeypatch.setattr("bot.ingest.sniff.MAX_BYTES", 1000)
    assert "the file is too large" in refused(ingest, kb, path)
    monkeypatch.setattr("bot.ingest.sniff.MAX_BYTES", model.MAX_BYTES)
    monkeypatch.setattr("bot.ingest.pdf.MAX_PAGES", 2)
    assert "the PDF has 3 pages, more than the limit of 2: split it" in refused(ingest, kb, path)


def test_not_utf8_says_what_it_looks_like(ingest, kb: Path, tmp_path: Path) -> None:
    path = write(tmp_path, "note.txt", fixtures.TEXT_RU.encode("cp1251"))
    err = refused(ingest, kb, path)
    assert "not UTF-8" in err and "it looks like cp1251" in err and "--encoding cp1251" in err
    path = write(tmp_path, "koi.txt", fixtures.TEXT_RU.encode("koi8_r"))
    err = refused(ingest, kb, path)
    assert "it looks like koi8_r" in err
    r = ingest("--knowledge", kb, path, "--encoding", "koi8-r", "--title", "Заметка")
    assert r.rc == 0, r.err
    text = (kb / "koi.md").read_text(encoding="utf-8")
    assert "## ¶ 1\nПервый абзац заметки об ОДКБ: организация была создана в 2002 году на основе договора 1992 года." in text


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("Текст \ufffd\ufffd\ufffd с заменами \ufffd\ufffd".encode(), "are unreadable, e.g. '\ufffd'"),
        (b"1234567890 ab 2024 99-17", "only 10% of its characters are letters; it begins '1234567890 ab 2024 99-17'"),
    ],
)
def test_a_text_that_is_not_prose_is_refused_with_the_reason(ingest, kb: Path, tmp_path: Path, data: bytes, reason: str) -> None:
    err = refused(ingest, kb, write(tmp_path, "note.txt", data), "--title", "T")
    assert "the text is garbled" in err and reason in err, err


def test_no_title_asks_for_one(ingest, kb: Path, tmp_path: Path) -> None:
    err = refused(ingest, kb, write(tmp_path, "note.txt", fixtures.TEXT_RU.encode()))
    assert "give one with --title" in err


def test_several_files_all_or_nothing(ingest, kb: Path, font: Path, tmp_path: Path) -> None:
    good = write(tmp_path, "good.pdf", fixtures.russian_pdf(font))
    bad = write(tmp_path, "bad.pdf", fixtures.scanned_pdf(font))
    assert "scanned" in refused(ingest, kb, good, bad)
    assert not (kb / "good.md").exists()


def test_without_the_extra(ingest, kb: Path, font: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pypdfium2", None)
    path = write(tmp_path, "article.pdf", fixtures.russian_pdf(font))
    err = refused(ingest, kb, path)
    assert "reading PDF needs pypdfium2: pip install 'csto-bot[ingest]'" in err
    assert "(for the image: build it with --build-arg EXTRAS=ingest)" in err

"""What a file really is, from its bytes (the extension only has to agree), and text decoding."""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from pathlib import Path

from bot.ingest.model import INSTALL_HINT, MAX_BYTES, MAX_UNZIPPED_BYTES, MAX_ZIP_RATIO, IngestError

KINDS = {  # extension -> kind
    ".pdf": "pdf",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".docx": "docx",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
}
NAMES = {"pdf": "a PDF", "html": "an HTML page", "docx": "a DOCX document", "markdown": "Markdown", "text": "plain text"}
_IMAGES = [
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
]
_UNSUPPORTED_EXT = {
    ".doc": "a Word 97–2003 .doc file: save it as .docx or PDF",
    ".odt": "an OpenDocument text: save it as .docx or PDF",
    ".rtf": "an RTF file: save it as .docx or PDF",
    ".epub": "an EPUB book: not supported",
    ".djvu": "a DjVu file: convert it to PDF with a text layer",
}


def read_limited(path: Path) -> bytes:
    if not path.exists():
        raise IngestError("no such file")
    if not path.is_file():
        raise IngestError("not a regular file")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise IngestError(f"the file is too large ({size / 2**20:.0f} MB; the limit is {MAX_BYTES / 2**20:.0f} MB)")
    data = path.read_bytes()
    if not data.strip():
        raise IngestError("the file is empty")
    return data


def _zip_kind(data: bytes) -> str:
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        names = set(z.namelist())
    except zipfile.BadZipFile:
        raise IngestError("a damaged or truncated zip archive (a DOCX is a zip): it cannot be opened") from None
    if "word/document.xml" in names:
        check_zip(z)
        return "docx"
    if "mimetype" in names:
        mime = z.read("mimetype")[:100].decode("ascii", "replace").strip()
        if "opendocument" in mime:
            raise IngestError(f"unsupported format: an OpenDocument file ({mime}); save it as .docx or PDF")
        if "epub" in mime:
            raise IngestError("unsupported format: an EPUB book")
    if any(n.startswith("xl/") for n in names):
        raise IngestError("unsupported format: an Excel workbook")
    if any(n.startswith("ppt/") for n in names):
        raise IngestError("unsupported format: a PowerPoint presentation")
    raise IngestError("unsupported format: a zip archive that is not a DOCX document")


def check_zip(z: zipfile.ZipFile) -> None:
    """Refuse zip bombs before anything inflates: the total and each member's ratio, as declared."""
    total = 0
    for info in z.infolist():
        total += info.file_size
        if info.file_size > 2**20 and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise IngestError(
                f"refused: {info.filename} inflates {info.file_size // max(info.compress_size, 1)}-fold "
                f"({info.file_size / 2**20:.0f} MB), a zip bomb or not a real document"
            )
    if total > MAX_UNZIPPED_BYTES:
        raise IngestError(
            f"refused: the DOCX unpacks to {total / 2**20:.0f} MB, more than the limit of {MAX_UNZIPPED_BYTES / 2**20:.0f} MB"
        )


def _looks_html(data: bytes) -> bool:
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<html", b"<?xml")) and b"<html" in data[:4096].lower():
        return True
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


def sniff(path: Path, data: bytes) -> str:
    """The file's kind ("pdf", "html", "docx", "markdown", "text"), refusing what cannot be ingested."""
    ext = path.suffix.lower()
    if data.startswith(b"%PDF-") or data[:1024].find(b"%PDF-") >= 0:
        real = "pdf"
    elif data.startswith(b"PK\x03\x04"):
        real = _zip_kind(data)
    elif data.startswith(bytes.fromhex("d0cf11e0a1b11ae1")):
        raise IngestError("unsupported format: an old Office file (Word 97–2003 .doc, .xls or .ppt); save it as .docx or PDF")
    elif data.startswith(b"{\\rtf"):
        raise IngestError("unsupported format: an RTF file; save it as .docx or PDF")
    elif data.startswith(b"AT&TFORM"):
        raise IngestError("unsupported format: a DjVu file; convert it to PDF with a text layer")
    else:
        image = next((name for magic, name in _IMAGES if data.startswith(magic)), None)
        if image is not None:
            raise IngestError(f"unsupported format: a {image} image; OCR it first and ingest the text or a PDF with a text layer")
        if b"\0" in data[:8192] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise IngestError("unsupported format: binary data that is not PDF, DOCX, HTML or text")
        if _looks_html(data):
            real = "html"
        elif ext in (".md", ".markdown"):
            real = "markdown"
        else:
            real = "text"
    if ext in _UNSUPPORTED_EXT and real in ("text", "markdown"):
        raise IngestError(f"unsupported format: {_UNSUPPORTED_EXT[ext]}")
    expected = KINDS.get(ext)
    if expected is None:
        if ext in _UNSUPPORTED_EXT:
            raise IngestError(f"unsupported format: {_UNSUPPORTED_EXT[ext]}")
        if ext:
            raise IngestError(f"unsupported extension {ext!r}: ingest reads .pdf, .html, .docx, .md and .txt")
        return real
    text_like = {"text", "markdown"}
    if expected != real and not (expected in text_like and real in text_like):
        raise IngestError(f"wrong extension: the file is {NAMES[real]}, not {NAMES[expected]}; rename it to match its content")
    return real


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def declared_charset(data: bytes) -> str | None:
    found = _META_CHARSET.search(data[:8192])
    if not found:
        return None
    name = found.group(1).decode("ascii")
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode(data: bytes, encoding: str | None, declared: str | None = None) -> tuple[str, str]:
    """Text and how it was decoded. UTF-8 (with or without BOM), the --encoding given, or the
    encoding the file declares; anything else is refused with what it looks like."""
    if encoding:
        try:
            return data.decode(encoding), f"--encoding {encoding}"
        except LookupError:
            raise IngestError(f"unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as e:
            raise IngestError(f"the file is not valid {encoding} (byte 0x{data[e.start]:02x} at offset {e.start})") from None
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            try:
                return data.decode(name), f"{name} (byte-order mark)"
            except UnicodeDecodeError:
                raise IngestError(f"the file starts with a {name} byte-order mark but is not valid {name}") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as e:
        offset = e.start
    if declared and declared not in ("utf-8", "utf_8"):
        try:
            return data.decode(declared), f"{declared} (declared in the file)"
        except UnicodeDecodeError:
            pass
    guess, how = guess_encoding(data)
    hint = (
        f"it looks like {guess} ({how}); re-run with --encoding {guess}"
        if guess
        else "its encoding could not be detected; give it with --encoding"
    )
    raise IngestError(f"the file is not UTF-8 (byte 0x{data[offset]:02x} at offset {offset}): {hint}")


def guess_encoding(data: bytes) -> tuple[str | None, str]:
    """charset-normalizer's best guess when it is installed, else a Cyrillic heuristic."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:
        found = _cyrillic_guess(data)
        return found, f"Cyrillic letter-frequency heuristic; {INSTALL_HINT} for charset-normalizer"
    best = from_bytes(data).best()
    if best is None:
        return _cyrillic_guess(data), "Cyrillic letter-frequency heuristic"
    name = best.encoding
    if name in ("cp1251", "koi8_r", "mac_cyrillic", "cp866", "iso8859_5", "cp1125", "koi8_u"):
        # For short Russian texts the candidates are close: decide between the usual two by letter frequencies.
        heuristic = _cyrillic_guess(data)
        if heuristic and heuristic != name:
            return heuristic, f"charset-normalizer proposed {name}; the Cyrillic letter-frequency heuristic prefers {heuristic}"
    return name, "detected by charset-normalizer"


_COMMON_RU = set("оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъё")


def _cyrillic_guess(data: bytes) -> str | None:
    """cp1251 or koi8-r: in the right one most Cyrillic letters are lowercase and common."""
    best, best_score = None, 0.0
    for name in ("cp1251", "koi8_r", "cp866"):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        letters = [c for c in text if "\u0400" <= c <= "\u04ff"]
        if len(letters) < 10:
            continue
        score = sum(1 for c in letters if c in _COMMON_RU) / len(letters)
        if score > best_score:
            best, best_score = name, score
    return best if best_score > 0.6 else None

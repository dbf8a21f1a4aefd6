"""PDF: text lines from pypdfium2's text rectangles, then the layout rules that turn them into passages.

- Lines: pdfium's text rectangles (one per run of text on a line; a column gutter splits them),
  merged when they sit on the same baseline close together.
- Running headers and footers: a line among the top two or bottom two of a page that recurs, digits
  aside, on at least half the pages is dropped (page numbers included).
- Footnotes: lines at the bottom of a page in a smaller size than the body, starting with a note
  marker ("1", "*", "¹").
- Columns: a vertical gutter no line crosses, with at least three lines on each side; lines that
  cross it (a title, a full-width paragraph) break the page into bands, each read left column first.
- Paragraphs: a new one at a larger gap, a change of size, an indented first line, or after a short
  line that ends a sentence; a paragraph that does not end a sentence continues in the next column
  or on the next page (`pp. 47–48`).
- Repairs, each listed: a hyphen at a line end before a lowercase letter joins the word; soft
  hyphens are dropped; the text is NFC-normalised.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from dataclasses import dataclass, field

from bot.ingest.model import MAX_PAGES, Block, Extraction, IngestError, Stated, counted
from bot.ingest.textcheck import garbled

HYPHENS = "-\u2010\u00ad\u0002"  # hyphen-minus, hyphen, soft hyphen, pdfium's end-of-line hyphen mark
_SENTENCE_END = re.compile(r"[.!?…:;][»”\"’')\]]*$")
_NOTE_MARKER = re.compile(r"^(?:\d{1,3}|[*†‡]{1,3}|[¹²³⁴⁵⁶⁷⁸⁹⁰]{1,3})(?=\s*\S)")
_CITATION_LINE = re.compile(r"^(?:for citations?|cite as|citation|для цитирования|ссылка для цитирования)\s*:\s*(\S.*)$", re.I)


@dataclass
class Line:
    page: int  # 0-based index
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    text: str
    baseline: float = 0.0
    raw: list[str] = field(default_factory=list)

    @property
    def height(self) -> float:
        return self.top - self.bottom


@dataclass
class Para:
    pages: list[int]
    lines: list[Line]
    note: str | None = None  # the footnote marker


def _open(pdfium, data: bytes):
    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as e:
        message = str(e).lower()
        if "password" in message:
            raise IngestError("the PDF is password-protected: open it with its password and save an unprotected copy") from None
        if "format" in message or "corrupt" in message:
            raise IngestError("the PDF is damaged or truncated: pdfium cannot read it") from None
        raise IngestError(f"the PDF cannot be read ({e})") from None


def _page_lines(pdfium_c, page, textpage, index: int) -> tuple[list[Line], int]:
    """The lines of one page, top to bottom, and the number of characters on it."""
    chars = textpage.count_chars()
    if chars <= 0:
        return [], 0
    pieces: list[Line] = []
    for i in range(textpage.count_rects()):
        left, bottom, right, top = textpage.get_rect(i)
        h = top - bottom
        # A little inside the rectangle, so that a neighbouring line's characters are not caught.
        text = textpage.get_text_bounded(left - 0.5, bottom + 0.25 * h, right + 0.5, top - 0.25 * h)
        text = text.replace("\r", " ").replace("\n", " ").strip()
        if not text:
            continue
        at = textpage.get_index((left + min(right, left + 4)) / 2, (top + bottom) / 2, 2.0, h / 2)
        size, baseline = h, bottom
        if at is not None and at >= 0:
            size = pdfium_c.FPDFText_GetFontSize(textpage, at) or h
            # The loose box spans the font's descent to ascent: its bottom sits a fixed distance
            # below the baseline, so line to line it measures the pitch.
            baseline = textpage.get_charbox(at, loose=True)[1]
        pieces.append(Line(index, left, right, top, bottom, float(size), text, baseline, [text]))
    pieces.sort(key=lambda p: (-round(p.top, 0), p.x0))
    lines: list[Line] = []
    for p in pieces:
        last = lines[-1] if lines else None
        if last is not None:
            overlap = min(last.top, p.top) - max(last.bottom, p.bottom)
            gap = p.x0 - last.x1
            if overlap > 0.5 * min(last.height, p.height) and -1 < gap < 1.5 * max(last.size, p.size):
                joiner = " " if gap > 0.15 * p.size and not last.text.endswith(" ") else ""
                last.text = last.text + joiner + p.text
                last.x1, last.top, last.bottom = max(last.x1, p.x1), max(last.top, p.top), min(last.bottom, p.bottom)
                last.raw.append(p.text)
                continue
        lines.append(p)
    lines.sort(key=lambda ln: (-ln.top, ln.x0))
    return lines, chars


def _key(text: str) -> str:
    return " ".join(re.sub(r"\d+", "#", text.casefold()).split())


def _edges(lines: list[Line]) -> tuple[list[int], list[int]]:
    """Indexes of the lines that may be a running header (top two) or footer (bottom two): those set
    apart from the body by a gap wider than the page's usual line pitch."""
    if not lines:
        return [], []
    gaps = [a.baseline - b.baseline for a, b in zip(lines, lines[1:])]
    steps = [g for g, a in zip(gaps, lines) if 0.3 * a.size < g < 3 * a.size]
    pitch = statistics.median(steps) if steps else 0.0

    def apart(i: int) -> bool:  # a wide gap after line i
        return i >= len(gaps) or i < 0 or not pitch or gaps[i] > 1.4 * pitch

    n = len(lines)
    top = [k for k in range(min(2, n)) if any(apart(j) for j in range(k, min(2, n)))]
    bottom = [k for k in range(max(0, n - 2), n) if any(apart(j - 1) for j in range(max(1, n - 2), k + 1))]
    return top, bottom


def _drop_running(pages: list[list[Line]], labels: list[str], repairs: list[str]) -> None:
    """Remove running headers and footers: top/bottom lines, set apart from the body, recurring
    (digits aside) on at least half the pages."""
    if len(pages) < 2:
        return
    need = max(2, (len(pages) + 1) // 2)
    edges = [_edges(lines) for lines in pages]
    for where, side in (("header", 0), ("footer", 1)):
        counts: dict[str, set[int]] = {}
        for i, lines in enumerate(pages):
            for k in edges[i][side]:
                counts.setdefault(_key(lines[k].text), set()).add(i)
        for key, on in sorted(counts.items()):
            if len(on) < need:
                continue
            sample = ""
            for i in sorted(on):
                marked = {id(pages[i][k]) for k in edges[i][side] if _key(pages[i][k].text) == key}
                sample = sample or next(ln.text for ln in pages[i] if id(ln) in marked)
                pages[i][:] = [ln for ln in pages[i] if id(ln) not in marked]
            edges = [_edges(lines) for lines in pages]
            what = "page number" if re.fullmatch(r"[#\s\-–—]*", key) else f"running {where}"
            repairs.append(f"{what} removed: “{sample}” ({_span([labels[i] for i in sorted(on)])})")


def _span(labels: list[str]) -> str:
    if len(labels) == 1:
        return labels[0]
    return f"{labels[0]}–{labels[-1]}, {len(labels)} pages"


def _split_notes(lines: list[Line], body_size: float) -> tuple[list[Line], list[Para]]:
    """Footnotes: the bottom run of smaller lines, starting with a marker."""
    n = len(lines)
    while n > 0 and lines[n - 1].size <= 0.85 * body_size:
        n -= 1
    tail = lines[n:]
    if not tail:
        return lines, []
    # Skip small lines before the first marker: they are not notes (a caption, a small paragraph).
    first = next((i for i, ln in enumerate(tail) if _NOTE_MARKER.match(ln.text)), None)
    if first is None:
        return lines, []
    notes: list[Para] = []
    for line in tail[first:]:
        marker = _NOTE_MARKER.match(line.text)
        if marker is not None and (not notes or line.x0 <= notes[-1].lines[0].x0 + 1):
            notes.append(Para([line.page], [line], marker.group(0)))
        else:
            notes[-1].lines.append(line)
    return lines[: n + first], notes


def _order(lines: list[Line], width: float) -> list[tuple[int, Line]]:
    """Reading order with a column number for each line (0 = full width or left, 1 = right)."""
    best: tuple[int, float] | None = None
    for step in range(30, 71):
        x = width * step / 100
        left = sum(1 for ln in lines if ln.x1 <= x)
        right = sum(1 for ln in lines if ln.x0 >= x)
        cross = len(lines) - left - right
        if min(left, right) >= 3 and cross <= 0.3 * len(lines):
            score = min(left, right) - 2 * cross
            if best is None or score > best[0]:
                best = (score, x)
    if best is None:
        return [(0, ln) for ln in lines]
    gutter = best[1]
    out: list[tuple[int, Line]] = []
    band: list[Line] = []

    def flush() -> None:
        out.extend((0, ln) for ln in band if ln.x1 <= gutter)
        out.extend((1, ln) for ln in band if ln.x0 >= gutter)
        band.clear()

    for ln in lines:
        if ln.x1 <= gutter or ln.x0 >= gutter:
            band.append(ln)
        else:
            flush()
            out.append((0, ln))
    flush()
    return out


def _paragraphs(ordered: list[tuple[int, Line]]) -> list[Para]:
    paras: list[Para] = []
    columns: dict[int, tuple[float, float]] = {}
    for col, ln in ordered:
        lo, hi = columns.get(col, (ln.x0, ln.x1))
        columns[col] = (min(lo, ln.x0), max(hi, ln.x1))
    pitches = [
        a.baseline - b.baseline
        for (ca, a), (cb, b) in zip(ordered, ordered[1:])
        if ca == cb and abs(a.size - b.size) < 0.6 and 0 < a.baseline - b.baseline < 3 * a.size
    ]
    pitch = statistics.median(pitches) if pitches else None
    prev: tuple[int, Line] | None = None
    for col, ln in ordered:
        new = prev is None
        if prev is not None:
            pcol, p = prev
            size = max(p.size, ln.size)
            left, right = columns[col]
            if pcol != col or ln.top > p.bottom + size:  # another column, or back up the page
                new = bool(_SENTENCE_END.search(p.text.rstrip()))
            elif abs(p.size - ln.size) > 0.6:
                new = True
            elif p.baseline - ln.baseline > (1.3 * pitch if pitch else 1.6 * size):
                new = True
            elif ln.x0 - left > 0.9 * ln.size and p.x0 - left <= 0.9 * p.size:
                new = True
            elif p.x1 < right - 3 * p.size and _SENTENCE_END.search(p.text.rstrip()):
                new = True
        if new:
            paras.append(Para([ln.page], [ln]))
        else:
            paras[-1].lines.append(ln)
        prev = (col, ln)
    return paras


def _join(para: Para, label_of, repairs: list[str]) -> str:
    text = ""
    for ln in para.lines:
        piece = ln.text.strip()
        if not text:
            text = piece
            continue
        end = text[-1]
        if end in HYPHENS and len(text) > 1 and text[-2].isalpha() and piece[:1].islower():
            word_a = text.split()[-1].replace("\u0002", "-")  # text ends in a letter and a hyphen: not blank
            word_b = piece.split()[0]
            repairs.append(f"hyphen joined: “{word_a}” + “{word_b}” ({label_of(ln.page)})")
            text = text[:-1] + piece
        elif end == "\u0002":
            text = text[:-1] + "-" + piece
        else:
            text = text + " " + piece
    return text


def _clean(text: str, where: str, repairs: list[str]) -> str:
    if "\u00ad" in text:
        repairs.append(f"soft hyphen dropped ×{text.count(chr(0xAD))} ({where})")
        text = text.replace("\u00ad", "")
    text = text.replace("\u0002", "-")
    nfc = unicodedata.normalize("NFC", text)
    if nfc != text:
        repairs.append(f"NFC applied ({where})")
    return " ".join(nfc.split())


def _locator(pages: list[int], labels: list[str], numbered: bool) -> str:
    first, last = labels[pages[0]], labels[pages[-1]]
    prefix = "p." if numbered else "PDF p."
    if first == last:
        return f"{prefix} {first}"
    return f"{prefix.replace('p.', 'pp.')} {first}–{last}"


def _labels(doc, count: int, first_page: int | None) -> tuple[list[str], bool, str]:
    if first_page is not None:
        return [str(first_page + i) for i in range(count)], True, f"--first-page {first_page}"
    labels = [doc.get_page_label(i) or "" for i in range(count)]
    if all(labels):
        return labels, True, "the PDF's page labels"
    return [str(i + 1) for i in range(count)], False, "no page labels in the PDF: PDF page numbers"


def extract_pdf(data: bytes, *, first_page: int | None = None) -> Extraction:
    try:
        import pypdfium2 as pdfium
        import pypdfium2.raw as pdfium_c
    except ImportError as e:
        from bot.ingest.model import INSTALL_HINT, MissingParser

        raise MissingParser(f"reading PDF needs pypdfium2: {INSTALL_HINT}") from e
    if b"%%EOF" not in data[-2048:]:
        raise IngestError("the PDF is truncated (it does not end with %%EOF): download or copy it again")
    doc = _open(pdfium, data)
    try:
        return _extract(pdfium_c, doc, data, first_page)
    finally:
        doc.close()


def _extract(pdfium_c, doc, data: bytes, first_page: int | None) -> Extraction:
    count = len(doc)
    if count == 0:
        raise IngestError("the PDF has no pages")
    if count > MAX_PAGES:
        raise IngestError(f"the PDF has {count} pages, more than the limit of {MAX_PAGES}: split it")
    labels, numbered, label_source = _labels(doc, count, first_page)
    repairs: list[str] = []
    notes_out: list[str] = [f"locators: {label_source}"]
    pages: list[list[Line]] = []
    widths: list[float] = []
    total_chars = 0
    images = 0
    textless: list[str] = []
    raw_text: list[str] = []
    for i in range(count):
        page = doc[i]
        textpage = page.get_textpage()
        try:
            lines, chars = _page_lines(pdfium_c, page, textpage, i)
            if chars:
                raw_text.append(textpage.get_text_range())
        finally:
            textpage.close()
        if not chars:
            textless.append(labels[i])
            images += sum(1 for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2))
        widths.append(page.get_width())
        page.close()
        total_chars += chars
        pages.append(lines)
    if total_chars == 0:
        if images:
            raise IngestError(
                "the PDF is scanned: its pages are images with no text layer; OCR it first (e.g. ocrmypdf) and ingest the result"
            )
        raise IngestError("the PDF is empty: its pages have no text")
    if why := garbled("".join(raw_text)):
        raise IngestError(
            f"the PDF's text layer is garbled ({why}): its fonts have no Unicode map; OCR the pages or find another copy"
        )
    if textless:
        notes_out.append(f"pages with no text, skipped: {', '.join(textless)}")
    source_lines = [raw for lines in pages for ln in lines for raw in ln.raw]
    _drop_running(pages, labels, repairs)
    sizes = [ln.size for lines in pages for ln in lines for _ in range(max(1, len(ln.text) // 10))]
    body_size = statistics.median(sizes) if sizes else 10.0

    body: list[Para] = []
    notes: list[Para] = []
    for i, lines in enumerate(pages):
        main, page_notes = _split_notes(lines, body_size)
        notes.extend(page_notes)
        page_paras = _paragraphs(_order(main, widths[i]))
        if body and page_paras and not _SENTENCE_END.search(body[-1].lines[-1].text.rstrip()):
            # The last paragraph goes on over the page break (a heading in between would have ended it).
            body[-1].lines.extend(page_paras[0].lines)
            body[-1].pages.append(i)
            page_paras = page_paras[1:]
        body.extend(page_paras)
        # Notes follow the body text of their page, so that passages stay in the source's order.
        for note in page_notes:
            body.append(note)

    def label_of(page: int) -> str:
        return _locator([page], labels, numbered)

    blocks: list[Block] = []
    meta: dict[str, Stated] = {}
    for para in body:
        text = _clean(_join(para, label_of, repairs), label_of(para.pages[0]), repairs)
        if not text:
            continue
        label = _locator(sorted(set(para.pages)), labels, numbered)
        if para.note is not None:
            label = f"{label}, note {para.note}"
        found = _CITATION_LINE.match(text)
        if found and "citation" not in meta:
            meta["citation"] = Stated(found.group(1), f"the citation line on {label}")
        blocks.append(Block(label, text))
    if not blocks:
        raise IngestError("the PDF is empty: nothing but running headers and page numbers")
    meta.update(_info(doc, notes_out))
    meta.update(_xmp(data, notes_out))
    return Extraction(
        "PDF",
        blocks,
        meta,
        repairs,
        notes_out,
        source_lines=source_lines,
        summary=f"{counted(count, 'page')}, labels {labels[0]}–{labels[-1]}" if count > 1 else f"1 page, label {labels[0]}",
    )


def _info(doc, notes: list[str]) -> dict[str, Stated]:
    """The document information dictionary: Title, Author, Subject. Dates are never a year: a PDF's
    CreationDate and ModDate are the file's, not the publication's."""
    out: dict[str, Stated] = {}
    info = doc.get_metadata_dict(skip_empty=True)
    if info.get("Title"):
        out["title"] = Stated(info["Title"], "PDF /Info Title")
    if info.get("Author"):
        out["authors"] = Stated(info["Author"], "PDF /Info Author")
    for key in ("CreationDate", "ModDate"):
        if info.get(key):
            notes.append(f"/Info {key} {info[key]} is the file's date, not a publication date: not used for the year")
    return out


_XMP_NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "prism": "http://prismstandard.org/namespaces/basic/2.0/",
    "prism3": "http://prismstandard.org/namespaces/basic/3.0/",
}
# XMP property -> field. Only a publication date gives a year (prism:coverDate, prism:publicationDate);
# xmp:CreateDate and dc:date are left alone.
_XMP_FIELDS = {
    "prism:publicationName": "venue",
    "prism:volume": "volume",
    "prism:number": "issue",
    "prism:issueIdentifier": "issue",
    "prism:url": "url",
    "prism:coverDate": "date",
    "prism:publicationDate": "date",
}


def _xmp(data: bytes, notes: list[str]) -> dict[str, Stated]:
    """XMP metadata through pypdf, when it is installed and the file has it."""
    try:
        from pypdf import PdfReader
    except ImportError:
        notes.append("XMP metadata not read (pypdf is not installed)")
        return {}
    import io
    import logging

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        xmp = PdfReader(io.BytesIO(data)).xmp_metadata
    except Exception as e:  # a damaged metadata stream is no reason to refuse the text
        notes.append(f"XMP metadata unreadable ({type(e).__name__}): ignored")
        return {}
    if xmp is None:
        return {}
    root = xmp.rdf_root
    out: dict[str, Stated] = {}

    def values(tag: str) -> list[str]:
        prefix, local = tag.split(":")
        found: list[str] = []
        for ns in [_XMP_NS[prefix]] + ([_XMP_NS["prism3"]] if prefix == "prism" else []):
            for desc in root.getElementsByTagNameNS(_XMP_NS["rdf"], "Description"):
                attr = desc.getAttributeNS(ns, local)
                if attr:
                    found.append(attr.strip())
                for el in desc.getElementsByTagNameNS(ns, local):
                    items = el.getElementsByTagNameNS(_XMP_NS["rdf"], "li")
                    nodes = items if items.length else [el]
                    for node in nodes:
                        text = "".join(c.data for c in node.childNodes if c.nodeType == c.TEXT_NODE).strip()
                        if text:
                            found.append(text)
        return found

    title = values("dc:title")
    if title:
        out["title"] = Stated(title[0], "XMP dc:title")
    creators = values("dc:creator")
    if creators:
        out["authors"] = Stated(creators, "XMP dc:creator")
    language = values("dc:language")
    if language:
        out["language"] = Stated(language[0], "XMP dc:language")
    for tag, name in _XMP_FIELDS.items():
        found = values(tag)
        if found and name not in out:
            out[name] = Stated(found[0], f"XMP {tag}")
    start, end = values("prism:startingPage"), values("prism:endingPage")
    if start:
        out["pages"] = Stated(f"{start[0]}-{end[0]}" if end else start[0], "XMP prism:startingPage/endingPage")
    return out

"""DOCX with python-docx: paragraphs labelled by their heading path (styles "Heading N"); the
paragraph styled "Title" is the title when the core properties give none. Core properties give title,
author and language; `created` and `modified` are the file's dates and never give the year."""

from __future__ import annotations

import io
import re
import zipfile

from bot.ingest.model import INSTALL_HINT, Block, Extraction, IngestError, Labels, MissingParser, Stated, counted
from bot.ingest.sniff import check_zip
from bot.ingest.textcheck import garbled, repair

_HEADING = re.compile(r"^(?:heading|заголовок)\s*(\d)$", re.I)


def extract_docx(data: bytes) -> Extraction:
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError as e:
        raise MissingParser(f"reading DOCX needs python-docx: {INSTALL_HINT}") from e
    try:
        check_zip(zipfile.ZipFile(io.BytesIO(data)))
        document = docx.Document(io.BytesIO(data))
    except IngestError:
        raise
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError) as e:
        raise IngestError(f"the DOCX is damaged or truncated ({type(e).__name__})") from None
    except Exception as e:  # lxml's XMLSyntaxError and the like
        raise IngestError(f"the DOCX cannot be read ({type(e).__name__}: {str(e)[:80]})") from None
    meta: dict[str, Stated] = {}
    notes: list[str] = []
    props = document.core_properties
    if props.title and props.title.strip():
        meta["title"] = Stated(props.title.strip(), "DOCX core property title")
    if props.author and props.author.strip():
        meta["authors"] = Stated(props.author.strip(), "DOCX core property creator")
    if props.language and props.language.strip():
        meta["language"] = Stated(props.language.strip(), "DOCX core property language")
    if props.created is not None:
        notes.append(
            f"core property created {props.created:%Y-%m-%d} is the file's date, not a publication date: not used for the year"
        )
    repairs: list[str] = []
    blocks: list[Block] = []
    labels = Labels()
    title_para: str | None = None
    texts: list[str] = []
    for para in document.paragraphs:
        raw = para.text
        texts.append(raw)
        content = " ".join(raw.split())
        if not content:
            continue
        style = para.style.name if para.style is not None else ""
        if style == "Title":
            if title_para is None:
                title_para = content
            continue
        heading = _HEADING.match(style)
        if heading:
            level = int(heading.group(1))
            labels.heading(level, content)
            continue
        blocks.append(Block(labels.label(), repair(content, repairs, f"{content[:30]}…")))
    if document.tables:
        notes.append(f"{len(document.tables)} table(s) left out: only paragraphs are ingested")
    if not blocks:
        raise IngestError("the DOCX is empty: it has no paragraph text")
    if why := garbled(" ".join(b.text for b in blocks)):
        raise IngestError(f"the DOCX text is garbled ({why})")
    if title_para:
        meta["title_fallback"] = Stated(title_para, "the paragraph styled Title")
    return Extraction(
        "DOCX", blocks, meta, repairs, notes, source_text="\n".join(texts), summary=counted(len(blocks), "paragraph")
    )

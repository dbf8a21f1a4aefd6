"""Citations of a document in the styles users need: the source's own line, APA and ГОСТ Р 7.0.5-2008.

APA and ГОСТ are rendered by citeproc-py from the CSL styles shipped beside this module (styles/,
CC BY-SA 3.0, see styles/README.md) and from the document's front matter alone: a field the front
matter leaves empty stays out of the citation. citeproc-py is imported only when a citation is
asked for; without it only the source's own line is offered.
"""

from __future__ import annotations

import logging
import re
import warnings
from functools import cache
from importlib import resources
from typing import Any

log = logging.getLogger(__name__)

STYLES = {"apa": ("APA", "apa.csl"), "gost": ("ГОСТ Р 7.0.5-2008", "gost-r-7-0-5-2008.csl")}


def name_parts(name: str) -> dict[str, str]:
    """CSL name parts from a name as the document gives it: "Family, Given" splits at the comma;
    "I. R. Samokhin" or "Иванова А. С." at the initials; anything else is kept whole (literal)."""
    name = " ".join(name.split())
    if "," in name:
        family, given = (part.strip() for part in name.split(",", 1))
        if family and given:
            return {"family": family, "given": given}
    words = name.split(" ")
    if len(words) > 1:
        initials = [w for w in words if re.fullmatch(r"(?:\w\.)+(?:-\w\.)?", w)]
        if initials and len(initials) == len(words) - 1:
            family = next(w for w in words if w not in initials)
            return {"family": family, "given": " ".join(initials)}
    return {"literal": name}


def csl_item(meta: Any) -> dict[str, object]:
    """A CSL-JSON item from a DocumentMeta (or anything with its attributes)."""
    item: dict[str, object] = {"id": meta.id, "title": meta.title}
    if meta.venue:
        item["type"] = "article-journal"
        item["container-title"] = meta.venue
    elif meta.publisher:
        item["type"] = "book"
    else:
        item["type"] = "document"
    if meta.authors:
        item["author"] = [name_parts(a) for a in meta.authors]
    if meta.year:
        item["issued"] = {"date-parts": [[int(meta.year)]]}
    for field, key in (("publisher", "publisher"), ("volume", "volume"), ("issue", "issue"), ("pages", "page"), ("url", "URL")):
        value = getattr(meta, field, None)
        if value:
            item[key] = str(value)
    if getattr(meta, "language", None):
        item["language"] = meta.language
    return item


@cache
def _style(filename: str):
    from citeproc import CitationStylesStyle

    path = resources.files(__name__) / "styles" / filename
    with resources.as_file(path) as real:
        return CitationStylesStyle(str(real), validate=False)


def render(meta: Any, style: str) -> str | None:
    """One bibliography entry in `style` ("apa" or "gost"), plain text; None without citeproc-py."""
    try:
        from citeproc import Citation, CitationItem, CitationStylesBibliography, formatter
        from citeproc.source.json import CiteProcJSON
    except ImportError:
        return None
    item = csl_item(meta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # citeproc-py warns about CSL features it does not implement
        bibliography = CitationStylesBibliography(_style(STYLES[style][1]), CiteProcJSON([item]), formatter.plain)
        bibliography.register(Citation([CitationItem(item["id"])]))
        entries = [str(entry) for entry in bibliography.bibliography()]
    if not entries:
        return None
    text = re.sub(r"^1\.\s+", "", " ".join(entries[0].split()))  # the list number of a one-entry bibliography
    if not meta.authors:
        text = _drop_substituted_title(text, " ".join(str(meta.title).split()))
    return text


def _drop_substituted_title(text: str, title: str) -> str:
    """CSL's `substitute`: a title standing in for missing authors is not repeated later in the entry.
    citeproc-py prints it twice ("Title. (n.d.). Title."), so the second one goes."""
    first = text.find(title)
    second = text.find(title, first + len(title)) if first >= 0 else -1
    if second < 0:
        return text
    rest = text[second + len(title) :].lstrip(".").lstrip()
    return (text[:second].rstrip() + (" " + rest if rest else "")).strip()


def citations(meta: Any) -> list[tuple[str, str]]:
    """(name, text) pairs: the document's own citation line first, then APA and ГОСТ when they can
    be rendered and differ from it."""
    out = [("Source", meta.citation)]
    for key in ("apa", "gost"):
        try:
            text = render(meta, key)
        except Exception:  # a citation style must never break an answer
            log.exception("citation style %s failed for %s", key, meta.id)
            text = None
        if text and all(text != t for _, t in out):
            out.append((STYLES[key][0], text))
    return out


def styled_citations(meta: Any) -> list[tuple[str, str]]:
    """APA and ГОСТ only (those that differ from the document's own line)."""
    return citations(meta)[1:]

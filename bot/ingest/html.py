"""HTML: the article's text from trafilatura (menus, banners, sidebars and comments left out; headings
kept), labelled by heading path. Metadata only from the page's own `citation_*` and `DC.*` meta tags,
`link rel=canonical` and `<html lang>`, read here with lxml: trafilatura's metadata is heuristic
(it splits "Иванова, Анна Сергеевна" in two and takes a year from a "© 2024" footer)."""

from __future__ import annotations

from bot.ingest.model import INSTALL_HINT, Block, Extraction, IngestError, Labels, MissingParser, Stated, counted
from bot.ingest.textcheck import garbled, repair

# meta name (lowercase) -> field; the first one found wins, in this order.
_META = [
    ("citation_title", "title"),
    ("dc.title", "title"),
    ("citation_journal_title", "venue"),
    ("citation_conference_title", "venue"),
    ("citation_inbook_title", "venue"),
    ("dc.source", "venue"),
    ("citation_publisher", "publisher"),
    ("dc.publisher", "publisher"),
    ("citation_volume", "volume"),
    ("citation_issue", "issue"),
    ("citation_public_url", "url"),
    ("citation_language", "language"),
    ("dc.language", "language"),
    ("citation_publication_date", "date"),
    ("citation_date", "date"),
    ("citation_year", "date"),
    ("dc.date.issued", "date"),
    ("dcterms.issued", "date"),
    ("dc.date", "date"),
]
_AUTHORS = ["citation_author", "dc.creator", "dcterms.creator"]


def _meta(tree) -> dict[str, Stated]:
    tags: dict[str, list[str]] = {}
    for el in tree.iter("meta"):
        name = (el.get("name") or el.get("property") or "").strip().lower()
        content = " ".join((el.get("content") or "").split())
        if name and content:
            tags.setdefault(name, []).append(content)
    out: dict[str, Stated] = {}
    for name, field in _META:
        if field not in out and name in tags:
            out[field] = Stated(tags[name][0], f"meta {name}")
    for name in _AUTHORS:
        if name in tags:
            out["authors"] = Stated(list(tags[name]), f"meta {name} ({len(tags[name])})")
            break
    first, last = tags.get("citation_firstpage"), tags.get("citation_lastpage")
    if first:
        out["pages"] = Stated(f"{first[0]}-{last[0]}" if last else first[0], "meta citation_firstpage/lastpage")
    for el in tree.iter("link"):
        if "canonical" in (el.get("rel") or "").lower().split() and el.get("href", "").startswith(("http://", "https://")):
            out.setdefault("url", Stated(el.get("href").strip(), "link rel=canonical"))
            break
    root = tree.getroot() if hasattr(tree, "getroot") else tree
    if root is not None and root.get("lang") and "language" not in out:
        out["language"] = Stated(root.get("lang"), "<html lang>")
    return out


def extract_html(text: str) -> Extraction:
    try:
        import lxml.html
        import trafilatura
    except ImportError as e:
        raise MissingParser(f"reading HTML needs trafilatura: {INSTALL_HINT}") from e
    try:
        tree = lxml.html.document_fromstring(text.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    except Exception as e:
        raise IngestError(f"the HTML cannot be parsed ({type(e).__name__})") from None
    meta = _meta(tree)
    for bad in tree.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    source_text = tree.text_content()
    xml = trafilatura.extract(
        text,
        output_format="xml",
        include_comments=False,
        favor_recall=True,
        include_tables=False,
        include_images=False,
        include_links=False,
        with_metadata=False,
        deduplicate=False,
    )
    if not xml:
        raise IngestError("the HTML page has no article text (nothing but navigation, or empty)")
    from lxml import etree

    doc = etree.fromstring(xml.encode("utf-8"))
    body = doc.find("main") if doc.find("main") is not None else doc
    repairs: list[str] = []
    blocks: list[Block] = []
    labels = Labels()
    title_heading: str | None = None
    for el in body.iter("head", "p", "item", "quote"):
        content = " ".join("".join(el.itertext()).split())
        if not content:
            continue
        if el.tag == "head":
            level = int((el.get("rend") or "h2").lstrip("h") or 2)
            if level == 1 and title_heading is None and not blocks:
                title_heading = content
                continue
            labels.heading(level, content)
            continue
        if el.tag == "p" and el.getparent() is not None and el.getparent().tag in ("item", "quote"):
            continue
        blocks.append(Block(labels.label(), repair(content, repairs, f"{content[:30]}…")))
    if why := garbled(" ".join(b.text for b in blocks)):
        raise IngestError(f"the page's text is garbled ({why}): is the encoding right?")
    if title_heading:
        meta["title_fallback"] = Stated(title_heading, "the page's <h1>")
    notes = ["text by trafilatura (comments, navigation and boilerplate left out); metadata only from the page's meta tags"]
    return Extraction("HTML", blocks, meta, repairs, notes, source_text=source_text, summary=counted(len(blocks), "paragraph"))

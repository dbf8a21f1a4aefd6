"""`csto-bot ingest FILE...`: read, check, report, write. Every refusal is one line on stderr and exit
status 2, with nothing written (of any of the files given)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, cast

from bot.ingest.meta import FIELDS, Resolved, resolve
from bot.ingest.model import Extraction, IngestError
from bot.ingest.sniff import declared_charset, decode, read_limited, sniff
from bot.ingest.write import passages_report, render, slug, verify
from bot.knowledge.load import check_knowledge, document_files, parse_document

PER_DOCUMENT = ("id", "title", "authors", "year", "venue", "publisher", "volume", "issue", "pages", "url", "citation")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="PDF, HTML, DOCX, Markdown or plain-text files")
    parser.add_argument("--id", help="the document id (default: from the file name)")
    parser.add_argument("--title", help="the title as the document prints it (needed when the file states none)")
    parser.add_argument("--authors", help='authors separated by ";" (a comma stays inside one name: "Иванова, Анна Сергеевна")')
    parser.add_argument("--year", type=int, help="the year of publication")
    parser.add_argument("--venue", help="journal or collection")
    parser.add_argument("--publisher")
    parser.add_argument("--volume")
    parser.add_argument("--issue")
    parser.add_argument("--pages", help='page range, e.g. "47-60"')
    parser.add_argument("--url")
    parser.add_argument(
        "--citation", help="the citation line, verbatim (default: the document's own, else built from the metadata)"
    )
    parser.add_argument("--language", help="ISO 639-1 code of the text (default: stated by the file, else from its letters)")
    parser.add_argument(
        "--first-page", type=int, metavar="N", help="PDF: the printed number of the first page (locators p. N, N+1, …)"
    )
    parser.add_argument("--encoding", help="text and HTML: the file's encoding when it is not UTF-8")
    parser.add_argument("--dry-run", action="store_true", help="show what would be written and write nothing")
    parser.add_argument("--force", action="store_true", help="replace an existing document with the same id")


@dataclass
class Planned:
    source: Path
    doc_id: str
    target: Path
    text: str
    extraction: Extraction
    resolved: Resolved
    how: str  # how the file was read (its kind, its encoding)


def extract(path: Path, data: bytes, kind: str, args: argparse.Namespace) -> tuple[Extraction, str]:
    if kind == "pdf":
        from bot.ingest.pdf import extract_pdf

        return extract_pdf(data, first_page=args.first_page), "PDF"
    if kind == "docx":
        from bot.ingest.docx import extract_docx

        return extract_docx(data), "DOCX"
    if kind == "html":
        text, how = decode(data, args.encoding, declared_charset(data))
        from bot.ingest.html import extract_html

        return extract_html(text), f"HTML, {how}"
    text, how = decode(data, args.encoding)
    from bot.ingest.text import extract_markdown, extract_text

    return (
        extract_markdown(text) if kind == "markdown" else extract_text(text)
    ), f"{'Markdown' if kind == 'markdown' else 'text'}, {how}"


def built_citation(values: dict[str, object]) -> tuple[str, str]:
    """A citation line from the metadata: ГОСТ for a Russian document, APA otherwise."""
    from types import SimpleNamespace

    from bot.cite import STYLES
    from bot.cite import render as render_style

    meta = SimpleNamespace(id="x", **{k: v for k, v in values.items() if k != "citation"})
    style = "gost" if values.get("language") == "ru" else "apa"
    text = render_style(meta, style)
    if text:
        return text, f"built from the metadata ({STYLES[style][0]}, citeproc-py)"
    # Without citeproc-py: the metadata in a neutral order, nothing added.
    authors = cast(list[str], values["authors"])
    parts: list[object] = [", ".join(authors) if authors else None, str(values["title"])]
    parts += [values.get(k) for k in ("venue", "year", "volume", "issue", "pages")]
    return ". ".join(str(p) for p in parts if p), "built from the metadata (citeproc-py not installed: fields in order)"


def existing_ids(directory: Path) -> dict[str, Path]:
    ids: dict[str, Path] = {}
    for path in document_files(directory):
        try:
            doc = parse_document(path, path.read_text(encoding="utf-8"), [])
        except (OSError, UnicodeDecodeError):
            continue
        if doc is not None:
            ids[doc.meta.id] = path
    return ids


def plan(path: Path, args: argparse.Namespace, directory: Path, single: bool) -> Planned:
    data = read_limited(path)
    kind = sniff(path, data)
    extraction, how = extract(path, data, kind, args)
    if not extraction.blocks:
        raise IngestError("the file has no text to quote")
    flags = {name: getattr(args, name) for name in FIELDS if name != "citation"} if single else {}
    flags["language"] = args.language
    resolved = resolve(extraction, flags)
    if single and args.citation:
        resolved.values["citation"], resolved.sources["citation"] = args.citation, "--citation"
    if not resolved.values.get("citation"):
        resolved.values["citation"], resolved.sources["citation"] = built_citation(resolved.values)
    doc_id = (args.id if single else None) or slug(path.stem)
    if not doc_id or not doc_id[0].isalnum():
        raise IngestError("no usable id from the file name: give one with --id (lowercase letters, digits, hyphens)")
    target = directory / f"{doc_id}.md"
    text = render(doc_id, resolved, extraction, path, data)
    verify(target, text, extraction)
    return Planned(path, doc_id, target, text, extraction, resolved, how)


def report(p: Planned, out: TextIO, dry_run: bool) -> None:
    print(f"{p.source}: {p.how}, {p.extraction.summary} → {p.target}{' (dry run: not written)' if dry_run else ''}", file=out)
    print("metadata:", file=out)
    for name in ("title", "authors", "year", "venue", "publisher", "volume", "issue", "pages", "url", "language", "citation"):
        value = p.resolved.values.get(name)
        shown = "; ".join(value) if isinstance(value, list) else value
        where = p.resolved.sources.get(name, "not stated: left empty" if not value else "")
        print(f"  {name}: {shown if shown not in (None, '') else ('[]' if name == 'authors' else 'null')}  ← {where}", file=out)
    if p.extraction.repairs:
        print(f"repairs ({len(p.extraction.repairs)}):", file=out)
        for repair in p.extraction.repairs:
            print(f"  - {repair}", file=out)
    else:
        print("repairs: none", file=out)
    for remark in p.resolved.notes + p.extraction.notes:
        print(f"note: {remark}", file=out)
    print(f"passages ({len(p.extraction.blocks)}), each checked against the source's text:", file=out)
    for line in passages_report(p.extraction.blocks):
        print(line, file=out)


def write_atomic(target: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace, directory: Path, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    single = len(args.files) == 1
    if not single:
        given = [f"--{n.replace('_', '-')}" for n in PER_DOCUMENT if getattr(args, n) is not None]
        if given:
            print(f"csto-bot ingest: {', '.join(given)} describe one document: give one FILE with them", file=err)
            return 2
    if not directory.is_dir():
        print(f"csto-bot ingest: {directory}: knowledge directory not found", file=err)
        return 2
    planned: list[Planned] = []
    failed = False
    for path in args.files:
        try:
            planned.append(plan(path, args, directory, single))
        except IngestError as e:
            print(f"csto-bot ingest: {path}: {e}", file=err)
            failed = True
    if failed:
        return 2
    ids = existing_ids(directory)
    seen: dict[str, Path] = {}
    for p in planned:
        other = ids.get(p.doc_id)
        if p.doc_id in seen:
            print(
                f"csto-bot ingest: {p.source}: id '{p.doc_id}' is also that of {seen[p.doc_id]}: give each file its own --id",
                file=err,
            )
            return 2
        seen[p.doc_id] = p.source
        if other is not None and not args.force:
            print(
                f"csto-bot ingest: {p.source}: id '{p.doc_id}' is already taken by {other}: "
                "choose another --id, or --force to replace it",
                file=err,
            )
            return 2
        if other is not None and other != p.target:
            print(
                f"csto-bot ingest: {p.source}: id '{p.doc_id}' is that of {other.name}, which --force does not remove: "
                "choose another --id",
                file=err,
            )
            return 2
    for p in planned:
        report(p, out, args.dry_run)
    if args.dry_run:
        return 0
    previous = {p.target: p.target.read_bytes() if p.target.exists() else None for p in planned}
    for p in planned:
        write_atomic(p.target, p.text)
    problems = check_knowledge(directory)
    mine = [pr for pr in problems if any(Path(pr.path) == p.target for p in planned)]
    if mine:
        for target, old in previous.items():
            if old is None:
                target.unlink(missing_ok=True)
            else:
                target.write_bytes(old)
        print(f"csto-bot ingest: the knowledge base refuses the new file: {mine[0]}", file=err)
        return 2
    for p in planned:
        print(f"wrote {p.target} ({len(p.extraction.blocks)} passages)", file=out)
    if problems:
        print(f"note: the knowledge base has other problems ({len(problems)}); `csto-bot check` lists them", file=out)
    return 0

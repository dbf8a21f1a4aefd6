"""Knowledge loading and validation: Markdown documents with YAML front matter, and the alias file.

The alias file's shape is checked here; the checks that need the search analysis (each name has
searchable words, no name twice) are the search side's and come in through `alias_check`
(bot.search.aliases.AliasCheck): this package imports nothing from bot.search or bot.core."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

import yaml
from pydantic import ValidationError

from bot.knowledge.model import Document, DocumentMeta, KnowledgeBase, KnowledgeError, Passage, Problem, reference_entry_text

ALIAS_FILE = "aliases.yaml"
# Given the alias file's path, a checker of one group at a time (its names, its line) in file order;
# it returns the group's problems, and a group with problems is left out.
AliasChecker = Callable[[str], Callable[[tuple[str, ...], int], list[Problem]]]
_HEADING = re.compile(r"^##\s+(.*?)\s*#*\s*$")


def document_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.md") if p.name.lower() != "readme.md")


def _decode(path: Path, data: bytes, problems: list[Problem]) -> str | None:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        problems.append(Problem(str(path), line, f"bytes that are not UTF-8 (byte 0x{data[e.start]:02x})"))
        return None


def _meta_line(front_lines: list[str], key: str) -> int:
    """The 1-based file line where a front-matter key is written (front matter starts at line 2)."""
    for i, line in enumerate(front_lines):
        if re.match(rf"^{re.escape(key)}\s*:", line):
            return i + 2
    return 1


def parse_document(path: Path, text: str, problems: list[Problem]) -> Document | None:
    """Parse one document; append each problem found (and return None if it cannot be used)."""
    where = str(path)
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        problems.append(Problem(where, 1, "missing front matter: the file must start with a '---' line"))
        return None
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        problems.append(Problem(where, 1, "front matter is not closed by a '---' line"))
        return None
    front = lines[1:end]
    try:
        raw = yaml.safe_load("\n".join(front))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        reason = getattr(e, "problem", None) or "invalid YAML"
        problems.append(Problem(where, line, f"bad front matter: {reason}"))
        return None
    if not isinstance(raw, dict):
        problems.append(Problem(where, 2, "bad front matter: expected 'key: value' lines"))
        return None
    try:
        meta = DocumentMeta.model_validate(raw)
    except ValidationError as e:
        for err in e.errors():
            key = str(err["loc"][0]) if err["loc"] else ""
            if err["type"] == "missing":
                problems.append(Problem(where, 1, f"missing required field '{key}'"))
            elif err["type"] == "extra_forbidden":
                problems.append(Problem(where, _meta_line(front, key), f"unknown field '{key}'"))
            else:
                problems.append(Problem(where, _meta_line(front, key), f"field '{key}': {err['msg']}"))
        return None
    passages = _passages(meta.id, lines, end + 1, where, problems)
    if not passages:
        problems.append(Problem(where, end + 2, "empty body: the document has no passage text"))
        return None
    return Document(meta, path, tuple(passages))


def _passages(doc_id: str, lines: list[str], first: int, where: str, problems: list[Problem]) -> list[Passage]:
    """Each '## ' heading starts a passage; text before the first heading is an unlabelled one."""
    sections: list[tuple[str, int, list[str]]] = [("", first + 1, [])]
    for i in range(first, len(lines)):
        heading = _HEADING.match(lines[i])
        if heading:
            sections.append((heading.group(1), i + 1, []))
        else:
            sections[-1][2].append(lines[i])
    out: list[Passage] = []
    for label, line, body in sections:
        paragraphs = [" ".join(part.split()) for part in "\n".join(body).split("\n\n")]
        text = "\n\n".join(p for p in paragraphs if p)
        if not text:
            if label:
                problems.append(Problem(where, line, f"passage '{label}' is empty"))
            continue
        n = len(out) + 1
        out.append(Passage(f"{doc_id}:{n}", doc_id, n, label, text, line, reference_entry_text(label, text)))
    return out


def parse_aliases(
    path: Path, text: str, problems: list[Problem], alias_check: AliasChecker | None = None
) -> tuple[tuple[tuple[str, ...], ...], tuple[int, ...]]:
    """Read `groups:` (a list of lists of names); report bad shapes, and what `alias_check` finds.

    Returns the groups kept (their names) and the line of each.
    """
    where = str(path)
    kept: list[tuple[str, ...]] = []
    lines: list[int] = []
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problems.append(Problem(where, mark.line + 1 if mark else 1, f"broken alias file: {getattr(e, 'problem', None) or e}"))
        return (), ()
    groups = None
    if isinstance(root, yaml.MappingNode):
        groups = next((v for k, v in root.value if k.value == "groups"), None)
    if not isinstance(groups, yaml.SequenceNode):
        problems.append(Problem(where, 1, "broken alias file: expected 'groups:' followed by a list of name lists"))
        return (), ()
    check = alias_check(where) if alias_check is not None else None
    for node in groups.value:
        line = node.start_mark.line + 1
        names = [n.value for n in node.value] if isinstance(node, yaml.SequenceNode) else None
        if not names or not all(isinstance(n, str) and n.strip() for n in names) or len(names) < 2:
            problems.append(Problem(where, line, "an alias group must be a list of at least two names"))
            continue
        found = check(tuple(names), line) if check is not None else []
        problems.extend(found)
        if not found:
            kept.append(tuple(names))
            lines.append(line)
    return tuple(kept), tuple(lines)


def load_knowledge(directory: Path, alias_check: AliasChecker | None = None) -> KnowledgeBase:
    """Load and validate every document and the alias file; raise KnowledgeError listing all problems.

    Without `alias_check` the alias groups are checked for shape only.
    """
    directory = Path(directory)
    problems: list[Problem] = []
    if not directory.is_dir():
        raise KnowledgeError([Problem(str(directory), 0, "knowledge directory not found")])
    digest = hashlib.sha256()
    documents: list[Document] = []
    ids: dict[str, Path] = {}
    for path in document_files(directory):
        data = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + data + b"\0")
        text = _decode(path, data, problems)
        if text is None:
            continue
        doc = parse_document(path, text, problems)
        if doc is None:
            continue
        if doc.meta.id in ids:
            problems.append(
                Problem(
                    str(path),
                    _meta_line(text.splitlines()[1:], "id"),
                    f"duplicate id '{doc.meta.id}' (also in {ids[doc.meta.id].name})",
                )
            )
            continue
        ids[doc.meta.id] = path
        documents.append(doc)
    aliases: tuple[tuple[str, ...], ...] = ()
    alias_lines: tuple[int, ...] = ()
    alias_path = directory / ALIAS_FILE
    if alias_path.exists():
        data = alias_path.read_bytes()
        digest.update(b"aliases\0" + data)
        text = _decode(alias_path, data, problems)
        if text is not None:
            aliases, alias_lines = parse_aliases(alias_path, text, problems, alias_check)
    if not documents and not problems:
        problems.append(Problem(str(directory), 0, "no documents: add at least one *.md file"))
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(directory, tuple(documents), aliases, digest.hexdigest(), alias_lines)


def check_knowledge(directory: Path, alias_check: AliasChecker | None = None) -> list[Problem]:
    try:
        load_knowledge(directory, alias_check)
    except KnowledgeError as e:
        return e.problems
    return []

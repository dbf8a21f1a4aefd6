"""Knowledge loading and validation: Markdown documents with YAML front matter, and the alias file."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from bot.analysis import AliasTable

ALIAS_FILE = "aliases.yaml"
_ID = r"^[a-z0-9][a-z0-9-]*$"
_HEADING = re.compile(r"^##\s+(.*?)\s*#*\s*$")


def _to_str(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


OptStr = Annotated[str | None, BeforeValidator(_to_str)]


class DocumentMeta(BaseModel):
    """A document's front matter. Only what the text itself gives: nothing is ever inferred."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    id: str = Field(pattern=_ID, max_length=64)
    title: str = Field(min_length=1)
    authors: list[Annotated[str, Field(min_length=1)]]
    year: int | None = Field(default=None, ge=1000, le=2100)
    venue: OptStr = None
    publisher: OptStr = None
    volume: OptStr = None
    issue: OptStr = None
    pages: OptStr = None
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    language: str = Field(pattern=r"^[a-z]{2,3}$")
    citation: str = Field(min_length=1)
    note: str | None = None
    examples: list[Annotated[str, Field(min_length=1)]] = []  # questions this document answers


# How people ask about a publication itself, by the metadata field that answers it.
META_WORDS = {
    "authors": "author authors wrote written",
    "venue": "journal venue article paper published publication",
    "publisher": "publisher published publication",
    "year": "year published",
    "volume": "volume",
    "issue": "issue number",
    "pages": "pages",
}


@dataclass(frozen=True, slots=True)
class Passage:
    id: str  # "<document id>:<ordinal>"; ordinal 0 is the document's metadata entry
    doc_id: str
    ordinal: int  # 1-based, in document order; 0 for the metadata entry
    label: str
    text: str
    line: int
    search_text: str | None = None  # what the index sees, when it is not label + text

    @property
    def is_meta(self) -> bool:
        return self.ordinal == 0


@dataclass(frozen=True, slots=True)
class Document:
    meta: DocumentMeta
    path: Path
    passages: tuple[Passage, ...]

    def meta_passage(self) -> Passage:
        """The document's metadata as a searchable entry whose quotation is its citation.

        It answers questions about the document itself (who wrote it, where and when it was
        published) from the front matter alone; the title is left out so that it does not
        compete with the passages on the topic.
        """
        m = self.meta
        lines = ["citation cite cited"]
        for name, words in META_WORDS.items():
            value = getattr(m, name)
            if value:
                lines.append(f"{words}: {', '.join(value) if isinstance(value, list) else value}")
        return Passage(f"{m.id}:0", m.id, 0, "Citation", m.citation, 1, "\n".join(lines))


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class KnowledgeError(Exception):
    """The knowledge base is invalid; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


@dataclass(frozen=True)
class KnowledgeBase:
    directory: Path
    documents: tuple[Document, ...]
    aliases: AliasTable
    fingerprint: str
    passages: tuple[Passage, ...] = field(init=False)

    def __post_init__(self) -> None:
        passages = [p for d in self.documents for p in d.passages] + [d.meta_passage() for d in self.documents]
        object.__setattr__(self, "passages", tuple(passages))


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
        out.append(Passage(f"{doc_id}:{len(out) + 1}", doc_id, len(out) + 1, label, text, line))
    return out


def parse_aliases(path: Path, text: str, problems: list[Problem]) -> AliasTable:
    """Read `groups:` (a list of lists of names); report bad shapes and names used twice."""
    where = str(path)
    table = AliasTable()
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problems.append(Problem(where, mark.line + 1 if mark else 1, f"broken alias file: {getattr(e, 'problem', None) or e}"))
        return table
    groups = None
    if isinstance(root, yaml.MappingNode):
        groups = next((v for k, v in root.value if k.value == "groups"), None)
    if not isinstance(groups, yaml.SequenceNode):
        problems.append(Problem(where, 1, "broken alias file: expected 'groups:' followed by a list of name lists"))
        return table
    seen: dict[tuple[str, ...], int] = {}
    for node in groups.value:
        line = node.start_mark.line + 1
        names = [n.value for n in node.value] if isinstance(node, yaml.SequenceNode) else None
        if not names or not all(isinstance(n, str) and n.strip() for n in names) or len(names) < 2:
            problems.append(Problem(where, line, "an alias group must be a list of at least two names"))
            continue
        ok = True
        for name in names:
            terms = AliasTable.phrase_terms(name)
            if not terms:
                problems.append(Problem(where, line, f"alias '{name}' has no searchable words"))
                ok = False
            elif terms in seen and seen[terms] != line:
                problems.append(Problem(where, line, f"alias '{name}' is already in the group on line {seen[terms]}"))
                ok = False
            else:
                seen[terms] = line
        if ok:
            table.add(names)
    return table


def load_knowledge(directory: Path) -> KnowledgeBase:
    """Load and validate every document and the alias file; raise KnowledgeError listing all problems."""
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
        doc = parse_document(path, text, problems) if text is not None else None
        if doc is None:
            continue
        if doc.meta.id in ids:
            problems.append(Problem(str(path), _meta_line(text.splitlines()[1:], "id"), f"duplicate id '{doc.meta.id}' (also in {ids[doc.meta.id].name})"))
            continue
        ids[doc.meta.id] = path
        documents.append(doc)
    aliases = AliasTable()
    alias_path = directory / ALIAS_FILE
    if alias_path.exists():
        data = alias_path.read_bytes()
        digest.update(b"aliases\0" + data)
        text = _decode(alias_path, data, problems)
        if text is not None:
            aliases = parse_aliases(alias_path, text, problems)
    if not documents and not problems:
        problems.append(Problem(str(directory), 0, "no documents: add at least one *.md file"))
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(directory, tuple(documents), aliases, digest.hexdigest())


def check_knowledge(directory: Path) -> list[Problem]:
    try:
        load_knowledge(directory)
    except KnowledgeError as e:
        return e.problems
    return []

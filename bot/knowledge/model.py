"""The knowledge model: documents, passages, alias groups, problems. No search, no answers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

_ID = r"^[a-z0-9][a-z0-9-]*$"


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

# An entry of a reference list ("Reference 12", "Источник 3", a section "References › …") is, by what
# it is, a work the document cites, written by its authors: the index sees these words with it, as it
# sees a metadata entry's field names, so that "Which work by Ageev is cited?" and "Что писал
# Малышев?" reach the entry although it says neither "work" nor "wrote".
REFERENCE_LABEL = re.compile(
    r"^(?:references?|bibliography|works cited|sources|источник\w*|литература|список литературы)\b", re.IGNORECASE
)
REFERENCE_WORDS = "reference references cited cites work works source sources literature bibliography list wrote written"


def reference_entry_text(label: str, text: str) -> str | None:
    """What the index sees of a reference-list entry (its label, the words above, its text); None otherwise."""
    return f"{label}\n{REFERENCE_WORDS}\n{text}" if REFERENCE_LABEL.match(label) else None


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

    @property
    def is_reference(self) -> bool:
        """An entry of the document's reference list."""
        return not self.is_meta and REFERENCE_LABEL.match(self.label) is not None


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
    aliases: tuple[tuple[str, ...], ...]  # the alias groups: names of one concept each, in file order
    fingerprint: str
    alias_lines: tuple[int, ...] = ()  # the line of each group in the alias file
    passages: tuple[Passage, ...] = field(init=False)

    def __post_init__(self) -> None:
        passages = [p for d in self.documents for p in d.passages] + [d.meta_passage() for d in self.documents]
        object.__setattr__(self, "passages", tuple(passages))

"""What an extractor hands to the writer: passages with their locators, what the file states about
itself (each value with where it came from), the repairs made, and the raw text to check against."""

from __future__ import annotations

from dataclasses import dataclass, field

# Limits on what ingest reads at all (a file beyond them is refused before parsing).
MAX_BYTES = 200 * 1024 * 1024
MAX_PAGES = 5000
MAX_UNZIPPED_BYTES = 300 * 1024 * 1024  # a DOCX's members together, uncompressed
MAX_ZIP_RATIO = 200  # uncompressed / compressed, for a member of a DOCX larger than 1 MB
INSTALL_HINT = "pip install 'csto-bot[ingest]' (for the image: build it with --build-arg EXTRAS=ingest)"


class IngestError(Exception):
    """A file that cannot be ingested; the message is one line for the user."""


class MissingParser(IngestError):
    """The optional parsers are not installed."""


PATH_SEP = " › "


class Labels:
    """Passage labels from the headings above them: their path ("Part 1 › Methods"), or `¶ N` for
    paragraphs before any heading."""

    def __init__(self) -> None:
        self.path: list[tuple[int, str]] = []  # (level, heading), outermost first
        self._loose = 0

    def heading(self, level: int, name: str) -> None:
        """A heading of `level`: it ends the headings of its level and deeper."""
        self.path = [(lv, n) for lv, n in self.path if lv < level] + [(level, name)]

    def label(self) -> str:
        """The label of the next paragraph."""
        if self.path:
            return PATH_SEP.join(name for _, name in self.path)
        self._loose += 1
        return f"¶ {self._loose}"


@dataclass(frozen=True, slots=True)
class Block:
    """One future passage: its locator (the `## ` heading) and its text, paragraphs split by blank lines."""

    label: str
    text: str


@dataclass(frozen=True, slots=True)
class Stated:
    """A metadata value and where it was found ("PDF /Info Author", "meta citation_title", "--year")."""

    value: object
    source: str


def counted(n: int, noun: str) -> str:
    """ "1 paragraph", "3 paragraphs": the summary line's counts."""
    return f"{n} {noun}{'s' * (n != 1)}"


@dataclass
class Extraction:
    kind: str  # "PDF", "HTML", "DOCX", "Markdown", "text"
    blocks: list[Block]
    meta: dict[str, Stated] = field(default_factory=dict)
    repairs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The raw text the passages must be made of: `source_text` for a substring check, or, where
    # the reading order differs from the file's (PDF columns), `source_lines`, which each passage
    # must be a sequence of.
    source_text: str | None = None
    source_lines: list[str] | None = None
    summary: str = ""  # "3 pages", "12 paragraphs"

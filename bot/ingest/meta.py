"""The front matter of an ingested document: what the file states, overridden by the flags, and
nothing else. Each value keeps where it came from, for the report and the file's comments."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import cast

from bot.ingest.model import Extraction, IngestError, Stated

FIELDS = ("title", "authors", "year", "venue", "publisher", "volume", "issue", "pages", "url", "language", "citation")
PLACEHOLDER_AUTHORS = {
    "user",
    "admin",
    "administrator",
    "owner",
    "author",
    "unknown",
    "anonymous",
    "windows user",
    "microsoft office user",
    "microsoft office",
    "office",
    "home",
    "пользователь",
    "администратор",
    "автор",
    "неизвестный",
}
_PLACEHOLDER_TITLE = re.compile(
    r"^(?:microsoft (?:word|powerpoint|excel) - .*|untitled.*|без названия|безымянный.*|document\d*|документ\d*|"
    r"title|presentation\d*|slide \d+|.*\.(?:docx?|pdf|rtf|odt|tex|dvi|html?|txt|indd|qxd))$",
    re.I,
)
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d|2100)(?!\d)")
_LANGS = {
    "english": "en",
    "russian": "ru",
    "русский": "ru",
    "eng": "en",
    "rus": "ru",
    "ukr": "uk",
    "kaz": "kk",
    "deu": "de",
    "ger": "de",
    "fra": "fr",
    "fre": "fr",
}


@dataclass
class Resolved:
    values: dict[str, object]
    sources: dict[str, str]
    notes: list[str] = field(default_factory=list)


def split_authors(value: object) -> list[str]:
    """A list stays as it is; a string is split on semicolons and line breaks only — never on commas,
    which separate a family name from given names ("Иванова, Анна Сергеевна" is one author)."""
    items = value if isinstance(value, list) else re.split(r"[;\n]", str(value))
    return [" ".join(str(a).split()) for a in items if str(a).strip()]


def year_of(value: object) -> int | None:
    found = _YEAR.search(str(value))
    return int(found.group(1)) if found else None


def language_code(value: str) -> str | None:
    v = value.strip().lower().replace("_", "-")
    v = _LANGS.get(v, v)
    code = v.split("-")[0]
    code = _LANGS.get(code, code)
    return code if re.fullmatch(r"[a-z]{2,3}", code) else None


def text_language(blocks_text: str) -> tuple[str | None, str]:
    """The language of the text in this file, from its letters' script (Cyrillic → ru, Latin → en)."""
    letters = [c for c in blocks_text if c.isalpha()]
    if not letters:
        return None, ""
    cyr = sum(1 for c in letters if "CYRILLIC" in unicodedata.name(c, ""))
    lat = sum(1 for c in letters if "LATIN" in unicodedata.name(c, ""))
    if cyr >= 0.5 * len(letters):
        return "ru", f"the text: {cyr / len(letters):.0%} of its letters are Cyrillic"
    if lat >= 0.5 * len(letters):
        return "en", f"the text: {lat / len(letters):.0%} of its letters are Latin"
    return None, ""


def resolve(extraction: Extraction, flags: dict[str, object]) -> Resolved:
    """Flags win; then what the file states; then null or []. Placeholders are dropped with a note."""
    stated = dict(extraction.meta)
    notes: list[str] = []
    values: dict[str, object] = {name: None for name in FIELDS}
    values["authors"] = []
    sources: dict[str, str] = {}

    def take(name: str, item: Stated | None) -> None:
        if item is not None:
            values[name], sources[name] = item.value, item.source

    for name in ("title", "venue", "publisher", "volume", "issue", "pages", "url", "language", "citation"):
        take(name, stated.get(name))
    if "authors" in stated:
        values["authors"] = split_authors(stated["authors"].value)
        sources["authors"] = stated["authors"].source
    if "date" in stated:
        year = year_of(stated["date"].value)
        if year is not None:
            values["year"], sources["year"] = year, f"{stated['date'].source} ({stated['date'].value})"
    if "year" in stated:
        year = year_of(stated["year"].value)
        if year is not None:
            values["year"], sources["year"] = year, stated["year"].source

    # Placeholders that word processors write in place of real metadata.
    if isinstance(values["title"], str):
        title = " ".join(values["title"].split())
        if _PLACEHOLDER_TITLE.match(title):
            notes.append(f"title “{title}” ({sources['title']}) is a placeholder, not a title: dropped")
            values["title"] = None
            sources.pop("title")
        else:
            values["title"] = title
    if not values["title"] and "title_fallback" in stated:
        values["title"], sources["title"] = " ".join(str(stated["title_fallback"].value).split()), stated["title_fallback"].source
    kept = []
    for author in cast(list[str], values["authors"]):
        if author.casefold() in PLACEHOLDER_AUTHORS:
            notes.append(f"author “{author}” ({sources['authors']}) is a placeholder: dropped")
        else:
            kept.append(author)
    if not kept:
        sources.pop("authors", None)
    values["authors"] = kept
    if isinstance(values["url"], str) and not re.match(r"^https?://\S+$", values["url"]):
        notes.append(f"url “{values['url']}” ({sources['url']}) is not an http(s) address: dropped")
        values["url"] = None
        sources.pop("url")
    if isinstance(values["language"], str):
        code = language_code(values["language"])
        if code is None:
            notes.append(f"language “{values['language']}” ({sources['language']}) is not a language code: dropped")
            values["language"] = None
            sources.pop("language")
        else:
            values["language"] = code

    for name, value in flags.items():
        if value is None:
            continue
        if name == "authors":
            value = split_authors(value)
        elif name == "year":
            value = int(str(value))
        elif name == "language":
            code = language_code(str(value))
            if code is None:
                raise IngestError(f"--language {value!r} is not a language code (e.g. en, ru)")
            value = code
        values[name], sources[name] = value, f"--{name}"

    if values["language"] is None:
        code, how = text_language(" ".join(b.text for b in extraction.blocks))
        if code is None:
            raise IngestError("the text's language cannot be told from its letters: give it with --language")
        values["language"], sources["language"] = code, how
    if not values["title"]:
        raise IngestError('the file states no title: give one with --title "..." (the title as the document prints it)')
    for name in ("volume", "issue", "pages", "venue", "publisher"):
        if values[name] is not None:
            values[name] = str(values[name]).strip() or None
    return Resolved(values, sources, notes)

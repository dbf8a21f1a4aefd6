"""Aliases: groups of names for one concept (from the knowledge base's alias file), and the checks
of those names that need the analysis (each has searchable words, none is used twice)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.knowledge.load import ALIAS_FILE
from bot.knowledge.model import KnowledgeBase, Problem
from bot.search.analysis import CONCEPT_PREFIX, Token, _base_tokens, normalize


class AliasTable:
    """Groups of names for one concept; every name's term sequence maps to the concept's term."""

    def __init__(self, groups: Iterable[Sequence[str]] = ()) -> None:
        self._phrases: dict[tuple[str, ...], str] = {}
        self._by_first: dict[str, list[tuple[str, ...]]] = {}  # longest first
        self.groups: list[tuple[str, ...]] = []
        self.names: set[str] = set()  # concepts that are names, abbreviations or titles (CSTO, ОДКБ, Kazakhstan)
        self.written: dict[str, str] = {}  # each such name in lower case → as the glossary writes it
        for group in groups:
            self.add(group)

    @staticmethod
    def phrase_terms(name: str) -> tuple[str, ...]:
        return tuple(t.term for t in _base_tokens(name))

    def add(self, group: Sequence[str]) -> str:
        """Add one group; returns its concept term."""
        concept = CONCEPT_PREFIX + "_".join(self.phrase_terms(group[0]) or (normalize(group[0]),))
        for name in group:
            terms = self.phrase_terms(name)
            if terms:
                self._phrases[terms] = concept
                starts = self._by_first.setdefault(terms[0], [])
                if terms not in starts:
                    starts.append(terms)
                    starts.sort(key=len, reverse=True)
        self.groups.append(tuple(group))
        if group[0][:1].isupper():  # written as a name: a name, whatever case a question writes it in
            self.names.add(concept)
            for name in group:
                self.written.setdefault(" ".join(name.casefold().split()), name)
        return concept

    def concept_of(self, terms: tuple[str, ...]) -> str | None:
        return self._phrases.get(terms)

    def signature(self) -> str:
        return "|".join(sorted(f"{' '.join(k)}={v}" for k, v in self._phrases.items()))

    def apply(self, tokens: list[Token]) -> list[Token]:
        """Replace each longest name found in the terms by its concept term (spans merged)."""
        if not self._phrases:
            return tokens
        out: list[Token] = []
        i = 0
        while i < len(tokens):
            for phrase in self._by_first.get(tokens[i].term, ()):
                n = len(phrase)
                if tuple(t.term for t in tokens[i : i + n]) == phrase:
                    out.append(Token(self._phrases[phrase], tokens[i].start, tokens[i + n - 1].end))
                    i += n
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out


class AliasCheck:
    """Checks the groups of the alias file `where` one at a time, in file order (see load_knowledge)."""

    def __init__(self, where: str) -> None:
        self.where = where
        self._seen: dict[tuple[str, ...], int] = {}  # each name's terms → the line of its first group

    def __call__(self, names: tuple[str, ...], line: int) -> list[Problem]:
        problems: list[Problem] = []
        for name in names:
            terms = AliasTable.phrase_terms(name)
            if not terms:
                problems.append(Problem(self.where, line, f"alias '{name}' has no searchable words"))
            elif terms in self._seen and self._seen[terms] != line:
                problems.append(Problem(self.where, line, f"alias '{name}' is already in the group on line {self._seen[terms]}"))
            else:
                self._seen[terms] = line
        return problems


def alias_problems(kb: KnowledgeBase) -> list[Problem]:
    """The term checks over a loaded knowledge base's alias groups (empty when it was loaded with them)."""
    check = AliasCheck(str(kb.directory / ALIAS_FILE))
    return [p for names, line in zip(kb.aliases, kb.alias_lines, strict=True) for p in check(names, line)]

"""What a curator reads: the questions the sources did not answer and the answers voted 👎, grouped.

The same question in other words is counted once: questions are compared by their content terms (the
search's own analysis: stop words dropped, stems, aliases mapped to one concept, so "ОДКБ" and "CSTO"
are one term), and joined into a group when the term sets overlap by Jaccard ≥ `SIMILAR`.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.store.db import DAY, Row

SIMILAR = 0.6  # Jaccard overlap of content terms above which two questions are one


@dataclass
class Group:
    terms: frozenset[str]
    rows: list[Row] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def declined(self) -> int:
        return sum(not r.answered for r in self.rows)

    @property
    def down(self) -> int:
        return sum(r.vote == -1 for r in self.rows)

    @property
    def wordings(self) -> list[tuple[str, int]]:
        """The group's wordings, most frequent first, then earliest (the first is the group's name)."""
        counts = Counter(" ".join(r.question.split()) for r in sorted(self.rows, key=lambda r: (r.at, r.id)))
        return sorted(counts.items(), key=lambda kv: -kv[1])

    @property
    def question(self) -> str:
        return self.wordings[0][0]

    @property
    def lang(self) -> str:
        return Counter(r.lang for r in self.rows).most_common(1)[0][0]

    @property
    def quoted(self) -> list[tuple[str, int]]:
        return Counter(p for r in self.rows for p in r.passages).most_common()

    @property
    def comments(self) -> list[str]:
        return [r.comment for r in self.rows if r.comment]


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def group_questions(rows: Iterable[Row], terms: Callable[[str], Iterable[str]]) -> list[Group]:
    """Group rows by meaning (content terms), most frequent group first."""
    exact: dict[frozenset[str], Group] = {}
    for row in rows:
        key = frozenset(terms(row.question)) or frozenset({"\0" + " ".join(row.question.casefold().split())})
        exact.setdefault(key, Group(key)).rows.append(row)
    groups: list[Group] = []
    # Join near-identical term sets, largest first, so a group grows around its most common wording.
    for candidate in sorted(exact.values(), key=lambda g: (-g.count, sorted(g.terms))):
        home = max(groups, key=lambda g: jaccard(g.terms, candidate.terms), default=None)
        if home is not None and jaccard(home.terms, candidate.terms) >= SIMILAR:
            home.rows.extend(candidate.rows)
        else:
            groups.append(candidate)
    return sorted(groups, key=lambda g: (-g.count, -g.down, g.question))


def needs_attention(rows: Iterable[Row]) -> list[Row]:
    """Declined questions and those voted 👎."""
    return [r for r in rows if not r.answered or r.vote == -1]


def render_report(rows: list[Row], groups: list[Group], days: float) -> str:
    lines = [
        f"csto-bot report, last {days:g} days: {len(rows)} question{'' if len(rows) == 1 else 's'}, "
        f"{sum(not r.answered for r in rows)} declined, {sum(r.vote == -1 for r in rows)} with 👎, "
        f"{sum(r.vote == 1 for r in rows)} with 👍."
    ]
    if not groups:
        lines.append("Nothing declined and no 👎: nothing to add for now.")
    for i, g in enumerate(groups, 1):
        what = ", ".join(
            part for part in (f"{g.declined} declined" if g.declined else "", f"{g.down} 👎" if g.down else "") if part
        )
        lines.append("")
        lines.append(f"{i}. {g.count}× ({what}) [{g.lang}] {g.question}")
        others = g.wordings[1:]
        if others:
            lines.append("   also asked as: " + "; ".join(f"{q!r} ({n})" if n > 1 else repr(q) for q, n in others[:5]))
            if len(others) > 5:
                lines[-1] += f"; and {len(others) - 5} more"
        if g.quoted:
            lines.append("   quoted: " + ", ".join(f"{p} ({n})" if n > 1 else p for p, n in g.quoted[:6]))
        for comment in g.comments[:5]:
            lines.append(f"   comment: {comment!r}")
    return "\n".join(lines)


def write_jsonl(groups: list[Group], path: Path) -> int:
    """The groups as an eval file (`csto-bot eval FILE`): `expect` empty, for the curator to fill in."""
    with path.open("w", encoding="utf-8") as f:
        for i, g in enumerate(groups, 1):
            item = {"id": f"report-{i}", "q": g.question, "expect": [], "lang": g.lang, "kind": ""}
            f.write(json.dumps(item, ensure_ascii=False) + "\n")
    return len(groups)


@dataclass(frozen=True)
class Window:
    questions: int
    answered: int
    up: int
    down: int


@dataclass(frozen=True)
class Stats:
    day: Window
    week: Window
    top_declined: list[tuple[str, int]]


def _window(rows: list[Row]) -> Window:
    return Window(len(rows), sum(r.answered for r in rows), sum(r.vote == 1 for r in rows), sum(r.vote == -1 for r in rows))


def compute_stats(rows: list[Row], terms: Callable[[str], Iterable[str]], now: float | None = None, top: int = 5) -> Stats:
    """/stats: the last day and week, and the most frequent declined questions of the week."""
    now = time.time() if now is None else now
    week = [r for r in rows if r.at >= now - 7 * DAY]
    day = [r for r in week if r.at >= now - DAY]
    declined = group_questions([r for r in week if not r.answered], terms)
    return Stats(_window(day), _window(week), [(g.question, g.count) for g in declined[:top]])

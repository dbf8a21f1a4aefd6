"""`csto-bot eval`: hit@1, hit@3 and abstention precision/recall over a questions file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.answer import Core
from bot.core.models import Answer


@dataclass
class Report:
    answerable: int = 0
    hit1: int = 0
    hit3: int = 0
    unanswerable: int = 0
    abstained_right: int = 0  # unanswerable and abstained
    abstained_wrong: int = 0  # answerable but abstained
    misses: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        def pct(a: int, b: int) -> str:
            return f"{100 * a / b:.1f}% ({a}/{b})" if b else "n/a (0/0)"

        abstained = self.abstained_right + self.abstained_wrong
        return [
            f"hit@1: {pct(self.hit1, self.answerable)}",
            f"hit@3: {pct(self.hit3, self.answerable)}",
            f"abstain precision: {pct(self.abstained_right, abstained)}",
            f"abstain recall: {pct(self.abstained_right, self.unanswerable)}",
        ]


def _hit(answer: Answer, expect: list[str], depth: int) -> bool:
    texts = [q.text.casefold() for q in answer.quotes[:depth]]
    return any(e.casefold() in t for e in expect for t in texts)


def load_questions(path: Path) -> list[dict[str, object]]:
    """One JSON object a line, with `q` and `expect`; blank lines are skipped."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}:{number}: not a JSON object ({e.msg})") from None
        if not isinstance(item, dict) or not isinstance(item.get("q"), str) or not isinstance(item.get("expect"), list):
            raise ValueError(f'{path}:{number}: expected an object with "q" (text) and "expect" (list)')
        out.append(item)
    return out


def evaluate(core: Core, questions: list[dict[str, object]]) -> Report:
    report = Report()
    for item in questions:
        question, expect = str(item["q"]), [str(e) for e in item["expect"]]  # type: ignore[union-attr]
        answer = core.answer(question)
        label = f"{item.get('id', '?')} {question!r}"
        if not expect:
            report.unanswerable += 1
            if not answer.answered:
                report.abstained_right += 1
            else:
                report.misses.append(f"MISS {label}: should abstain, quoted {answer.quotes[0].text[:120]!r}")
            continue
        report.answerable += 1
        if not answer.answered:
            report.abstained_wrong += 1
            report.misses.append(f"MISS {label}: abstained; expected one of {expect}")
            continue
        report.hit1 += _hit(answer, expect, 1)
        if _hit(answer, expect, 3):
            report.hit3 += 1
        else:
            quoted = " | ".join(f"[{q.passage_id}] {q.text[:100]!r}" for q in answer.quotes[:3])
            report.misses.append(f"MISS {label}: expected one of {expect}; quoted {quoted}")
    return report

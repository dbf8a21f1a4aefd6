"""`csto-bot eval`: hit@1, hit@3 and abstention precision/recall over a questions file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.answer import Core, language_of
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
    by_lang: dict[str, Report] = field(default_factory=dict)

    @property
    def abstain_precision(self) -> float:
        abstained = self.abstained_right + self.abstained_wrong
        return self.abstained_right / abstained if abstained else 1.0

    @property
    def abstain_recall(self) -> float:
        return self.abstained_right / self.unanswerable if self.unanswerable else 1.0

    def lines(self) -> list[str]:
        out = self._figures("")
        for lang in sorted(self.by_lang):
            out += self.by_lang[lang]._figures(f"[{lang}] ")
        return out

    def _figures(self, prefix: str) -> list[str]:
        def pct(a: int, b: int) -> str:
            return f"{100 * a / b:.1f}% ({a}/{b})" if b else "n/a (0/0)"

        abstained = self.abstained_right + self.abstained_wrong
        return [
            f"{prefix}hit@1: {pct(self.hit1, self.answerable)}",
            f"{prefix}hit@3: {pct(self.hit3, self.answerable)}",
            f"{prefix}abstain precision: {pct(self.abstained_right, abstained)}",
            f"{prefix}abstain recall: {pct(self.abstained_right, self.unanswerable)}",
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
    """Figures over all questions, and per language (the item's `lang`, else the question's script)."""
    report = Report()
    for item in questions:
        expected = item["expect"]
        assert isinstance(expected, list)  # load_questions checked it
        question, expect = str(item["q"]), [str(e) for e in expected]
        lang = str(item.get("lang") or language_of(question))
        answer = core.answer(question)
        for r in (report, report.by_lang.setdefault(lang, Report())):
            _score(r, answer, expect)
        miss = _miss(answer, expect)
        if miss:
            report.misses.append(f"MISS {item.get('id', '?')} {question!r}: {miss}")
    return report


def _score(report: Report, answer: Answer, expect: list[str]) -> None:
    if not expect:
        report.unanswerable += 1
        report.abstained_right += not answer.answered
        return
    report.answerable += 1
    if not answer.answered:
        report.abstained_wrong += 1
        return
    report.hit1 += _hit(answer, expect, 1)
    report.hit3 += _hit(answer, expect, 3)


def _miss(answer: Answer, expect: list[str]) -> str | None:
    """What went wrong with one answer, with what was quoted instead; None when it is right."""
    why = ""
    if answer.evidence is not None:
        e = answer.evidence
        why = f" (confidence {e.confidence:.2f} vs {e.threshold:.2f}: words {e.coverage:.2f}, meaning {e.meaning:.2f})"
    if not expect:
        if not answer.answered:
            return None
        return f"should abstain{why}, quoted [{answer.quotes[0].passage_id}] {answer.quotes[0].text[:120]!r}"
    if not answer.answered:
        return f"abstained{why}; expected one of {expect}"
    if _hit(answer, expect, 3):
        return None
    quoted = " | ".join(f"[{q.passage_id}] {q.text[:100]!r}" for q in answer.quotes[:3])
    return f"expected one of {expect}; quoted {quoted}"

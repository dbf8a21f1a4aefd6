"""`csto-bot report` on a store filled by a scripted console session; its --jsonl loads with `csto-bot eval`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.answer import Core
from bot.store.db import Row
from bot.store.report import group_questions, needs_attention
from tests.conftest import run_cli

SESSION = """What is the zebrafish treaty?
Tell me about the zebrafish treaty
When was the CSTO created?
/good
Who chaired the CSTO in 2024?
/bad I wanted the chairman's name
What is the zebrafish treaty?
How many penguins live in Antarctica?
Какова роль ОДКБ в Арктике?
/quit
"""


def test_grouping_counts_the_same_question_in_other_words_together(core: Core) -> None:
    def row(i: int, q: str, answered: bool = False, vote: int | None = None) -> Row:
        return Row(i, 1000.0 + i, "telegram", q, "en", answered, (), vote)

    rows = [
        row(1, "What is the zebrafish treaty?"), row(2, "what is the Zebrafish Treaty"),
        row(3, "Tell me about the zebrafish treaty"), row(4, "How many penguins live in Antarctica?"),
        row(5, "When was the CSTO created?", answered=True), row(6, "Who chaired the CSTO in 2024?", True, -1),
        row(7, "When was the Collective Security Treaty Organization created?", True, 1),
    ]  # fmt: skip
    groups = group_questions(needs_attention(rows), core.retriever.analyzer.terms)
    assert [(g.question, g.count) for g in groups] == [
        ("What is the zebrafish treaty?", 3), ("Who chaired the CSTO in 2024?", 1),  # at equal counts, 👎 first
        ("How many penguins live in Antarctica?", 1),
    ]  # fmt: skip
    assert groups[1].down == 1 and groups[0].declined == 3


@pytest.mark.slow  # three CLI processes
def test_report_from_a_scripted_session_and_its_jsonl_loads_with_eval(tmp_path: Path) -> None:
    env = {"STATE_DIR": str(tmp_path)}
    session = run_cli("console", stdin=SESSION, env=env)
    assert session.returncode == 0, session.stderr
    assert "Noted: 👍" in session.stdout and "Noted: 👎" in session.stdout
    out = tmp_path / "todo.jsonl"
    report = run_cli("report", "--jsonl", str(out), env=env)
    assert report.returncode == 0, report.stderr
    text = report.stdout
    assert "7 questions, 5 declined" in text and "1 with 👎" in text and "1 with 👍" in text
    first = next(line for line in text.splitlines() if line.startswith("1. "))
    assert first.startswith("1. 3× (3 declined)") and "zebrafish treaty" in first
    assert "also asked as: 'Tell me about the zebrafish treaty'" in text
    assert 'comment: "I wanted the chairman\'s name"' in text and "1 👎" in text
    assert "quoted:" in text  # what the 👎 answer quoted
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert all(set(i) == {"id", "q", "expect", "lang", "kind"} and i["expect"] == [] for i in items)
    assert items[0]["q"] == "What is the zebrafish treaty?" and {i["lang"] for i in items} == {"en", "ru"}
    evaluated = run_cli("eval", str(out), env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "abstain recall: " in evaluated.stdout and f"/{len(items)})" in evaluated.stdout


@pytest.mark.slow  # CLI processes
def test_report_without_a_store_and_with_the_store_off(tmp_path: Path) -> None:
    missing = run_cli("report", env={"STATE_DIR": str(tmp_path)})
    assert missing.returncode == 1 and "no question store" in missing.stderr
    run_cli("console", stdin="What is the zebrafish treaty?\n/bad\n", env={"STATE_DIR": str(tmp_path), "STORE_QUESTIONS": "off"})
    assert not (tmp_path / "csto-bot.sqlite3").exists()

"""The command line as a user runs it: `python -m bot ...` in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EVAL, run_cli

pytestmark = pytest.mark.slow  # each test runs the CLI in a fresh interpreter (the encoder loads each time)


def test_ask_json_contract() -> None:
    result = run_cli("ask", "--json", "Who are the members of the CSTO?")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["question"] == "Who are the members of the CSTO?" and data["answered"] is True
    assert data["quotes"] and data["sources"]
    for quote in data["quotes"]:
        assert {"n", "text", "passage_id", "score"} <= quote.keys()
        assert {"id", "title", "citation", "url"} <= quote["source"].keys()
    scores = [q["score"] for q in data["quotes"]]
    assert all(isinstance(s, float) for s in scores)


def test_ask_json_abstains_honestly() -> None:
    data = json.loads(run_cli("ask", "--json", "Who won the 2018 World Cup?").stdout)
    assert data["answered"] is False and data["quotes"] == [] and data["suggestions"]


def test_ask_plain_text_and_stdin() -> None:
    text = run_cli("ask", "When was the CSTO created?").stdout
    assert "2002" in text and "[1]" in text and "Sources:" in text
    piped = run_cli("ask", stdin="When was the CSTO created?\n").stdout
    assert piped == text


@pytest.mark.parametrize(
    "question",
    [
        "",
        "   ",
        "x" * 10_000,
        "?!.,;:",
        "🙂🙃🇰🇿",
        "<b>CSTO</b><script>",
        "**CSTO** _bold_ [a](b)",
        "a\x00b\x1b[31mc",
        "CSTO ОДКБ 集体安全",
    ],
)
def test_ask_never_crashes(question: str) -> None:
    result = run_cli("ask", "--json", stdin=question)  # stdin: argv cannot carry a NUL byte
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    json.loads(result.stdout)


@pytest.mark.skipif(not EVAL.exists(), reason="the development questions are not beside this checkout")
def test_eval_prints_the_figures() -> None:
    result = run_cli("eval", str(EVAL))
    assert result.returncode == 0, result.stderr
    for metric in ("hit@1:", "hit@3:", "abstain precision:", "abstain recall:"):
        assert metric in result.stdout


def test_eval_reports_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"q": "x", "expect": []}\nnot json\n', encoding="utf-8")
    result = run_cli("eval", str(bad))
    assert result.returncode == 2 and f"{bad}:2:" in result.stderr and "Traceback" not in result.stderr


def test_bad_setting_is_one_line() -> None:
    result = run_cli("ask", "x", env={"MAX_QUOTES": "many"})
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "MAX_QUOTES" in result.stderr


def test_env_example_lists_every_setting_with_a_comment() -> None:
    from bot.config import Settings
    from tests.conftest import ROOT

    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for name in Settings.model_fields:
        key = name.upper()
        index = next((i for i, line in enumerate(lines) if line.startswith(f"{key}=")), None)
        assert index is not None, f"{key} is missing from .env.example"
        assert lines[index - 1].startswith("#"), f"{key} has no comment above it"

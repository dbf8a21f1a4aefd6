"""The console driven through stdin/stdout, as a person (or a script) would use it."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow  # each test runs the CLI in a fresh interpreter (the encoder loads each time)


def test_console_session() -> None:
    script = "\n".join(
        [
            "Who are the members of the CSTO?",
            "/more",
            "Who won the 2018 World Cup?",
            "/sources",
            "/help",
            "/nonsense",
            "",
            "/quit",
        ]
    )
    result = run_cli("console", stdin=script + "\n")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert out.startswith("csto-bot console")
    assert "Sources:" in out and "[1]" in out
    assert "My sources do not cover this question" in out
    assert "Samokhin I.R. Consequences" in out
    assert "/sources   every document" in out
    assert "Unknown command '/nonsense'" in out
    assert out.rstrip().endswith("Bye.")
    assert "Traceback" not in result.stderr


def test_console_leaves_cleanly_on_end_of_input() -> None:
    result = run_cli("console", stdin="When was the CSTO created?\n")
    assert result.returncode == 0 and "2002" in result.stdout and result.stdout.rstrip().endswith("Bye.")


def test_plain_command_without_token_starts_the_console() -> None:
    result = run_cli(stdin="/quit\n")
    assert result.returncode == 0 and result.stdout.startswith("csto-bot console")


def test_more_before_any_question() -> None:
    assert "Ask a question first." in run_cli("console", stdin="/more\n").stdout

"""`csto-bot ask --json … | head -c 200`: a reader that stops early ends the command quietly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # each test runs the CLI in a fresh interpreter (the encoder loads each time)

QUESTION = "Who are the members of the CSTO?"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}


def test_pipe_closed_before_the_answer_is_written() -> None:
    """The reader is gone before the bot writes a byte: every write fails with EPIPE."""
    read_end, write_end = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "--json", QUESTION],
        stdout=write_end,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=_env(),
    )
    os.close(write_end)
    os.close(read_end)  # like `head` that has already exited
    _, stderr = proc.communicate(timeout=60)
    assert stderr.decode() == ""
    assert proc.returncode == 141


def test_head_reads_200_bytes() -> None:
    """The shell pipeline of the issue, whichever way the race between the two ends goes."""
    command = f'"{sys.executable}" -m bot ask --json "{QUESTION}" | head -c 200'
    done = subprocess.run(["sh", "-c", command], capture_output=True, cwd=ROOT, env=_env(), timeout=60)
    assert len(done.stdout) == 200
    assert b"Traceback" not in done.stderr and b"BrokenPipe" not in done.stderr, done.stderr.decode()

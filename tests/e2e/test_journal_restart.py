"""No silent drop: the update journal across a fresh Bot API server, a kill and another bot.

A self-hosted telegram-bot-api started with a new state directory numbers updates from 1 again; so
does the double with `first_update_id=1`. The journal of the earlier server must not make the bot skip
the new server's updates, while the updates it really handled before a kill are still skipped, each
with a log line.
"""

from __future__ import annotations

import functools
import re
import signal
import time
from pathlib import Path

import pytest

from tests.support.botproc import BotProcess
from tests.support.tgdouble import TelegramDouble
from tests.support.wait import wait_until as shared_wait_until

QUESTIONS = ["When was the CSTO created?", "Who chaired the CSTO in 2024?", "What happened in Kazakhstan in January 2022?"]
MARKS = ["2002", "2024", "2022"]


wait_until = functools.partial(shared_wait_until, timeout=20.0, every=0.05)  # servers and bots start here


def answers(tg: TelegramDouble, chat: int, mark: str) -> int:
    return sum(mark in m.text and "Sources" in m.text for m in tg.sent_messages(chat))


def ask_all(tg: TelegramDouble, users: list[int]) -> list[int]:
    return [tg.private_text(u, q) for u, q in zip(users, QUESTIONS)]


def test_fresh_server_kill_and_another_bot_lose_nothing(tmp_path: Path) -> None:
    state = {"STATE_DIR": str(tmp_path / "state"), "RATE_LIMIT_PER_MINUTE": "0"}
    users = [5101, 5102, 5103]
    for run in ("run1", "run2", "run3", "run4"):
        (tmp_path / run).mkdir()

    # 1. A server numbering updates from 1; three questions; a clean stop.
    with TelegramDouble(first_update_id=1) as first:
        with BotProcess(first, tmp_path / "run1", **state):
            assert ask_all(first, users) == [1, 2, 3]
            wait_until(lambda: all(answers(first, u, m) for u, m in zip(users, MARKS)))
        assert first.violations == []

    # 2. A fresh server: ids start at 1 again. Every question is answered (none taken for handled).
    #    The first is held at "typing…" so the offset cannot pass it, then the bot is killed with the
    #    other two answered and journalled but not confirmed to the server.
    with TelegramDouble(first_update_id=1) as fresh:
        run2 = BotProcess(fresh, tmp_path / "run2", **state).start()
        run2.wait_ready()
        fresh.slow_reply("sendChatAction", seconds=4.5, times=1)
        assert ask_all(fresh, users[:1]) == [1]
        time.sleep(0.5)  # question 1 is at "typing…" (the call is recorded when it completes)
        assert [fresh.private_text(u, q) for u, q in zip(users[1:], QUESTIONS[1:])] == [2, 3]
        wait_until(lambda: answers(fresh, users[1], MARKS[1]) and answers(fresh, users[2], MARKS[2]))
        journal = tmp_path / "state" / "csto-bot.updates"
        wait_until(lambda: {"2", "3"} <= {line.split()[0] for line in journal.read_text().splitlines() if line})
        run2.stop(signal.SIGKILL)
        assert "skipped" not in run2.output(), run2.output()
        assert {u["update_id"] for u in fresh.pending_updates()} == {1, 2, 3}  # nothing confirmed

        # 3. Restarted on the same server: 2 and 3 are skipped, each with a log line; 1 is answered.
        time.sleep(4)  # the held call completes at the double (its client is gone)
        with BotProcess(fresh, tmp_path / "run3", **state) as run3:
            wait_until(lambda: answers(fresh, users[0], MARKS[0]))
            wait_until(lambda: not fresh.pending_updates())
            time.sleep(0.5)
        assert [answers(fresh, u, m) for u, m in zip(users, MARKS)] == [1, 1, 1]
        skipped = re.findall(r"update (\d+) skipped", run3.output())
        assert sorted(skipped) == ["2", "3"], run3.output()
        assert fresh.token not in run3.output()
        assert fresh.violations == []

    # 4. Another bot sharing the state directory, on a server that also numbers from 1: all answered.
    other_token = "7000000002:AAHcsto-double-other-token-abcdefghij"
    with TelegramDouble(other_token, first_update_id=1, username="csto_other_bot") as other:
        with BotProcess(other, tmp_path / "run4", **state) as run4:
            ask_all(other, users)
            wait_until(lambda: all(answers(other, u, m) for u, m in zip(users, MARKS)))
        assert "skipped" not in run4.output()
        assert "belongs to another bot or Bot API server" in run4.output()


@pytest.mark.parametrize("when", ["while it is down", "once the bot polls it"])
def test_a_server_that_starts_over_under_a_running_bot_loses_nothing(tmp_path: Path, when: str) -> None:
    """The server restarts with a new state directory while the bot runs: its long poll is cut and the
    ids start at 1 again, below the bot's offset. Asking with that offset would confirm (delete) the
    new updates unseen; the bot looks first, sees the ids went back, and answers them. The questions
    come in before its first look, or only after it (then the look waits for them)."""
    users = [5201, 5202, 5203]
    with TelegramDouble(first_update_id=1) as tg:
        with BotProcess(tg, tmp_path, STATE_DIR=str(tmp_path / "state"), RATE_LIMIT_PER_MINUTE="0") as bot:
            assert ask_all(tg, users) == [1, 2, 3]
            wait_until(lambda: all(answers(tg, u, m) for u, m in zip(users, MARKS)))
            wait_until(lambda: not tg.pending_updates())
            polls = tg.polls
            tg.start_over()
            if when == "once the bot polls it":
                wait_until(lambda: tg.polls > polls)  # the bot's look, a long poll, waits at the new server
            assert [tg.private_text(u, q) for u, q in zip(users[:2], QUESTIONS[:2])] == [1, 2]
            wait_until(lambda: answers(tg, users[0], MARKS[0]) == 2 and answers(tg, users[1], MARKS[1]) == 2)
            wait_until(lambda: not tg.pending_updates())
        assert "skipped" not in bot.output(), bot.output()
        assert "started over" in bot.output(), bot.output()
        assert [answers(tg, u, m) for u, m in zip(users, MARKS)] == [2, 2, 1]  # each question answered once
        assert tg.violations == []

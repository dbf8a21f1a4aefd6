"""The pure pieces behind the Telegram adapter: answer state, rate limit, journal, redaction, buttons."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from telegram import Update

from bot.core.answer import Core
from bot.tg.app import answer_keyboard
from bot.tg.buttons import AnswerState, AnswerStore
from bot.tg.polling import Journal
from bot.tg.quota import QuestionQuota, Verdict
from bot.tg.run import TOKEN, Redactor
from tests.support.wait import still


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _state(chat_id: int = 1) -> AnswerState:
    return AnswerState("q", 0, ("d:1",), ("d",), chat_id, "en", True)


def test_answer_store_expires_bounds_and_binds_to_the_chat() -> None:
    clock = Clock()
    store = AnswerStore(capacity=3, ttl=60, clock=clock)
    key = store.put(_state(chat_id=7))
    assert store.get(key, 7) == _state(chat_id=7)
    assert store.get(key, 8) is None  # another chat cannot reach it
    assert store.get("forged-key", 7) is None
    clock.now += 61
    assert store.get(key, 7) is None  # expired
    keys = [store.put(_state()) for _ in range(5)]
    assert len(store) == 3 and store.get(keys[0], 1) is None and store.get(keys[-1], 1) is not None


def test_rate_limit_warns_once_then_drops_then_recovers() -> None:
    clock = Clock()
    limiter = QuestionQuota(per_minute=2, clock=clock)
    assert [limiter.check(1) for _ in range(5)] == [Verdict.ALLOW, Verdict.ALLOW, Verdict.WARN, Verdict.DROP, Verdict.DROP]
    assert limiter.check(2) is Verdict.ALLOW  # other users are not affected
    assert 1 <= limiter.retry_after(1) <= 61
    clock.now += 61
    assert limiter.check(1) is Verdict.ALLOW


def test_rate_limit_remembers_a_bounded_number_of_users() -> None:
    limiter = QuestionQuota(per_minute=1, max_users=100)
    for user in range(1000):
        limiter.check(user)
    assert len(limiter._users) == 100


def test_journal_survives_a_restart_and_compacts(tmp_path: Path) -> None:
    path = tmp_path / "journal"
    journal = Journal(path)
    for update_id in range(10):
        journal.add(Update(update_id))
    assert Journal(path).ids == set(range(10))
    assert Journal(tmp_path / "missing").ids == set()
    path.write_text("garbage\n")
    assert Journal(path).ids == set()  # a damaged journal is ignored, not fatal


def test_redactor_removes_the_token_from_messages_and_tracebacks() -> None:
    token = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi"
    redactor = Redactor([token])
    try:
        raise RuntimeError(f"POST https://api.telegram.org/bot{token}/getMe failed")
    except RuntimeError as e:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "url %s", (f"/bot{token}/x",), (type(e), e, e.__traceback__))
    redactor.filter(record)
    line = logging.Formatter().format(record)
    assert token not in line and "[redacted]" in line and "Traceback" in line


@pytest.mark.parametrize(
    ("token", "ok"),
    [
        ("123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi", True),
        ("123456", False),
        ("abc:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi", False),
        ("1:short", False),
    ],
)
def test_token_shape(token: str, ok: bool) -> None:
    assert bool(TOKEN.match(token)) is ok


def test_keyboard_callback_data_fits_64_bytes(core: Core) -> None:
    store = AnswerStore()
    answer = core.answer("How does the CSTO operate under sanctions?")
    markup = answer_keyboard(answer, store.put(_state()))
    assert markup is not None
    buttons = [b for row in markup.inline_keyboard for b in row]
    assert {b.text.split(" [")[0] for b in buttons} >= {"Source", "Cite", "More ▸"}
    assert all(isinstance(b.callback_data, str) and len(b.callback_data.encode()) <= 64 for b in buttons)


@pytest.mark.slow  # waits for a real watchdog
def test_watchdog_exits_when_the_heartbeat_stops(tmp_path: Path) -> None:
    import threading
    import time as _time

    from bot.tg.health import Heartbeat, start_watchdog

    exited = threading.Event()
    codes: list[int] = []
    heartbeat = Heartbeat(tmp_path / "hb")

    def exit_(code: int) -> None:
        codes.append(code)
        exited.set()

    start_watchdog(heartbeat, limit=0.3, every=0.05, exit=exit_)
    # The watchdog runs on the wall clock in its own thread: checking that it does NOT fire takes time.
    still(lambda: not exited.is_set(), 0.5)  # not armed before the first beat
    heartbeat.beat()
    for _ in range(4):
        _time.sleep(0.1)  # the scenario: a bot beating every 0.1 s, within the 0.3 s limit
        heartbeat.beat()
    assert not exited.is_set(), "a beating bot is left alone"
    assert exited.wait(2) and codes == [70]

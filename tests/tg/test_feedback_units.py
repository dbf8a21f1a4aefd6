"""Vote buttons, the awaited comment after a 👎, and the apology after an ambiguous send."""

from __future__ import annotations

import httpx
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, TimedOut

from bot.core.answer import Core
from bot.tg.app import answer_keyboard, apology_key, text_for
from bot.tg.feedback import PendingComments, mark_vote


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_vote_buttons_fit_and_the_chosen_one_is_marked(core: Core) -> None:
    markup = answer_keyboard(core.answer("When was the CSTO created?"), "K" * 11, votes=True)
    assert markup is not None
    votes = markup.inline_keyboard[-1]
    assert [b.text for b in votes] == ["👍", "👎"] and all(len(str(b.callback_data).encode()) <= 64 for b in votes)
    up = mark_vote(markup, 1)
    assert up is not None and [b.text for b in up.inline_keyboard[-1]] == ["👍 ✓", "👎"]
    assert up.inline_keyboard[:-1] == markup.inline_keyboard[:-1]  # the other buttons untouched
    assert mark_vote(up, 1) is None  # the same vote again: no change
    down = mark_vote(up, -1)
    assert down is not None and [b.text for b in down.inline_keyboard[-1]] == ["👍", "👎 ✓"]
    assert answer_keyboard(core.answer("When was the CSTO created?"), "K" * 11) is not None
    plain = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="s:k:0")]])
    assert mark_vote(plain, 1) is None


def test_the_awaited_comment() -> None:
    clock = Clock()
    pending = PendingComments(window=300, capacity=3, clock=clock)
    pending.expect(42, 42, record=7, prompt_id=10, private=True)
    assert pending.waiting(42, 42, 7) and not pending.waiting(42, 42, 8)
    assert pending.take(42, 43, None) is None  # someone else
    assert pending.take(42, 42, None) == 7  # private: the next message
    assert pending.take(42, 42, None) is None  # once only
    pending.expect(-100, 42, record=8, prompt_id=11, private=False)
    assert pending.take(-100, 42, None) is None and pending.take(-100, 42, 99) is None  # group: only a reply to it
    assert pending.take(-100, 42, 11) == 8
    pending.expect(42, 42, record=9, prompt_id=12, private=True)
    clock.now += 301
    assert pending.take(42, 42, None) is None  # too late
    for chat in range(10):
        pending.expect(chat, chat, 1, 1, True)
    assert len(pending) == 3


def test_an_ambiguous_send_gets_its_own_words_in_both_languages() -> None:
    timed_out = TimedOut()
    timed_out.__cause__ = httpx.ReadTimeout("read")
    dropped = NetworkError("httpx.RemoteProtocolError: Server disconnected")
    dropped.__cause__ = httpx.RemoteProtocolError("gone")
    never_sent = NetworkError("connect")
    never_sent.__cause__ = httpx.ConnectError("refused")
    assert apology_key(timed_out) == apology_key(dropped) == "maybe_sent"
    assert apology_key(never_sent) == apology_key(RuntimeError()) == apology_key(None) == "error"
    assert "may have arrived — if not, please ask again" in text_for("en", "maybe_sent")
    assert "Возможно, ответ уже пришёл — если нет, спросите ещё раз" in text_for("ru", "maybe_sent")

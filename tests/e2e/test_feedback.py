"""Votes and the question store through the real bot over HTTP, against the Bot API double."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.store.db import read_rows
from tests.support.botproc import BotProcess
from tests.support.tgdouble import TelegramDouble, checked_double
from tests.support.wait import still, wait_until

USER, OTHER, ADMIN, GROUP = 6101, 6102, 6103, -100888


tg = pytest.fixture(checked_double, scope="module")


@pytest.fixture(scope="module")
def bot(tg: TelegramDouble, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    workdir = tmp_path_factory.mktemp("feedback")
    with BotProcess(tg, workdir, RATE_LIMIT_PER_MINUTE="0", ADMIN_IDS=str(ADMIN)) as proc:
        yield proc
    assert "Traceback" not in proc.output(), proc.output()
    assert tg.token not in proc.output()


def rows(bot: BotProcess) -> list[Any]:
    return read_rows(bot.workdir / "csto-bot.sqlite3")


def row_for(bot: BotProcess, question: str) -> Any:
    return wait_until(lambda: next((r for r in rows(bot) if r.question == question), None), timeout=15)


def buttons(message: Any) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for row in message.reply_markup["inline_keyboard"] for b in row}


def ask(tg: TelegramDouble, user: int, question: str) -> Any:
    mark = tg.mark()
    tg.private_text(user, question)
    call = tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == user, after=mark)
    return next(m for m in tg.sent_messages(user) if m.message_id == call.result["message_id"])


def press(tg: TelegramDouble, user: int, chat: int, message: Any, data: str) -> Any:
    mark = tg.mark()
    tg.callback(user, chat, message.message_id, data)
    return tg.wait_for("answerCallbackQuery", after=mark)


def test_votes_change_never_add_and_a_comment_follows_a_thumbs_down(tg: TelegramDouble, bot: BotProcess) -> None:
    question = "When was the CSTO created?"
    answer = ask(tg, USER, question)
    votes = buttons(answer)
    assert {"👍", "👎"} <= votes.keys() and all(len(d.encode()) <= 64 for d in votes.values())
    assert row_for(bot, question).answered and row_for(bot, question).vote is None

    assert "Thank you" in press(tg, USER, USER, answer, votes["👍"]).params["text"]
    wait_until(lambda: row_for(bot, question).vote == 1)
    wait_until(lambda: "👍 ✓" in buttons(_current(tg, USER, answer)))
    edits = len(tg.calls("editMessageReplyMarkup"))
    press(tg, USER, USER, answer, votes["👍"])  # the same vote again: nothing changes
    still(lambda: len(tg.calls("editMessageReplyMarkup")) == edits, settle=0.3)

    mark = tg.mark()
    press(tg, USER, USER, answer, votes["👎"])  # changes the vote
    prompt = tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == USER, after=mark)
    assert "What were you looking for?" in prompt.params["text"] and prompt.params["reply_markup"]["force_reply"]
    wait_until(lambda: row_for(bot, question).vote == -1)
    wait_until(lambda: {"👎 ✓", "👍"} <= buttons(_current(tg, USER, answer)).keys())
    tg.private_text(USER, "the founding treaty of 1992", reply_to_message_id=prompt.result["message_id"])
    wait_until(lambda: row_for(bot, question).comment == "the founding treaty of 1992")
    assert [r.question for r in rows(bot)].count(question) == 1  # one row: votes changed it, never added


def _current(tg: TelegramDouble, chat: int, message: Any) -> Any:
    return next(m for m in tg.sent_messages(chat) if m.message_id == message.message_id)


def test_forged_and_foreign_votes_are_ignored(tg: TelegramDouble, bot: BotProcess) -> None:
    question = "Who chaired the CSTO in 2024?"
    answer = ask(tg, OTHER, question)
    votes = buttons(answer)
    key = votes["👍"].split(":")[1]
    for forged in ("v:", "v:nokey:+", f"v:{key}:x", f"v:{key}", f"v:{key}:+:extra", "v:" + "a" * 60):
        reply = press(tg, OTHER, OTHER, answer, forged)
        assert "text" not in reply.params or "expired" in reply.params["text"]
    # the right button pressed from another chat reaches nothing
    assert "expired" in press(tg, USER, USER, answer, votes["👎"]).params["text"]
    still(lambda: row_for(bot, question).vote is None, settle=0.3)


def test_in_a_group_only_the_asker_votes_and_only_a_reply_is_the_comment(tg: TelegramDouble, bot: BotProcess) -> None:
    question = "What happened in Kazakhstan in January 2022?"
    mark = tg.mark()
    tg.group_text(GROUP, USER, f"/ask@csto_test_bot {question}")
    call = tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == GROUP, after=mark)
    answer = _current(tg, GROUP, type("M", (), {"message_id": call.result["message_id"]}))
    votes = buttons(answer)
    assert "Only the person who asked" in press(tg, OTHER, GROUP, answer, votes["👎"]).params["text"]
    mark = tg.mark()
    press(tg, USER, GROUP, answer, votes["👎"])
    prompt = tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == GROUP, after=mark)
    assert prompt.params["reply_markup"]["force_reply"] and prompt.params["reply_markup"]["selective"]
    tg.group_text(GROUP, USER, "lunch at noon?")  # not a reply to the prompt: not the comment
    tg.group_text(GROUP, OTHER, "me neither", reply_to_message_id=prompt.result["message_id"])  # not the asker
    tg.group_text(GROUP, USER, "the CSTO mission", reply_to_message_id=prompt.result["message_id"])
    wait_until(lambda: row_for(bot, question).comment == "the CSTO mission")
    assert row_for(bot, question).vote == -1 and row_for(bot, question).user_id is None  # no ids by default


def test_declined_questions_are_kept_and_stats_are_for_admins(tg: TelegramDouble, bot: BotProcess) -> None:
    for _ in range(2):
        ask(tg, USER, "What is the zebrafish treaty?")
    ask(tg, USER, "zebrafish treaty?")
    wait_until(lambda: sum("zebrafish" in r.question for r in rows(bot)) == 3)
    assert all(not r.answered for r in rows(bot) if "zebrafish" in r.question)
    assert "Only administrators" in ask(tg, USER, "/stats").text
    stats = ask(tg, ADMIN, "/stats").text
    assert "Questions in the last day:" in stats and "Answered (week):" in stats and "👍 among the votes" in stats
    assert "3× What is the zebrafish treaty?" in stats  # the same question in other words counted together

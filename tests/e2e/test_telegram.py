"""The real bot over real HTTP: `python -m bot telegram` against a Bot API double on 127.0.0.1."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_long_kb
from tests.support.botproc import BotProcess
from tests.support.tgdouble import TelegramDouble, checked_double
from tests.support.wait import still, wait_until

USER, OTHER, GROUP = 4242, 4343, -100777


tg = pytest.fixture(checked_double)


@pytest.fixture
def bot(tg: TelegramDouble, tmp_path: Path) -> Iterator[BotProcess]:
    with BotProcess(tg, tmp_path, RATE_LIMIT_PER_MINUTE="30") as proc:
        yield proc
    assert "Traceback" not in proc.output(), proc.output()
    assert tg.token not in proc.output()  # the token never reaches the logs


def _to(chat: int):
    return lambda c: c.params.get("chat_id") == chat


def test_start_registers_commands_and_offers_examples(tg: TelegramDouble, bot: BotProcess) -> None:
    commands = tg.wait_for("setMyCommands")
    assert {c["command"] for c in commands.params["commands"]} >= {"start", "help", "sources", "about", "ask"}
    assert any(c.params.get("language_code") == "ru" for c in tg.calls("setMyCommands"))
    tg.command(USER, "/start")
    welcome = tg.wait_for("sendMessage", _to(USER))
    buttons = [b for row in welcome.params["reply_markup"]["inline_keyboard"] for b in row]
    assert len(buttons) == 3 and "CSTO" in welcome.params["text"]
    mark = tg.mark()
    tg.callback(USER, USER, welcome.result["message_id"], buttons[0]["callback_data"])
    tg.wait_for("answerCallbackQuery", after=mark)
    answer = tg.wait_for("sendMessage", _to(USER), after=mark)
    assert "<blockquote" in answer.params["text"] and "[1]" in answer.params["text"]


def test_private_question_gets_quotes_sources_buttons_and_typing(tg: TelegramDouble, bot: BotProcess) -> None:
    tg.private_text(USER, "When was the CSTO created?")
    tg.wait_for("sendChatAction", lambda c: c.params.get("action") == "typing")
    msg = tg.wait_for("sendMessage", _to(USER))
    text = msg.params["text"]
    assert "2002" in text and "<b>Sources</b>" in text and msg.params["parse_mode"] == "HTML"
    assert msg.params["link_preview_options"]["is_disabled"] is True
    labels = [b["text"] for row in msg.params["reply_markup"]["inline_keyboard"] for b in row]
    assert any(x.startswith("Source [") for x in labels) and any(x.startswith("Cite [") for x in labels)


def test_each_button_and_an_expired_one(tg: TelegramDouble, bot: BotProcess) -> None:
    tg.private_text(USER, "How does the CSTO operate under sanctions?")
    msg = tg.wait_for("sendMessage", _to(USER))
    buttons = {b["text"]: b["callback_data"] for row in msg.params["reply_markup"]["inline_keyboard"] for b in row}
    source = next(v for k, v in buttons.items() if k.startswith("Source ["))
    cite = next(v for k, v in buttons.items() if k.startswith("Cite ["))
    for data, expect in ((buttons["More ▸"], "<blockquote"), (source, "<blockquote"), (cite, "<code>")):
        mark = tg.mark()
        tg.callback(USER, USER, msg.result["message_id"], data)
        tg.wait_for("answerCallbackQuery", after=mark)
        reply = tg.wait_for("sendMessage", _to(USER), after=mark)
        assert expect in reply.params["text"]
    mark = tg.mark()
    tg.callback(USER, USER, msg.result["message_id"], "m:doesnotexist")
    expired = tg.wait_for("answerCallbackQuery", after=mark)
    assert "expired" in expired.params["text"]
    # State is bound to its chat: the same button pressed from another chat is refused too.
    mark = tg.mark()
    tg.callback(OTHER, OTHER, msg.result["message_id"], source)
    assert "expired" in tg.wait_for("answerCallbackQuery", after=mark).params["text"]


def test_group_mentions_replies_and_silence(tg: TelegramDouble, bot: BotProcess) -> None:
    tg.group_text(GROUP, USER, "what do you all think about lunch?")
    tg.group_text(GROUP, USER, "@csto_test_bot When was the CSTO created?")
    msg = tg.wait_for("sendMessage", _to(GROUP))
    assert "2002" in msg.params["text"]
    tg.group_text(GROUP, USER, "/ask@csto_test_bot What happened in Kazakhstan in January 2022?")
    second = tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == GROUP and "2022" in c.params["text"])
    assert second
    tg.group_text(GROUP, USER, "and the SCO compared to the CSTO?", reply_to_bot=True)
    tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == GROUP and "SCO" in c.params["text"])
    to_group = lambda: len([c for c in tg.calls("sendMessage") if c.params.get("chat_id") == GROUP])  # noqa: E731
    wait_until(lambda: to_group() >= 3)
    still(lambda: to_group() == 3, 0.5)  # lunch: silence


def test_non_text_and_unknown_commands(tg: TelegramDouble, bot: BotProcess) -> None:
    tg.sticker(USER)
    assert "as text" in tg.wait_for("sendMessage", _to(USER)).params["text"]
    for command, expect in (("/help", "/sources"), ("/sources", "Samokhin I.R."), ("/about", "passages"), ("/nope", "/help")):
        mark = tg.mark()
        tg.command(USER, command)
        assert expect in tg.wait_for("sendMessage", _to(USER), after=mark).params["text"], command


def test_inline_query_offers_quotations(tg: TelegramDouble, bot: BotProcess) -> None:
    tg.inline_query(USER, "CSTO members")
    call = tg.wait_for("answerInlineQuery")
    results = call.params["results"]
    assert results and all(r["input_message_content"]["parse_mode"] == "HTML" for r in results)
    assert "<blockquote>" in results[0]["input_message_content"]["message_text"]


def test_flood_gets_one_polite_message(tg: TelegramDouble, tmp_path: Path) -> None:
    with BotProcess(tg, tmp_path, RATE_LIMIT_PER_MINUTE="3") as proc:
        for i in range(8):
            tg.private_text(USER, f"When was the CSTO created? {i}")
        tg.wait_for("sendMessage", lambda c: "faster than I can answer" in c.params.get("text", ""))
        wait_until(lambda: len([c for c in tg.calls("sendMessage") if c.params.get("chat_id") == USER]) >= 4)
        still(lambda: len([c for c in tg.calls("sendMessage") if c.params.get("chat_id") == USER]) == 4, 0.5)
        texts = [c.params["text"] for c in tg.calls("sendMessage") if c.params.get("chat_id") == USER]
        assert sum("faster than I can answer" in t for t in texts) == 1
        assert len(texts) == 4
    assert "Traceback" not in proc.output()


def test_429_is_retried(tg: TelegramDouble, bot: BotProcess) -> None:
    tg.fail_with_429("sendMessage", retry_after=1)
    tg.private_text(USER, "When was the CSTO created?")
    msg = tg.wait_for("sendMessage", _to(USER), timeout=15)
    assert "2002" in msg.params["text"]
    assert any(c.status == 429 for c in tg.calls("sendMessage"))


def test_html_rejection_falls_back_to_plain_text(tg: TelegramDouble, bot: BotProcess) -> None:
    tg.fail_parse_entities("sendMessage")
    tg.private_text(USER, "When was the CSTO created?")
    msg = tg.wait_for("sendMessage", _to(USER))
    assert "parse_mode" not in msg.params and "2002" in msg.params["text"] and "<blockquote>" not in msg.params["text"]
    wait_until(lambda: "sending plain text instead" in bot.output())


def test_long_answer_is_split_within_limits(tg: TelegramDouble, tmp_path: Path) -> None:
    kb = write_long_kb(tmp_path / "kb")
    with BotProcess(tg, tmp_path, KNOWLEDGE_DIR=str(kb), MAX_QUOTES="3", MAX_QUOTE_CHARS="3000", MAX_ANSWER_CHARS="3500"):
        tg.command(USER, "/sources")
        sources = tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == USER and "Sources" in c.params["text"])
        mark = tg.mark()
        tg.private_text(USER, "How did the CSTO and Kazakhstan cooperate on security under sanctions?")
        tg.wait_for("sendMessage", lambda c: c.params.get("chat_id") == USER and "Sources" in c.params["text"], after=mark)
    # A split happened: the answer came as several messages, the buttons under the last one only ...
    parts = [c for c in tg.calls()[mark:] if c.method == "sendMessage" and c.params.get("chat_id") == USER]
    assert len(parts) >= 2, [len(p.params["text"]) for p in parts]
    assert [("reply_markup" in p.params) for p in parts] == [False] * (len(parts) - 1) + [True]
    assert sources.ok
    # ... and the double validated every message against Telegram's limits (no violations)


def test_sigterm_mid_stream_stops_cleanly_and_loses_nothing(tg: TelegramDouble, tmp_path: Path) -> None:
    proc = BotProcess(tg, tmp_path).start()
    proc.wait_ready()
    tg.slow_reply("sendMessage", seconds=1.5)
    ids = [tg.private_text(USER + i, "When was the CSTO created?") for i in range(3)]
    tg.wait_for("sendChatAction")
    assert proc.stop(signal.SIGTERM) == 0
    answered = {c.params["chat_id"] for c in tg.calls("sendMessage") if c.ok}
    assert answered == {USER + i for i in range(3)}
    assert all(u["update_id"] not in ids for u in tg.pending_updates())  # all confirmed
    assert "Traceback" not in proc.output()

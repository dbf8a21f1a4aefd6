"""The Telegram handlers in-process: real `Update`s through `Application.process_update`, a fake request.

What tests/e2e covers over real HTTP, except what needs a process (signals, restarts, sockets).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.core.answer import Core, Limits
from bot.tg.html import MAX_MESSAGE_UNITS
from tests.conftest import write_long_kb
from tests.support.fakebot import BOT_USERNAME, FakeRequest, InProcessBot, run
from tests.support.tghtml import telegram_parse

USER, OTHER, GROUP, ADMIN = 4242, 4343, -100777, 9999
Scenario = Callable[[InProcessBot, FakeRequest], Awaitable[None]]


def _validate(call: Any) -> None:
    """Every message the bot sends must be one Telegram accepts (checked by the test-only oracle)."""
    if call.params.get("parse_mode") == "HTML":
        telegram_parse(call.params["text"])
    else:
        assert len(call.params["text"].encode("utf-16-le")) // 2 <= MAX_MESSAGE_UNITS


def drive(core: Core, scenario: Scenario, **settings: Any) -> FakeRequest:
    async def go() -> FakeRequest:
        async with InProcessBot(core, **settings) as bot:
            bot.request.on_send = _validate
            await scenario(bot, bot.request)
            return bot.request

    result: FakeRequest = run(go())
    return result


def _buttons(call: Any) -> dict[str, str]:
    return {b["text"]: b["callback_data"] for row in call.params["reply_markup"]["inline_keyboard"] for b in row}


def test_commands_are_registered_in_both_languages(core: Core) -> None:
    async def scenario(bot: InProcessBot, tg: FakeRequest) -> None:
        pass

    tg = drive(core, scenario)
    calls = tg.of("setMyCommands")
    assert {c["command"] for c in calls[0].params["commands"]} == {"start", "help", "sources", "about", "ask"}
    assert [c.params.get("language_code") for c in calls] == [None, "ru"]


def test_start_offers_examples_that_answer_when_pressed(core: Core) -> None:
    async def scenario(bot: InProcessBot, tg: FakeRequest) -> None:
        await bot.send(bot.private(USER, "/start"))
        (welcome,) = tg.of("sendMessage", USER)
        data = list(_buttons(welcome).values())
        assert len(data) == 3 and "CSTO" in welcome.params["text"]
        mark = await bot.send(bot.callback(USER, USER, data[0]))
        assert tg.of("answerCallbackQuery", after=mark)
        (answer,) = tg.of("sendMessage", USER, after=mark)
        assert "<blockquote" in answer.params["text"]

    drive(core, scenario)


def test_private_question_gets_typing_quotes_and_buttons(core: Core) -> None:
    async def scenario(bot: InProcessBot, tg: FakeRequest) -> None:
        await bot.send(bot.private(USER, "When was the CSTO created?"))
        assert tg.of("sendChatAction", USER)[0].params["action"] == "typing"
        (msg,) = tg.of("sendMessage", USER)
        assert "2002" in msg.params["text"] and "<b>Sources</b>" in msg.params["text"]
        assert msg.params["parse_mode"] == "HTML" and msg.params["link_preview_options"]["is_disabled"] is True
        labels = list(_buttons(msg))
        assert any(x.startswith("Source [") for x in labels) and any(x.startswith("Cite [") for x in labels)

    drive(core, scenario)


def test_russian_user_gets_russian_words(core: Core) -> None:
    async def scenario(bot: InProcessBot, tg: FakeRequest) -> None:
        await bot.send(bot.private(USER, "/help", lang="ru"))
        texts = " ".join(c.params["text"] for c in tg.of("sendMessage", USER))
        assert "Команды" in texts and "Можно спросить, например" in texts

    drive(core, scenario)


def test_group_answers_ask_mentions_and_replies_and_is_silent_otherwise(core: Core) -> None:
    async def scenario(bot: InProcessBot, tg: FakeRequest) -> None:
        await bot.send(bot.group(GROUP, USER, "what do you all think about lunch?"))
        assert tg.calls[-1].method == "setMyCommands"  # silence: not even "typing…"
        await bot.send(bot.group(GROUP, USER, f"@{BOT_USERNAME} When was the CSTO created?"))
        assert "2002" in tg.of("sendMessage", GROUP)[-1].params["text"]
        await bot.send(bot.group(GROUP, USER, f"/ask@{BOT_USERNAME} What happened in Kazakhstan in January 2022?"))
        assert "2022" in tg.of("sendMessage", GROUP)[-1].params["text"]
        await bot.send(bot.group(GROUP, USER, "and the SCO compared to the CSTO?", reply_to_bot=True))
        replies = tg.of("sendMessage", GROUP)
        assert len(replies) == 3 and all("reply_parameters" in c.params for c in replies)

    drive(core, scenario)


def test_sticker_unknown_command_and_the_other_commands(core: Core) -> None:
    async def scenario(bot: InProcessBot, tg: FakeRequest) -> None:
        await bot.send(bot.private(USER, None, sticker={"file_id": "s", "file_unique_id": "s", "width": 1, "height": 1,
                                                        "is_animated": False, "is_video": False, "type": "regular"}))  # fmt: skip
        assert "as text" in tg.of("sendMessage", USER)[-1].params["text"]
        for command, expect in (("/help", "/sources"), ("/sources", "Samokhin I.R."), ("/about", "passages"), ("/nope", "/help")):
            mark = await bot.send(bot.private(USER, command))
            assert expect in " ".join(c.params["text"] for c in tg.of("sendMessage", USER, after=mark)), command

    drive(core, scenario)


def test_buttons_source_cite_more_expired_and_wrong_chat(core: Core) -> None:
    async def scenario(bot: InProcessBot, tg: FakeRequest) -> None:
        await bot.send(bot.private(USER, "How does the CSTO operate under sanctions?"))
        buttons = _buttons(tg.of("sendMessage", USER)[-1])
        source = next(v for k, v in buttons.items() if k.startswith("Source ["))
        cite = next(v for k, v in buttons.items() if k.startswith("Cite ["))
        for data, expect in ((buttons["More ▸"], "<blockquote"), (source, "<blockquote"), (cite, "<code>")):
            mark = await bot.send(bot.callback(USER, USER, data))
            assert tg.of("answerCallbackQuery", after=mark)[0].params.get("text") is None
            assert expect in tg.of("sendMessage", USER, after=mark)[0].params["text"]
        for user, chat, data in ((USER, USER, "m:doesnotexist"), (OTHER, OTHER, source), (USER, GROUP, cite)):
            mark = await bot.send(bot.callback(user, chat, data))
            (refusal,) = tg.of("answerCallbackQuery", after=mark)
            assert "expired" in refusal.params["text"] and refusal.params["show_alert"] is True
            assert not tg.of("sendMessage", after=mark)

    drive(core, scenario)


def test_inline_query_offers_quotations(core: Core) -> None:
    async def scenario(bot: InProcessBot, tg: FakeRequest) -> None:
        await bot.send(bot.inline(USER, "CSTO members"))
        (call,) = tg.of("answerInlineQuery")
        results = call.params["results"]
        assert results and all(r["input_message_content"]["parse_mode"] == "HTML" for r in results)
        for r in results:
            telegram_parse(r["input_message_content"]["message_text"])
        assert "<blockquote>" in results[0]["input_message_content"]["message_text"]

    drive(core, scenario)


def test_a_message_flood_gets_one_warning_then_silence(core: Core) -> None:
    async def scenario(bot: InProcessBot, tg: FakeRequest) -> None:
        for i in range(8):
            await bot.send(bot.private(USER, f"When was the CSTO created? {i}"))
        texts = [c.params["text"] for c in tg.of("sendMessage", USER)]
        assert len(texts) == 4 and sum("faster than I can answer" in t for t in texts) == 1
        await bot.send(bot.private(OTHER, "When was the CSTO created?"))  # others are served on
        assert "2002" in tg.of("sendMessage", OTHER)[-1].params["text"]

    drive(core, scenario, rate_limit_per_minute=3)


def test_an_inline_flood_is_limited_by_the_same_quota(core: Core) -> None:
    async def scenario(bot: InProcessBot, tg: FakeRequest) -> None:
        for _ in range(6):
            await bot.send(bot.inline(USER, "CSTO members"))
        answered = tg.of("answerInlineQuery")
        assert [bool(c.params["results"]) for c in answered] == [True] * 3 + [False] * 3
        assert "faster than I can answer" in answered[3].params["button"]["text"]
        assert all("button" not in c.params for c in answered[4:])  # warned once, then empty
        await bot.send(bot.private(USER, "When was the CSTO created?"))  # one quota for every way of asking
        assert not tg.of("sendMessage", USER)

    drive(core, scenario, rate_limit_per_minute=3)


def test_refused_html_is_sent_again_as_plain_text(core: Core, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(bot: InProcessBot, tg: FakeRequest) -> None:
        tg.refuse_html = 1
        await bot.send(bot.private(USER, "When was the CSTO created?"))
        first, second = tg.of("sendMessage", USER)
        assert first.params["parse_mode"] == "HTML" and first.result is None  # refused
        assert (
            "parse_mode" not in second.params and "2002" in second.params["text"] and "<blockquote" not in second.params["text"]
        )
        assert second.params["reply_markup"] == first.params["reply_markup"]

    drive(core, scenario)
    assert "sending plain text instead" in caplog.text


def test_a_long_answer_is_split_with_the_buttons_under_the_last_part(tmp_path: Path) -> None:
    core = Core.load(write_long_kb(tmp_path / "kb"), Limits(max_quotes=3, max_quote_chars=3000, max_answer_chars=3500))

    async def scenario(bot: InProcessBot, tg: FakeRequest) -> None:
        await bot.send(bot.private(USER, "How did the CSTO and Kazakhstan cooperate on security under sanctions?"))
        parts = tg.of("sendMessage", USER)
        assert len(parts) >= 2, [len(p.params["text"]) for p in parts]  # a split happened
        assert ["reply_markup" in p.params for p in parts] == [False] * (len(parts) - 1) + [True]
        assert "reply_parameters" not in parts[1].params

    drive(core, scenario)


def test_the_allowlist_refuses_others_politely_everywhere(core: Core) -> None:
    async def scenario(bot: InProcessBot, tg: FakeRequest) -> None:
        await bot.send(bot.private(OTHER, "When was the CSTO created?"))
        await bot.send(bot.private(OTHER, "/start"))
        await bot.send(bot.callback(OTHER, OTHER, "m:x"))
        await bot.send(bot.inline(OTHER, "CSTO members"))
        await bot.send(bot.group(GROUP, OTHER, f"@{BOT_USERNAME} When was the CSTO created?"))
        assert [c.params["text"] for c in tg.of("sendMessage")] == ["Sorry, this bot is private."] * 2
        assert tg.of("answerCallbackQuery")[0].params["text"] == "Sorry, this bot is private."
        assert tg.of("answerInlineQuery")[0].params["results"] == []
        assert not tg.of("sendChatAction")
        mark = await bot.send(bot.private(USER, "When was the CSTO created?"))
        assert "2002" in tg.of("sendMessage", USER, after=mark)[0].params["text"]

    drive(core, scenario, allowed_ids={USER})


def test_reload_is_for_admins_only(core: Core) -> None:
    async def scenario(bot: InProcessBot, tg: FakeRequest) -> None:
        await bot.send(bot.private(USER, "/reload"))
        assert tg.of("sendMessage", USER)[-1].params["text"] == "Only administrators can do that."
        await bot.send(bot.private(ADMIN, "/reload"))
        assert tg.of("sendMessage", ADMIN)[-1].params["text"].startswith("Knowledge reloaded:")

    drive(core, scenario, admin_ids={ADMIN})

"""The Telegram double, driven over real HTTP by python-telegram-bot itself."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    MessageEntity,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, ContextTypes, MessageHandler, filters

from tests.support.tgdouble import TelegramDouble, text_entities
from tests.support.wait import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def tg() -> Iterator[TelegramDouble]:
    with TelegramDouble() as double:
        yield double


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def make_bot(tg: TelegramDouble, token: str | None = None) -> Bot:
    return Bot(token or tg.token, base_url=tg.base_url)


def test_get_me_and_the_token(tg: TelegramDouble) -> None:
    async def go() -> None:
        async with make_bot(tg) as bot:
            me = await bot.get_me()
            assert (me.username, me.can_join_groups, me.supports_inline_queries) == ("csto_test_bot", True, True)
            assert me.id == int(tg.token.split(":")[0])
        with pytest.raises(InvalidToken):
            async with make_bot(tg, token="1:wrong") as bot:
                await bot.get_me()

    run(go())
    assert [c.status for c in tg.calls("getMe")] == [200, 200, 401]
    assert [v.description for v in tg.violations] == ["Unauthorized"]
    response = httpx.post(f"{tg.base_url}{tg.token}/sendTelepathy")
    assert (response.status_code, response.json()) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})


def test_send_message_with_html_keyboard_and_link_preview(tg: TelegramDouble) -> None:
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("More", callback_data="more:1"), InlineKeyboardButton("Site", url="https://example.org")]]
    )

    async def go() -> None:
        async with make_bot(tg) as bot:
            first = await bot.send_message(
                42,
                "<b>Hi</b> &amp; 👍 <i>there</i>",
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                disable_notification=True,
            )
            assert first.text == "Hi & 👍 there"
            assert first.entities == (MessageEntity("bold", 0, 2), MessageEntity("italic", 8, 5))
            assert first.reply_markup == keyboard
            assert first.from_user is not None and first.from_user.is_bot
            second = await bot.send_message(42, "123", reply_to_message_id=first.message_id)
            assert (first.message_id, second.message_id) == (1, 2)
            assert second.text == "123" and second.reply_to_message is not None
            assert (await bot.send_message(-100123, "group")).message_id == 1  # ids count per chat

    run(go())
    params = tg.calls("sendMessage")[0].params
    # PTB form-encodes: strings as they are, everything else as JSON; the double decodes them back.
    assert params["chat_id"] == 42 and params["disable_notification"] is True
    assert params["reply_markup"]["inline_keyboard"][0][0] == {"text": "More", "callback_data": "more:1"}
    assert params["link_preview_options"] == {"is_disabled": True}
    assert tg.calls("sendMessage")[1].params["text"] == "123"  # text stays text even when it looks like JSON
    (shown, _) = tg.sent_messages(42)
    assert shown.html == "<b>Hi</b> &amp; 👍 <i>there</i>" and shown.reply_markup is not None
    assert tg.violations == []


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (
            {"text": "<b>bold</i>", "parse_mode": "HTML"},
            'Can\'t parse entities: unmatched end tag at byte offset 7, expected "</b>", found "</i>"',
        ),
        ({"text": "<p>x</p>", "parse_mode": "HTML"}, 'Can\'t parse entities: unsupported start tag "p" at byte offset 0'),
        ({"text": "AT&T", "parse_mode": "HTML"}, "Can't parse entities: unsupported html entity"),
        ({"text": "x" * 4097}, "Message is too long"),
        ({"text": "<b> </b>", "parse_mode": "HTML"}, "Message text is empty"),
        (
            {"text": "x", "reply_markup": InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data="d" * 65)]])},
            "Button_data_invalid",
        ),
        ({"text": "x", "reply_to_message_id": 999}, "Message to be replied not found"),
    ],
)
def test_invalid_messages_get_telegram_errors_and_are_recorded(tg: TelegramDouble, kwargs: dict[str, Any], error: str) -> None:
    async def go() -> None:
        async with make_bot(tg) as bot:
            with pytest.raises(BadRequest) as info:
                await bot.send_message(42, **kwargs)
            assert str(info.value).startswith(error)  # PTB drops "Bad Request: " and capitalize()s the rest

    run(go())
    assert len(tg.violations) == 1 and tg.violations[0].method == "sendMessage"
    assert tg.violations[0].description.startswith("Bad Request: ")
    assert tg.sent_messages() == []


def test_more_than_100_entities_is_accepted_but_recorded(tg: TelegramDouble) -> None:
    async def go() -> None:
        async with make_bot(tg) as bot:
            sent = await bot.send_message(8, " ".join(f"<b>{k}</b>" for k in range(101)), parse_mode="HTML")
            assert len(sent.entities) == 100  # Telegram silently drops the formatting after the 100th

    run(go())
    assert [v.description for v in tg.violations] == ["101 entities: Telegram keeps the formatting of the first 100 only"]


def test_update_builders_parse_in_ptb(tg: TelegramDouble) -> None:
    async def go() -> None:
        async with make_bot(tg) as bot:
            answer = await bot.send_message(-42, "an answer")
            tg.group_text(-42, 6, "and why?", reply_to_bot=True)
            tg.sticker(6, -42, emoji="🔥")
            tg.photo(6, caption="see /help")
            reply, sticker, photo = await bot.get_updates(timeout=0)
            replied = reply.message.reply_to_message
            assert replied is not None and replied.message_id == answer.message_id
            assert replied.from_user is not None and replied.from_user.id == bot.id
            assert reply.message.chat.type == "group" and reply.message.message_id == 2
            assert sticker.message.sticker is not None and sticker.message.sticker.emoji == "🔥"
            assert photo.message.photo[-1].width == 800 and photo.message.caption == "see /help"
            assert photo.message.caption_entities[0].type == "bot_command"
            assert photo.message.chat.type == "private"

    run(go())
    assert tg.violations == []


def test_edits_and_message_not_modified(tg: TelegramDouble) -> None:
    async def go() -> None:
        async with make_bot(tg) as bot:
            sent = await bot.send_message(7, "draft")
            edited = await bot.edit_message_text("<b>final</b>", chat_id=7, message_id=sent.message_id, parse_mode="HTML")
            assert edited.text == "final" and edited.edit_date is not None
            with pytest.raises(BadRequest, match="Message is not modified"):
                await bot.edit_message_text("<b>final</b>", chat_id=7, message_id=sent.message_id, parse_mode="HTML")
            with pytest.raises(BadRequest, match="Message to edit not found"):
                await bot.edit_message_text("x", chat_id=7, message_id=99)

    run(go())
    (shown,) = tg.sent_messages(7)
    assert (shown.text, shown.entities, shown.edits) == ("final", [{"type": "bold", "offset": 0, "length": 5}], 1)
    assert len(tg.violations) == 2


@pytest.mark.slow  # waits out a real long poll
def test_get_updates_offsets_limit_and_long_poll(tg: TelegramDouble) -> None:
    first = tg.command(5, "/start")
    second = tg.group_text(-100500, 6, "👍 @csto_test_bot /ask@csto_test_bot what?")

    async def go() -> None:
        async with make_bot(tg) as bot:
            updates = await bot.get_updates(timeout=0)
            assert [u.update_id for u in updates] == [first, second]
            assert updates[0].message.text == "/start" and updates[0].message.chat.type == "private"
            group = updates[1].message
            assert [(e.type, e.offset, e.length) for e in group.entities] == [
                ("mention", 3, 14),
                ("bot_command", 18, 18),
            ]  # 👍 is 2 UTF-16 units
            assert [u.update_id for u in await bot.get_updates(limit=1, timeout=0)] == [first]
            assert [u.update_id for u in await bot.get_updates(offset=second, timeout=0)] == [second]
            assert await bot.get_updates(offset=second + 1, timeout=0) == ()
            assert await bot.get_updates(timeout=0) == ()  # confirmed updates are gone for good
            started = time.monotonic()
            assert await bot.get_updates(timeout=1) == ()  # an empty long poll lasts its timeout (at least)
            assert time.monotonic() - started >= 0.9
            threading.Timer(0.3, tg.private_text, args=(5, "later")).start()
            # ... but an update ends it: a poll left to its own 60 s would be cancelled at 30 (a check of
            # which way the poll ended, not of speed).
            (late,) = await asyncio.wait_for(bot.get_updates(timeout=60, read_timeout=90), timeout=30)
            assert late.message.text == "later"
            tg.inline_query(5, "csto")
            tg.callback(5, 5, 1, "more:1")
            (only,) = await bot.get_updates(offset=late.update_id + 1, timeout=0, allowed_updates=["callback_query"])
            assert only.callback_query is not None and only.callback_query.data == "more:1"

    run(go())
    assert tg.pending_updates()[0]["callback_query"]["data"] == "more:1"
    assert tg.violations == []


def test_second_poller_conflicts_with_the_first(tg: TelegramDouble) -> None:
    async def go() -> None:
        async with make_bot(tg) as one, make_bot(tg) as two:
            waiting = asyncio.create_task(one.get_updates(timeout=5))
            # The first poll must be waiting at the double when the second comes. The double records a
            # long poll only when it ends, so there is no event to wait on: a fixed pause.
            await asyncio.sleep(0.3)
            assert await two.get_updates(timeout=0) == ()
            with pytest.raises(Conflict, match="terminated by other getUpdates request"):
                await waiting

    run(go())
    assert [v.description.split(";")[0] for v in tg.violations] == ["Conflict: terminated by other getUpdates request"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PTB 22 warns about RetryAfter.retry_after's type
def test_injected_faults(tg: TelegramDouble) -> None:
    tg.fail_with_429("sendMessage", retry_after=3)
    tg.fail_with_error("sendMessage", status=500)
    tg.drop_connection("sendChatAction")
    tg.slow_reply("getMyCommands", seconds=0.6)
    tg.fail_parse_entities("sendMessage")
    tg.cut_long_poll()
    tg.drop_connection("sendMessage", after_processing=True)

    async def go() -> None:
        async with make_bot(tg) as bot:
            with pytest.raises(RetryAfter, match="Retry in 3 seconds"):
                await bot.send_message(1, "x")
            with pytest.raises(NetworkError, match="Internal Server Error"):
                await bot.send_message(1, "x")
            tg.fail_with_error("getMe", status=502)  # after `async with bot`, which calls getMe itself
            with pytest.raises(NetworkError, match="Bad Gateway"):
                await bot.get_me()
            with pytest.raises(NetworkError):
                await bot.send_chat_action(1, "typing")
            with pytest.raises(TimedOut):
                await bot.get_my_commands(read_timeout=0.2)
            with pytest.raises(BadRequest, match="Can't parse entities"):
                await bot.send_message(1, "fine")
            tg.private_text(1, "pending")
            assert await bot.get_updates(timeout=5) == ()  # cut short despite a pending update
            with pytest.raises(NetworkError):
                await bot.send_message(1, "lost answer")  # ... yet delivered
            assert (await bot.send_message(1, "ok")).message_id == 3

    run(go())
    assert [c.fault for c in tg.calls("sendMessage")] == ["429", "error", "parse_error", "drop", None]
    assert [m.text for m in tg.sent_messages(1)] == ["lost answer", "ok"]
    assert tg.violations == []  # injected faults are not the bot's fault


def test_callbacks_inline_queries_commands_and_webhook_info(tg: TelegramDouble) -> None:
    async def go() -> None:
        async with make_bot(tg) as bot:
            sent = await bot.send_message(
                9, "question?", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="m")]])
            )
            tg.callback(9, 9, sent.message_id, "m")
            tg.inline_query(9, "csto")
            callback, inline = await bot.get_updates(timeout=0)
            assert callback.callback_query.message.text == "question?"
            assert await callback.callback_query.answer("ok")
            with pytest.raises(BadRequest, match="Query is too old"):
                await callback.callback_query.answer("twice")
            article = InlineQueryResultArticle("1", "CSTO", InputTextMessageContent("<b>CSTO</b>", parse_mode="HTML"))
            assert await inline.inline_query.answer([article])
            assert await bot.edit_message_reply_markup(9, sent.message_id, reply_markup=None)
            assert await bot.send_chat_action(9, "typing")
            assert await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
            assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
            assert await bot.delete_my_commands()
            assert await bot.get_my_commands() == ()
            info = await bot.get_webhook_info()
            assert info.url == "" and info.pending_update_count == 2
            assert await bot.delete_webhook(drop_pending_updates=True)
            assert (await bot.get_webhook_info()).pending_update_count == 0
            assert await bot.log_out() and await bot.close()

    run(go())
    (shown,) = tg.sent_messages(9)
    assert shown.reply_markup is None and shown.edits == 1
    assert [v.description for v in tg.violations] == [
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    ]


class _Hook(BaseHTTPRequestHandler):
    received: list[tuple[str | None, dict[str, Any]]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.headers.get("X-Telegram-Bot-Api-Secret-Token"), json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def test_webhook_delivery(tg: TelegramDouble) -> None:
    _Hook.received = []
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{hook.server_address[1]}/hook"
    try:
        manual = tg.private_text(3, "manual")
        assert tg.deliver_webhook(url, manual, secret_token="s3cret") == 200
        assert tg.pending_updates() == []

        async def go() -> None:
            async with make_bot(tg) as bot:
                assert await bot.set_webhook(url, secret_token="s3cret")
                tg.private_text(3, "automatic")
                with pytest.raises(Conflict, match="webhook is active"):
                    await bot.get_updates(timeout=0)

        run(go())
        wait_until(lambda: len(_Hook.received) >= 2, timeout=5)
        assert [(secret, u["message"]["text"]) for secret, u in _Hook.received] == [("s3cret", "manual"), ("s3cret", "automatic")]
    finally:
        hook.shutdown()
        hook.server_close()


def test_raw_json_and_multipart_requests(tg: TelegramDouble) -> None:
    url = f"{tg.base_url}{tg.token}"
    answer = httpx.post(f"{url}/sendMessage", json={"chat_id": 4, "text": "<i>json</i>", "parse_mode": "HTML"})
    assert answer.json()["result"]["entities"] == [{"type": "italic", "offset": 0, "length": 4}]
    answer = httpx.post(
        f"{url}/sendMessage", data={"chat_id": "4", "text": "multi"}, files={"thumbnail": ("t.jpg", b"\xff\xd8", "image/jpeg")}
    )
    assert answer.json()["result"]["text"] == "multi"
    assert tg.calls("sendMessage")[1].params["thumbnail"] == {"filename": "t.jpg", "size": 2, "content_type": "image/jpeg"}
    assert httpx.get(f"{url}/getMe").json()["result"]["username"] == "csto_test_bot"
    assert text_entities("/start@csto_test_bot hi @someone") == [
        {"type": "bot_command", "offset": 0, "length": 20},
        {"type": "mention", "offset": 24, "length": 8},
    ]


def test_application_polling_echo(tg: TelegramDouble) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html(f"<b>echo:</b> {update.effective_message.text}")

    async def go() -> None:
        app = Application.builder().token(tg.token).base_url(tg.base_url).build()
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=1)
            tg.private_text(77, "hello there")
            call = await tg.async_wait_for("sendMessage", lambda c: c.params["chat_id"] == 77, timeout=10)
            assert call.result["text"] == "echo: hello there"
            await app.updater.stop()
            await app.stop()

    run(go())
    assert [m.text for m in tg.sent_messages(77)] == ["echo: hello there"]
    assert tg.pending_updates() == []  # PTB confirmed the update on shutdown
    assert tg.calls("deleteWebhook")  # PTB's bootstrap
    assert tg.violations == []


SUBPROCESS_BOT = """
import asyncio, os
from telegram import Bot

async def main():
    bot = Bot(os.environ["TELEGRAM_BOT_TOKEN"], base_url=os.environ["TELEGRAM_API_BASE_URL"])
    async with bot:
        (update,) = await bot.get_updates(timeout=5)
        await bot.send_message(update.message.chat.id, "pong: " + update.message.text)
        await bot.get_updates(offset=update.update_id + 1, timeout=0)

asyncio.run(main())
"""


def test_a_subprocess_bot_pointed_at_the_double_by_environment(tg: TelegramDouble) -> None:
    tg.private_text(11, "ping")
    env = {**os.environ, **tg.env()}
    done = subprocess.run([sys.executable, "-c", SUBPROCESS_BOT], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [m.text for m in tg.sent_messages(11)] == ["pong: ping"]
    assert tg.pending_updates() == [] and tg.violations == []

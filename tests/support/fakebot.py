"""The Telegram adapter in-process: real PTB `Application` and `Update` objects, a fake HTTP layer.

`FakeRequest` is a `telegram.request.BaseRequest` (PTB's own extension point for the HTTP client):
it records every Bot API call and answers with canned JSON, so `Application.process_update` runs the
real handlers without a socket. `InProcessBot` builds the application like `csto-bot telegram` does
and turns JSON into `Update` objects with `Update.de_json`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr
from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.config import Settings
from bot.core.answer import Core
from bot.tg.app import build_application, register_commands
from bot.tg.reload import CoreHolder

BOT_ID, BOT_USERNAME = 777000, "csto_test_bot"
TOKEN = f"{BOT_ID}:AAHfakefakefakefakefakefakefakefake12"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    result: Any = None


@dataclass
class FakeRequest(BaseRequest):
    """Records Bot API calls; answers each like Telegram would (a sent message gets an id)."""

    calls: list[Call] = field(default_factory=list)
    refuse_html: int = 0  # the next n HTML messages are refused with "can't parse entities"
    on_send: Callable[[Call], None] | None = None  # sees every sendMessage (e.g. to validate it)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        call = Call(name, params)
        if name == "sendMessage" and params.get("parse_mode") == "HTML" and self.refuse_html > 0:
            self.refuse_html -= 1
            self.calls.append(call)
            return 400, _json({"ok": False, "error_code": 400, "description": "Bad Request: can't parse entities: test"})
        if name == "sendMessage" and self.on_send is not None:
            self.on_send(call)
        call.result = self._result(name, params)
        self.calls.append(call)
        return 200, _json({"ok": True, "result": call.result})

    def _result(self, name: str, p: dict[str, Any]) -> Any:
        if name == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "CSTO test", "username": BOT_USERNAME,
                    "can_join_groups": True, "supports_inline_queries": True}  # fmt: skip
        if name == "sendMessage":
            chat = int(p["chat_id"])
            return {"message_id": next(self._ids), "date": 0, "text": p["text"],
                    "chat": {"id": chat, "type": "private" if chat > 0 else "supergroup"},
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "CSTO test"}}  # fmt: skip
        return True  # sendChatAction, answerCallbackQuery, answerInlineQuery, setMyCommands, ...

    def of(self, method: str, chat: int | None = None, after: int = 0) -> list[Call]:
        return [c for c in self.calls[after:] if c.method == method and (chat is None or c.params.get("chat_id") == chat)]


def _json(data: Any) -> bytes:
    return json.dumps(data).encode()


class InProcessBot:
    """The bot's application over a FakeRequest; `send(update_json)` handles one update to the end."""

    def __init__(self, core: Core, **settings: Any) -> None:
        self.request = FakeRequest()
        self.settings = Settings(telegram_bot_token=SecretStr(TOKEN), _env_file=None, **settings)  # type: ignore[call-arg]
        self.holder = CoreHolder(core, lambda: core)
        self.app: Application = build_application(self.settings, self.holder, self.request)
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)

    async def __aenter__(self) -> InProcessBot:
        await self.app.initialize()
        await register_commands(self.app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.app.shutdown()

    async def send(self, data: dict[str, Any]) -> int:
        """Process one update (Bot API JSON without update_id); returns the index of the first call it made."""
        mark = len(self.request.calls)
        update = Update.de_json({"update_id": next(self._update_ids), **data}, self.app.bot)
        assert update is not None
        await self.app.process_update(update)
        return mark

    # Builders of update JSON as Telegram sends it ------------------------------------------------

    def _message(self, chat: dict[str, Any], user_id: int, text: str | None, **extra: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "date": 0, "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": f"U{user_id}", "language_code": extra.pop("lang", "en")},
        }  # fmt: skip
        if text is not None:
            message["text"] = text
            entities = []
            if text.startswith("/"):
                entities.append({"type": "bot_command", "offset": 0, "length": len(text.split()[0])})
            at = text.find("@" + BOT_USERNAME)
            if at >= 0 and not text.startswith("/"):
                entities.append({"type": "mention", "offset": at, "length": len(BOT_USERNAME) + 1})
            if entities:
                message["entities"] = entities
        message.update(extra)
        return {"message": message}

    def private(self, user_id: int, text: str | None, **extra: Any) -> dict[str, Any]:
        return self._message({"id": user_id, "type": "private", "first_name": f"U{user_id}"}, user_id, text, **extra)

    def group(self, chat_id: int, user_id: int, text: str, *, reply_to_bot: bool = False) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if reply_to_bot:
            extra["reply_to_message"] = {
                "message_id": 1, "date": 0, "chat": {"id": chat_id, "type": "supergroup", "title": "G"}, "text": "an answer",
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "CSTO test", "username": BOT_USERNAME},
            }  # fmt: skip
        return self._message({"id": chat_id, "type": "supergroup", "title": "G"}, user_id, text, **extra)

    def callback(self, user_id: int, chat_id: int, data: str, message_id: int = 1) -> dict[str, Any]:
        chat_type = "private" if chat_id > 0 else "supergroup"
        return {
            "callback_query": {
                "id": str(next(self._message_ids)), "chat_instance": "ci", "data": data,
                "from": {"id": user_id, "is_bot": False, "first_name": f"U{user_id}"},
                "message": {"message_id": message_id, "date": 0, "chat": {"id": chat_id, "type": chat_type}, "text": "x",
                            "from": {"id": BOT_ID, "is_bot": True, "first_name": "CSTO test"}},
            }
        }  # fmt: skip

    def inline(self, user_id: int, query: str) -> dict[str, Any]:
        return {
            "inline_query": {"id": str(next(self._message_ids)), "query": query, "offset": "", "chat_type": "private",
                             "from": {"id": user_id, "is_bot": False, "first_name": f"U{user_id}"}}
        }  # fmt: skip


def run(coro: Any) -> Any:
    return asyncio.run(coro)

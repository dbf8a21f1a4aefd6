"""A Telegram Bot API double for tests: real HTTP on 127.0.0.1 that answers the way Telegram does.

    with TelegramDouble() as tg:                       # or tg = TelegramDouble().start() ... tg.stop()
        app = Application.builder().token(tg.token).base_url(tg.base_url).build()
        # or a subprocess: env={**os.environ, **tg.env()}  (TELEGRAM_BOT_TOKEN, TELEGRAM_API_BASE_URL)
        tg.private_text(42, "hello")
        call = tg.wait_for("sendMessage", lambda c: c.params["chat_id"] == 42)
        assert tg.violations == []

Requests arrive as POST /bot<TOKEN>/<method>; PTB sends parameters form-encoded (strings as they are,
everything else JSON-encoded) or multipart when there are files; JSON bodies and query strings work too.
Every call is recorded, faults can be injected per method, and everything the bot sends is checked
against Telegram's rules: refused requests get Telegram's error AND land in `violations`.
"""

from __future__ import annotations

import asyncio
import email.parser
import email.policy
import itertools
import json
import re
import select
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.tghtml import MAX_ENTITIES, HtmlRefused, telegram_text_and_entities
from tests.support.tghtml import MAX_UNITS as MAX_MESSAGE_UNITS

DEFAULT_TOKEN = "7000000001:AAHcsto-double-test-token-abcdefghijk"
ALL_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "message_reaction",
        "message_reaction_count",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
# What Telegram sends when allowed_updates was never given (or given as []).
DEFAULT_ALLOWED = ALL_UPDATE_TYPES - {"chat_member", "message_reaction", "message_reaction_count"}
# Parameters whose value is text even when it looks like JSON (a text of "123" stays a string).
STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "query",
        "parse_mode",
        "url",
        "secret_token",
        "callback_query_id",
        "inline_query_id",
        "next_offset",
        "language_code",
        "action",
        "description",
        "short_description",
        "name",
        "title",
        "emoji",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "inline_message_id",
        "switch_pm_text",
        "switch_pm_parameter",
        "question",
        "explanation",
        "sticker",
        "photo",
        "document",
        "video",
        "audio",
        "voice",
    }
)
METHODS = (
    "getMe",
    "getUpdates",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "answerInlineQuery",
    "sendChatAction",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "deleteWebhook",
    "setWebhook",
    "getWebhookInfo",
    "close",
    "logOut",
)
BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BAD_GATEWAY_PAGE = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
    b"Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n"
)
_COMMAND = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>@])")
_MENTION = re.compile(r"(?<!\w)@[A-Za-z0-9_]{5,32}(?!\w)")


class _ClientGone(Exception):
    """The client closed the connection while its long poll was waiting."""


class ApiError(Exception):
    """A refusal the double answers with, as Telegram would."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


@dataclass
class Call:
    """One API request as the double saw and answered it."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    result: Any = None
    description: str | None = None
    fault: str | None = None

    @property
    def ok(self) -> bool:
        """Whether Telegram answered {"ok": true}."""
        return self.status == 200 and self.fault is None


@dataclass
class Violation:
    """A request that broke Telegram's rules (refused, or accepted with silent damage)."""

    method: str
    description: str
    params: dict[str, Any]


@dataclass
class SentMessage:
    """A message of the bot as the chat shows it now (after any edits)."""

    chat_id: int
    message_id: int
    text: str
    entities: list[dict[str, Any]]
    html: str | None
    reply_markup: dict[str, Any] | None
    message: dict[str, Any]
    edits: int = 0


@dataclass
class _Fault:
    method: str | None  # lower-case method name, None for any
    kind: str  # "429", "error", "slow", "drop", "cut_poll", "parse_error"
    times: int
    status: int = 500
    retry_after: int = 1
    seconds: float = 0.0
    after_processing: bool = False
    description: str = ""


@dataclass
class _Stored:
    chat_id: int
    message: dict[str, Any]
    from_bot: bool
    sent: SentMessage | None = None


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def text_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command and mention entities Telegram detects in a user's text (UTF-16 offsets)."""
    found = []
    for kind, pattern in (("bot_command", _COMMAND), ("mention", _MENTION)):
        for m in pattern.finditer(text):
            found.append({"type": kind, "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group())})
    return sorted(found, key=lambda e: e["offset"])


def decode_param(name: str, value: Any) -> Any:
    """A form value as the Python object Telegram would read (JSON for non-text parameters)."""
    if not isinstance(value, str) or name in STRING_PARAMS:
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return decoded if isinstance(decoded, dict | list | int | float | bool) else value


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default of 5 resets connections when a bot opens many at once
    allow_reuse_address = True
    double: TelegramDouble


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.double._connections.add(self.connection)

    def finish(self) -> None:
        self.server.double._connections.discard(self.connection)
        super().finish()

    def do_POST(self) -> None:  # noqa: N802
        self.server.double._serve(self)

    do_GET = do_POST  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class TelegramDouble:
    """A fake Bot API server on 127.0.0.1 in a background thread; thread-safe test API."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        username: str = "csto_test_bot",
        first_name: str = "CSTO Test Bot",
        strict_html: bool = True,
        callback_ttl: float = 15.0,
        webhook_retry_delay: float = 0.2,
        first_update_id: int = 100001,
    ) -> None:
        self.token = token
        self.strict_html = strict_html
        self.callback_ttl = callback_ttl
        self.webhook_retry_delay = webhook_retry_delay
        bot_id = int(token.split(":")[0]) if token.split(":")[0].isdigit() else 7000000001
        self.bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.port = 0
        self.violations: list[Violation] = []
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status or 0 if unreachable)
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._calls: list[Call] = []
        self._faults: list[_Fault] = []
        self._pending: list[dict[str, Any]] = []
        self._updates: dict[int, dict[str, Any]] = {}
        self._update_ids = itertools.count(first_update_id)  # 1: a fresh self-hosted server
        self._confirmed_below = 0  # the highest offset a getUpdates has confirmed up to
        self._query_ids = itertools.count(1)
        self._allowed: frozenset[str] = DEFAULT_ALLOWED
        self._poll_generation = 0
        self._chats: dict[int, dict[str, Any]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], _Stored] = {}
        self._sent: list[SentMessage] = []
        self._callbacks: dict[str, float] = {}
        self._inline_queries: dict[str, float] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._webhook: dict[str, Any] = {"url": "", "secret_token": None, "last_error_date": None, "last_error_message": None}
        self._connections: set[socket.socket] = set()
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = False
        self._handlers: dict[str, Callable[[dict[str, Any], _Handler], Any]] = {
            name.lower(): getattr(self, f"_api_{name}") for name in METHODS
        }
        self._canonical = {name.lower(): name for name in METHODS}

    # ---------------------------------------------------------------------------------------- lifecycle

    def start(self) -> TelegramDouble:
        """Listen on a free port of 127.0.0.1 and serve in background threads."""
        self._stopping = False
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.double = self
        self.port = self._server.server_address[1]
        self._threads = [
            threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="tgdouble-http", daemon=True
            ),
            threading.Thread(target=self._webhook_loop, name="tgdouble-webhook", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake long polls and close every open connection."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            for conn in list(self._connections):
                _shutdown(conn)
        for thread in self._threads:
            thread.join(timeout=5)
        self._server = None

    def start_over(self) -> None:
        """What a self-hosted server restarted with a new state directory does to a bot that keeps
        running: update ids start again at 1, nothing is pending, and every open connection (the bot's
        long poll) is cut. Messages sent before stay where they are."""
        with self._cond:
            self._update_ids = itertools.count(1)
            self._confirmed_below = 0
            self._pending = []
            self._cond.notify_all()
            connections = list(self._connections)
        for conn in connections:
            _shutdown(conn)

    def __enter__(self) -> TelegramDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """What to give PTB's base_url (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    def env(self) -> dict[str, str]:
        """Environment variables that point a subprocess bot at this double."""
        return {"TELEGRAM_BOT_TOKEN": self.token, "TELEGRAM_API_BASE_URL": self.base_url}

    # ---------------------------------------------------------------------------------------- incoming updates

    def queue_update(self, update: dict[str, Any]) -> int:
        """Queue any update JSON (update_id assigned if missing) for getUpdates or the webhook."""
        with self._cond:
            update = dict(update)
            update.setdefault("update_id", next(self._update_ids))
            self._pending.append(update)
            self._updates[update["update_id"]] = update
            self._cond.notify_all()
            return int(update["update_id"])

    def update(self, update_id: int) -> dict[str, Any]:
        """The JSON of a queued update."""
        with self._lock:
            return self._updates[update_id]

    def private_text(
        self,
        user_id: int,
        text: str,
        *,
        entities: list[dict[str, Any]] | None = None,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str = "en",
        reply_to_message_id: int | None = None,
    ) -> int:
        """Queue a text message from a user in their private chat with the bot."""
        user = self._user(user_id, first_name, username, language_code)
        chat = self._chat(user_id, "private", user=user)
        return self._queue_message(
            chat, user, reply_to_message_id, text=text, entities=text_entities(text) if entities is None else entities
        )

    def group_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        entities: list[dict[str, Any]] | None = None,
        reply_to_bot: bool = False,
        *,
        title: str = "Test group",
        first_name: str | None = None,
        username: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        """Queue a text message in a group; reply_to_bot makes it a reply to the bot's last message there."""
        user = self._user(user_id, first_name, username, "en")
        chat = self._chat(chat_id, "supergroup" if chat_id <= -1000000000000 else "group", title=title)
        if reply_to_bot:
            reply_to_message_id = self._last_bot_message(chat)
        return self._queue_message(
            chat, user, reply_to_message_id, text=text, entities=text_entities(text) if entities is None else entities
        )

    def command(self, user_id: int, command: str, *, chat_id: int | None = None) -> int:
        """Queue a command such as "/start" or "/help topic" (in a group when chat_id is given)."""
        if chat_id is None:
            return self.private_text(user_id, command)
        return self.group_text(chat_id, user_id, command)

    def sticker(self, user_id: int, chat_id: int | None = None, *, emoji: str = "👍") -> int:
        """Queue a sticker message (private chat unless chat_id is given)."""
        user, chat = self._sender(user_id, chat_id)
        uid = f"AgADsticker{next(self._query_ids)}"
        return self._queue_message(
            chat,
            user,
            None,
            sticker={
                "file_id": f"CAACAgIAAxk{uid}",
                "file_unique_id": uid,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
            },
        )

    def photo(self, user_id: int, chat_id: int | None = None, *, caption: str | None = None) -> int:
        """Queue a photo message, optionally with a caption."""
        user, chat = self._sender(user_id, chat_id)
        uid = f"AQADphoto{next(self._query_ids)}"
        sizes = [
            {
                "file_id": f"AgACAgIAAxk{uid}{w}",
                "file_unique_id": f"{uid}{w}",
                "width": w,
                "height": w * 3 // 4,
                "file_size": w * 40,
            }
            for w in (90, 320, 800)
        ]
        extra: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            extra["caption"] = caption
            if text_entities(caption):
                extra["caption_entities"] = text_entities(caption)
        return self._queue_message(chat, user, None, **extra)

    def callback(self, user_id: int, chat_id: int, message_id: int, data: str) -> int:
        """Queue a press of an inline button with callback data on a bot message."""
        user = self._user(user_id, None, None, "en")
        with self._lock:
            stored = self._messages.get((chat_id, message_id))
            message = (
                stored.message
                if stored
                else {"message_id": message_id, "date": 0, "chat": self._chat(chat_id, _chat_type(chat_id))}
            )
            query_id = str(next(self._query_ids) * 7919 + 4000000000000000000)
            self._callbacks[query_id] = time.monotonic()
        return self.queue_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": message,
                    "chat_instance": str(-abs(chat_id) * 31),
                    "data": data,
                }
            }
        )

    def inline_query(self, user_id: int, query: str, *, offset: str = "", chat_type: str = "private") -> int:
        """Queue an inline query typed by a user."""
        user = self._user(user_id, None, None, "en")
        with self._lock:
            query_id = str(next(self._query_ids) * 104729 + 5000000000000000000)
            self._inline_queries[query_id] = time.monotonic()
        return self.queue_update(
            {"inline_query": {"id": query_id, "from": user, "query": query, "offset": offset, "chat_type": chat_type}}
        )

    def deliver_webhook(
        self, url: str, update: dict[str, Any] | int, secret_token: str | None = None, timeout: float = 10
    ) -> int:
        """POST an update (JSON or a queued update's id) to a bot in webhook mode; the HTTP status."""
        if isinstance(update, int):
            with self._lock:
                payload = self._updates[update]
                self._pending = [u for u in self._pending if u["update_id"] != update]
        else:
            payload = update
        return _post_json(url, payload, secret_token, timeout)

    # ---------------------------------------------------------------------------------------- records

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded API calls, all or of one method, oldest first."""
        with self._lock:
            if method is None:
                return list(self._calls)
            name = self._name(method)
            return [c for c in self._calls if c.method == name]

    def mark(self) -> int:
        """A position in the call log, for wait_for(after=...)."""
        with self._lock:
            return len(self._calls)

    def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 10,
        *,
        after: int = 0,
        include_failed: bool = False,
    ) -> Call:
        """Block until a matching call (answered ok unless include_failed) is recorded; return it."""
        name = self._name(method)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self._calls[after:]:
                    if call.method == name and (include_failed or call.ok) and (predicate is None or predicate(call)):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recent = ", ".join(f"{c.method}:{c.status}" for c in self._calls[-8:])
                    raise TimeoutError(f"no {name} call within {timeout}s (recent: {recent})")
                self._cond.wait(remaining)

    async def async_wait_for(
        self, method: str, predicate: Callable[[Call], bool] | None = None, timeout: float = 10, **kwargs: Any
    ) -> Call:
        """wait_for without blocking the event loop."""
        return await asyncio.to_thread(self.wait_for, method, predicate, timeout, **kwargs)

    def sent_messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """The bot's messages as the chats show them now (edits applied), in sending order."""
        with self._lock:
            return [m for m in self._sent if chat_id is None or m.chat_id == chat_id]

    @property
    def polls(self) -> int:
        """How many getUpdates calls have begun (a long poll is recorded as a call only when it ends)."""
        with self._lock:
            return self._poll_generation

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by the bot."""
        with self._lock:
            return list(self._pending)

    # ---------------------------------------------------------------------------------------- faults

    def fail_with_429(self, method: str | None = None, *, retry_after: int = 1, times: int = 1) -> None:
        """The next `times` calls (of `method`, or any) get 429 Too Many Requests with retry_after."""
        self._add_fault(_Fault(self._fault_name(method), "429", times, retry_after=retry_after))

    def fail_with_error(self, method: str | None = None, *, status: int = 500, times: int = 1) -> None:
        """The next calls get a server error: 500 as JSON, 502 as nginx's HTML page (as Telegram does)."""
        self._add_fault(_Fault(self._fault_name(method), "error", times, status=status))

    def slow_reply(self, method: str | None = None, *, seconds: float, times: int = 1) -> None:
        """The next calls are answered normally, but only after `seconds`."""
        self._add_fault(_Fault(self._fault_name(method), "slow", times, seconds=seconds))

    def drop_connection(self, method: str | None = None, *, times: int = 1, after_processing: bool = False) -> None:
        """Close the socket without an answer (after_processing: the request took effect all the same)."""
        self._add_fault(_Fault(self._fault_name(method), "drop", times, after_processing=after_processing))

    def cut_long_poll(self, *, times: int = 1) -> None:
        """The next getUpdates calls return [] at once, even with updates pending."""
        self._add_fault(_Fault("getupdates", "cut_poll", times))

    def fail_parse_entities(
        self, method: str = "sendMessage", *, times: int = 1, reason: str = 'Unsupported start tag "x" at byte offset 0'
    ) -> None:
        """The next sendMessage/editMessageText calls get 400 "can't parse entities"."""
        self._add_fault(
            _Fault(self._fault_name(method), "parse_error", times, description=f"Bad Request: can't parse entities: {reason}")
        )

    def _add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _fault_name(self, method: str | None) -> str | None:
        return None if method is None else self._name(method).lower()

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.method in (None, method.lower()):
                    if fault.kind == "parse_error" and method not in ("sendMessage", "editMessageText"):
                        continue
                    fault.times -= 1
                    return fault
            return None

    # ---------------------------------------------------------------------------------------- HTTP

    def _name(self, method: str) -> str:
        return self._canonical.get(method.lower(), method)

    def _serve(self, h: _Handler) -> None:
        """Answer one HTTP request."""
        path, _, query = h.path.partition("?")
        body = _read_body(h)
        if body is None:  # the client died mid-request: like Telegram, act on nothing
            h.close_connection = True
            return
        match = re.fullmatch(r"/bot([^/]*)/([A-Za-z0-9_]*)/?", path)
        if match is None:
            self._respond(h, 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        token, method = match.groups()
        params = _parse_params(h.headers.get("Content-Type", ""), body, query)
        name = self._name(method)
        call = Call(name, params, time.time())
        try:
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            handler = self._handlers.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            fault = self._take_fault(name)
            if fault is not None and fault.kind == "slow":
                time.sleep(fault.seconds)  # then answered normally (the scenario: a slow Telegram)
            elif fault is not None and not (fault.kind == "drop" and fault.after_processing):
                self._inject(h, call, fault)
                return
            with self._cond:
                call.result = handler(params, h)
            if fault is not None and fault.kind == "drop":
                self._drop(h, call)
                return
            self._record(call)
            self._respond(h, 200, {"ok": True, "result": call.result})
        except _ClientGone:
            call.fault = "client_gone"
            self._record(call)
        except ApiError as err:
            call.status, call.description = err.code, err.description
            if err.code == 409 and "terminated by other" in err.description and _peer_gone(h.connection, 0.3):
                call.fault = "client_gone"  # a poll the client had already abandoned (e.g. PTB shutting down)
            else:
                self._violate(name, err.description, params)
            self._record(call)
            self._respond_error(h, err)

    def _inject(self, h: _Handler, call: Call, fault: _Fault) -> None:
        """Answer with an injected fault instead of the real answer."""
        call.fault = fault.kind
        if fault.kind == "drop":
            self._drop(h, call)
            return
        if fault.kind == "cut_poll":
            call.result = []
            self._record(call)
            self._respond(h, 200, {"ok": True, "result": []})
            return
        if fault.kind == "error" and fault.status == 502:
            call.status, call.description = 502, "Bad Gateway"
            self._record(call)
            self._respond(h, 502, BAD_GATEWAY_PAGE, "text/html")
            return
        if fault.kind == "429":
            err = ApiError(429, f"Too Many Requests: retry after {fault.retry_after}", {"retry_after": fault.retry_after})
        elif fault.kind == "error":
            err = ApiError(fault.status, "Internal Server Error")
        else:
            err = ApiError(400, fault.description)
        call.status, call.description = err.code, err.description
        self._record(call)
        self._respond_error(h, err)

    def _respond_error(self, h: _Handler, err: ApiError) -> None:
        payload: dict[str, Any] = {"ok": False, "error_code": err.code, "description": err.description}
        if err.parameters:
            payload["parameters"] = err.parameters
        self._respond(h, err.code, payload)

    def _record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def _violate(self, method: str, description: str, params: dict[str, Any]) -> None:
        with self._lock:
            self.violations.append(Violation(method, description, params))

    def _drop(self, h: _Handler, call: Call) -> None:
        call.status, call.fault = 0, "drop"
        self._record(call)
        h.close_connection = True
        _shutdown(h.connection)

    @staticmethod
    def _respond(h: _Handler, status: int, payload: dict[str, Any] | bytes, ctype: str = "application/json") -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
            h.wfile.flush()
        except OSError:
            h.close_connection = True

    # ---------------------------------------------------------------------------------------- API methods

    def _api_getMe(self, p: dict[str, Any], h: _Handler) -> Any:  # noqa: N802
        return dict(self.bot_user)

    def _api_getUpdates(self, p: dict[str, Any], h: _Handler) -> Any:  # noqa: N802
        if self._webhook["url"]:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            )
        offset, limit = _int(p, "offset", 0), max(1, min(100, _int(p, "limit", 100)))
        timeout = max(0.0, float(p.get("timeout") or 0))
        if isinstance(p.get("allowed_updates"), list):
            self._allowed = frozenset(p["allowed_updates"]) or DEFAULT_ALLOWED
        if offset > 0:
            # Every update with a lower id is confirmed, also one that comes later (a server that
            # started over numbers from 1 again): Telegram never delivers it.
            self._confirmed_below = offset
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()
        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(
                    409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
                )
            if self._webhook["url"]:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use "
                    "deleteWebhook to delete the webhook first",
                )
            ready = self._deliverable()
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._stopping:
                return ready[:limit]
            if _peer_gone(h.connection, 0):
                raise _ClientGone
            self._cond.wait(min(remaining, 0.25))

    def _deliverable(self) -> list[dict[str, Any]]:
        self._pending = [u for u in self._pending if _update_type(u) in self._allowed and u["update_id"] >= self._confirmed_below]
        return list(self._pending)

    def _api_sendMessage(self, p: dict[str, Any], h: _Handler) -> Any:  # noqa: N802
        chat = self._chat_param(p)
        text, entities = self._format(p, "sendMessage")
        markup = _check_markup(p.get("reply_markup"))
        reply_to = self._reply_target(chat["id"], p)
        message_id = self._new_message_id(chat["id"])
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": dict(self.bot_user),
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        sent = SentMessage(chat["id"], message_id, text, entities, _html_param(p), message.get("reply_markup"), message)
        self._messages[(chat["id"], message_id)] = _Stored(chat["id"], message, True, sent)
        self._sent.append(sent)
        return message

    def _api_editMessageText(self, p: dict[str, Any], h: _Handler) -> Any:  # noqa: N802
        text, entities = self._format(p, "editMessageText")
        inline = _inline_keyboard(p)
        if p.get("inline_message_id"):
            return True
        stored = self._editable(p)
        assert stored.sent is not None
        if (stored.sent.text, stored.sent.entities, stored.sent.reply_markup) == (text, entities, inline):
            raise ApiError(400, NOT_MODIFIED)
        message = {k: v for k, v in stored.message.items() if k not in ("entities", "reply_markup")}
        message.update(text=text, edit_date=int(time.time()))
        if entities:
            message["entities"] = entities
        if inline:
            message["reply_markup"] = inline
        self._apply_edit(stored, message, text=text, entities=entities, html=_html_param(p), reply_markup=inline)
        return message

    def _api_editMessageReplyMarkup(self, p: dict[str, Any], h: _Handler) -> Any:  # noqa: N802
        inline = _inline_keyboard(p)
        if p.get("inline_message_id"):
            return True
        stored = self._editable(p)
        assert stored.sent is not None
        if stored.sent.reply_markup == inline:
            raise ApiError(400, NOT_MODIFIED)
        message = {k: v for k, v in stored.message.items() if k != "reply_markup"}
        message["edit_date"] = int(time.time())
        if inline:
            message["reply_markup"] = inline
        self._apply_edit(stored, message, reply_markup=inline)
        return message

    def _api_answerCallbackQuery(self, p: dict[str, Any], h: _Handler) -> Any:  # noqa: N802
        self._take_query(self._callbacks, str(p.get("callback_query_id", "")))
        return True

    def _api_answerInlineQuery(self, p: dict[str, Any], h: _Handler) -> Any:  # noqa: N802
        results = p.get("results")
        if not isinstance(results, list):
            raise ApiError(400, "Bad Request: can't parse inline query results JSON object")
        if len(results) > 50:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            if not isinstance(result, dict) or not isinstance(result.get("type"), str):
                raise ApiError(400, "Bad Request: can't parse inline query result")
            rid = str(result.get("id", ""))
            if not 1 <= len(rid.encode()) <= 64:
                raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
            if rid in seen:
                raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
            seen.add(rid)
            content = result.get("input_message_content")
            if isinstance(content, dict) and "message_text" in content:
                self._format(
                    {
                        "text": content["message_text"],
                        "parse_mode": content.get("parse_mode"),
                        "entities": content.get("entities"),
                    },
                    "answerInlineQuery",
                )
            _check_markup(result.get("reply_markup"))
        self._take_query(self._inline_queries, str(p.get("inline_query_id", "")))
        return True

    def _api_sendChatAction(self, p: dict[str, Any], h: _Handler) -> Any:  # noqa: N802
        self._chat_param(p)
        if p.get("action") not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    def _api_setMyCommands(self, p: dict[str, Any], h: _Handler) -> Any:  # noqa: N802
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command"))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
                raise ApiError(400, "Bad Request: command description must be non-empty")
        self._commands[self._commands_key(p)] = [{"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def _api_getMyCommands(self, p: dict[str, Any], h: _Handler) -> Any:  # noqa: N802
        return list(self._commands.get(self._commands_key(p), []))

    def _api_deleteMyCommands(self, p: dict[str, Any], h: _Handler) -> Any:  # noqa: N802
        self._commands.pop(self._commands_key(p), None)
        return True

    def _api_deleteWebhook(self, p: dict[str, Any], h: _Handler) -> Any:  # noqa: N802
        self._webhook.update(url="", secret_token=None)
        if p.get("drop_pending_updates") is True:
            self._pending = []
        return True

    def _api_setWebhook(self, p: dict[str, Any], h: _Handler) -> Any:  # noqa: N802
        url = str(p.get("url") or "")
        if url and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise ApiError(400, "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = p.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if isinstance(p.get("allowed_updates"), list):
            self._allowed = frozenset(p["allowed_updates"]) or DEFAULT_ALLOWED
        if p.get("drop_pending_updates") is True:
            self._pending = []
        self._webhook.update(url=url, secret_token=secret)
        self._cond.notify_all()
        return True

    def _api_getWebhookInfo(self, p: dict[str, Any], h: _Handler) -> Any:  # noqa: N802
        info: dict[str, Any] = {
            "url": self._webhook["url"],
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook["url"]:
            info.update(max_connections=40, allowed_updates=sorted(self._allowed))
        if self._webhook["last_error_date"]:
            info.update(last_error_date=self._webhook["last_error_date"], last_error_message=self._webhook["last_error_message"])
        return info

    def _api_close(self, p: dict[str, Any], h: _Handler) -> Any:
        return True

    def _api_logOut(self, p: dict[str, Any], h: _Handler) -> Any:  # noqa: N802
        return True

    # ---------------------------------------------------------------------------------------- helpers

    def _format(self, p: dict[str, Any], method: str) -> tuple[str, list[dict[str, Any]]]:
        """Validate a text parameter like Telegram: (visible text, entities) or ApiError."""
        text = p.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        mode = str(p.get("parse_mode") or "").lower()
        entities: list[dict[str, Any]]
        if mode == "html":
            try:  # an oracle independent of the bot's own parser (bot.tg.html): tests/support/tghtml.py
                text, entities = telegram_text_and_entities(text, strict=self.strict_html)
            except HtmlRefused as err:
                raise ApiError(400, err.description) from None
        elif mode in ("", "markdown", "markdownv2"):
            entities = list(p.get("entities") or []) if mode == "" else []
        else:
            raise ApiError(400, f'Bad Request: unsupported parse_mode "{p.get("parse_mode")}"')
        text, entities = _trim(text, entities)
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_MESSAGE_UNITS:
            raise ApiError(400, "Bad Request: message is too long")
        if len(entities) > MAX_ENTITIES:
            self._violate(method, f"{len(entities)} entities: Telegram keeps the formatting of the first {MAX_ENTITIES} only", p)
            entities = entities[:MAX_ENTITIES]
        return text, entities

    def _chat_param(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = p.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            with self._lock:
                for chat in self._chats.values():
                    if isinstance(chat_id, str) and chat.get("username") and f"@{chat['username']}" == chat_id:
                        return chat
            raise ApiError(400, "Bad Request: chat not found")
        return self._chat(chat_id, _chat_type(chat_id))

    def _editable(self, p: dict[str, Any]) -> _Stored:
        chat = self._chat_param(p)
        stored = self._messages.get((chat["id"], _int(p, "message_id", 0)))
        if stored is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not stored.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return stored

    def _apply_edit(self, stored: _Stored, message: dict[str, Any], **changes: Any) -> None:
        stored.message = message
        assert stored.sent is not None
        for key, value in changes.items():
            setattr(stored.sent, key, value)
        stored.sent.message = message
        stored.sent.edits += 1

    def _reply_target(self, chat_id: int, p: dict[str, Any]) -> dict[str, Any] | None:
        reply = p.get("reply_parameters")
        if isinstance(reply, dict):
            message_id, allow = reply.get("message_id"), bool(reply.get("allow_sending_without_reply"))
        else:
            message_id, allow = p.get("reply_to_message_id"), bool(p.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        stored = self._messages.get((chat_id, int(message_id)))
        if stored is None:
            if allow:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return {k: v for k, v in stored.message.items() if k != "reply_to_message"}

    def _take_query(self, queries: dict[str, float], query_id: str) -> None:
        with self._lock:
            asked = queries.pop(query_id, None)
        if asked is None or time.monotonic() - asked > self.callback_ttl:
            raise ApiError(400, QUERY_TOO_OLD)

    def _commands_key(self, p: dict[str, Any]) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(p.get("language_code") or "")

    def _user(self, user_id: int, first_name: str | None, username: str | None, language_code: str) -> dict[str, Any]:
        with self._lock:
            user = self._users.setdefault(user_id, {"id": user_id, "is_bot": False, "first_name": first_name or f"User{user_id}"})
            if first_name:
                user["first_name"] = first_name
            if username:
                user["username"] = username
            user["language_code"] = language_code
            return dict(user)

    def _chat(self, chat_id: int, kind: str, *, user: dict[str, Any] | None = None, title: str | None = None) -> dict[str, Any]:
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None:
                chat = {"id": chat_id, "type": kind}
                if kind == "private":
                    user = user or {"first_name": f"User{chat_id}"}
                    chat.update({k: user[k] for k in ("first_name", "username") if k in user})
                else:
                    chat["title"] = title or "Test group"
                self._chats[chat_id] = chat
            return dict(chat)

    def _sender(self, user_id: int, chat_id: int | None) -> tuple[dict[str, Any], dict[str, Any]]:
        user = self._user(user_id, None, None, "en")
        if chat_id is None:
            return user, self._chat(user_id, "private", user=user)
        return user, self._chat(chat_id, _chat_type(chat_id))

    def _new_message_id(self, chat_id: int) -> int:
        with self._lock:
            self._next_message_id[chat_id] = self._next_message_id.get(chat_id, 0) + 1
            return self._next_message_id[chat_id]

    def _last_bot_message(self, chat: dict[str, Any]) -> int:
        with self._lock:
            for sent in reversed(self._sent):
                if sent.chat_id == chat["id"]:
                    return sent.message_id
            message_id = self._new_message_id(chat["id"])
            text = "An earlier answer."
            message = {
                "message_id": message_id,
                "from": dict(self.bot_user),
                "chat": chat,
                "date": int(time.time()) - 60,
                "text": text,
            }
            sent = SentMessage(chat["id"], message_id, text, [], None, None, message)
            self._messages[(chat["id"], message_id)] = _Stored(chat["id"], message, True, sent)
            return message_id

    def _queue_message(self, chat: dict[str, Any], user: dict[str, Any], reply_to_message_id: int | None, **content: Any) -> int:
        with self._lock:
            message_id = self._new_message_id(chat["id"])
            message: dict[str, Any] = {"message_id": message_id, "from": user, "chat": chat, "date": int(time.time())}
            if reply_to_message_id is not None:
                replied = self._messages.get((chat["id"], reply_to_message_id))
                if replied is not None:
                    message["reply_to_message"] = {k: v for k, v in replied.message.items() if k != "reply_to_message"}
            message.update({k: v for k, v in content.items() if v not in (None, [])})
            self._messages[(chat["id"], message_id)] = _Stored(chat["id"], message, False)
            return self.queue_update({"message": message})

    def _webhook_loop(self) -> None:
        """Deliver pending updates to the webhook, in order, retrying like Telegram (if one is set)."""
        while True:
            with self._cond:
                while not self._stopping and not (self._webhook["url"] and self._deliverable()):
                    self._cond.wait(0.5)
                if self._stopping:
                    return
                url, secret = self._webhook["url"], self._webhook["secret_token"]
                update = self._pending[0]
            status = _post_json(url, update, secret, 10)
            with self._cond:
                self.webhook_deliveries.append((update["update_id"], status))
                if 200 <= status < 300:
                    self._pending = [u for u in self._pending if u["update_id"] != update["update_id"]]
                    continue
                self._webhook.update(
                    last_error_date=int(time.time()),
                    last_error_message=f"Wrong response from the webhook: {status}" if status else "Connection refused",
                )
            time.sleep(self.webhook_retry_delay)  # the scenario: Telegram waits before redelivering


def _chat_type(chat_id: int) -> str:
    if chat_id > 0:
        return "private"
    return "supergroup" if chat_id <= -1000000000000 else "group"


def _update_type(update: dict[str, Any]) -> str:
    return next((k for k in update if k != "update_id"), "")


def _int(p: dict[str, Any], name: str, default: int) -> int:
    try:
        return int(p.get(name, default))
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: wrong parameter {name} in request") from None


def _html_param(p: dict[str, Any]) -> str | None:
    return p["text"] if str(p.get("parse_mode") or "").lower() == "html" else None


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip surrounding whitespace like Telegram, clipping entities to what is left."""
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    stripped = text.strip()
    end = utf16_len(stripped)
    out = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        stop = min(end, entity["offset"] + entity["length"] - lead)
        if stop > start:
            out.append({**entity, "offset": start, "length": stop - start})
    return stripped, out


def _check_markup(markup: Any) -> dict[str, Any] | None:
    """Check reply_markup like Telegram; return it (decoded) or raise ApiError."""
    if markup is None:
        return None
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            markup = None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError(400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    buttons = [button for row in rows for button in row]
    if len(buttons) > 100:
        raise ApiError(400, "Bad Request: reply markup is too long")
    for button in buttons:
        if not isinstance(button, dict):
            raise ApiError(400, "Bad Request: can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        if not isinstance(button.get("text"), str):
            raise ApiError(400, 'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String')
        if not any(action in button for action in BUTTON_ACTIONS):
            raise ApiError(
                400, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
            )
        data = button.get("callback_data")
        if "callback_data" in button and (not isinstance(data, str) or not 1 <= len(data.encode()) <= 64):
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        if "url" in button and not str(button["url"]).strip():
            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
    return markup


def _inline_keyboard(p: dict[str, Any]) -> dict[str, Any] | None:
    """The edit's reply_markup, checked; only an inline keyboard stays on an edited message."""
    markup = _check_markup(p.get("reply_markup"))
    return markup if markup and "inline_keyboard" in markup else None


def _read_body(h: _Handler) -> bytes | None:
    if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while h.rfile.readline().strip():
                    pass
                return b"".join(chunks)
            chunks.append(h.rfile.read(size))
            h.rfile.readline()
    length = int(h.headers.get("Content-Length") or 0)
    body = h.rfile.read(length)
    return body if len(body) == length else None  # None: the connection closed before the whole body came


def _parse_params(ctype: str, body: bytes, query: str) -> dict[str, Any]:
    """Request parameters as Python objects, from the query string and a form, multipart or JSON body."""
    raw: dict[str, Any] = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    kind = ctype.split(";")[0].strip().lower()
    if kind == "application/json" and body:
        loaded = json.loads(body)
        if isinstance(loaded, dict):
            raw.update(loaded)
    elif kind == "application/x-www-form-urlencoded":
        raw.update(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif kind == "multipart/form-data":
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
        )
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                raw[str(name)] = {"filename": part.get_filename(), "size": len(payload), "content_type": part.get_content_type()}
            else:
                raw[str(name)] = payload.decode("utf-8", "replace")
    return {name: decode_param(name, value) for name, value in raw.items()}


def _post_json(url: str, payload: dict[str, Any], secret_token: str | None, timeout: float) -> int:
    headers = {"Content-Type": "application/json"}
    if secret_token:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except OSError:
        return 0


def _peer_gone(sock: socket.socket, wait: float) -> bool:
    """Whether the client closed its end of the connection (waiting up to `wait` seconds to see it)."""
    try:
        readable, _, _ = select.select([sock], [], [], wait)
        return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
    except (OSError, ValueError):
        return True


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def checked_double() -> Iterator[TelegramDouble]:
    """A double for a test or a module that ends by checking that the bot broke none of Telegram's
    rules: `tg = pytest.fixture(checked_double)`, with the scope the module needs."""
    with TelegramDouble() as double:
        yield double
        assert double.violations == [], double.violations

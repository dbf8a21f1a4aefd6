"""Running the Telegram bot: token checks, log redaction, polling or webhook, signals, reload."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import signal
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import urlparse

from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError
from tornado.httpserver import HTTPServer

from bot.config import Settings
from bot.core.answer import Core
from bot.store.db import Store, open_store
from bot.tg.app import build_application, register_commands
from bot.tg.health import Heartbeat, heartbeat_path, start_watchdog
from bot.tg.polling import Journal, Poller, journal_key
from bot.tg.ptb import BotApp
from bot.tg.reload import CoreHolder
from bot.tg.webhook import make_web_app

log = logging.getLogger(__name__)
HANDLED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
TOKEN = re.compile(r"^[0-9]{1,20}:[A-Za-z0-9_-]{30,64}$")


class Redactor(logging.Filter):
    """Replaces secrets (the bot token, the webhook secret) in every log line and traceback."""

    def __init__(self, secrets_: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets_ if s]

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._clean(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True


def install_redaction(*secret_values: str) -> None:
    redactor = Redactor(secret_values)
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    for handler in root.handlers:
        handler.addFilter(redactor)


def journal_path(settings: Settings) -> Path:
    """The journal of handled updates lives in the state directory (beside the heartbeat by default)."""
    return settings.state_path() / "csto-bot.updates"


def run_telegram(settings: Settings, core: Core, loader: Callable[[], Core]) -> int:
    token = settings.telegram_bot_token.get_secret_value().strip() if settings.telegram_bot_token else ""
    if not token:
        print("csto-bot: TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token in .env", file=sys.stderr)
        return 2
    if not TOKEN.match(token):
        print(
            "csto-bot: TELEGRAM_BOT_TOKEN is malformed: expected digits, a colon and 30+ letters, as @BotFather gives it",
            file=sys.stderr,
        )
        return 2
    webhook_secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else secrets.token_urlsafe(32)
    install_redaction(token, webhook_secret)
    core.warm_up()  # load the encoder's weights now, not while the first user waits
    try:
        asyncio.run(serve(settings, CoreHolder(core, loader), webhook_secret))
    except InvalidToken:
        print("csto-bot: Telegram rejected TELEGRAM_BOT_TOKEN (Unauthorized): check the token from @BotFather", file=sys.stderr)
        return 2
    return 0


async def _initialize(app: BotApp, stop: asyncio.Event) -> bool:
    """getMe until it works (Telegram may be briefly unreachable); False if asked to stop first."""
    delay = 1.0
    while not stop.is_set():
        try:
            await app.initialize()
            return True
        except InvalidToken:
            raise
        except (NetworkError, TelegramError) as e:
            log.warning("cannot reach Telegram (%s); retrying in %.0f s", e.__class__.__name__, delay)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, 60)
    return False


async def serve(settings: Settings, holder: CoreHolder, webhook_secret: str) -> None:
    questions = open_store(settings)
    try:
        await _serve(settings, holder, webhook_secret, questions)
    finally:
        if questions is not None:
            await asyncio.to_thread(questions.close)  # the rows still queued are written first


async def _serve(settings: Settings, holder: CoreHolder, webhook_secret: str, questions: Store | None) -> None:
    app = build_application(settings, holder, questions=questions)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    reloads: set[asyncio.Task[object]] = set()

    def on_sighup() -> None:
        task = asyncio.ensure_future(holder.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, on_sighup)
    heartbeat = Heartbeat(heartbeat_path(settings))
    start_watchdog(heartbeat)
    if not await _initialize(app, stop):
        return
    # Keyed to this bot on this Bot API server: another bot's or another server's ids mean nothing here.
    with contextlib.suppress(OSError):
        journal_path(settings).parent.mkdir(parents=True, exist_ok=True)
    journal = Journal(journal_path(settings), journal_key(app.bot.id, settings.telegram_api_base_url))
    try:
        await app.start()
        try:
            await register_commands(app)
        except TelegramError as e:
            log.warning("could not register the command list: %s", e)
        log.info("csto-bot is running as @%s (%s mode)", app.bot.username, "webhook" if settings.webhook_url else "polling")
        if settings.webhook_url:
            await _run_webhook(app, settings, webhook_secret, journal, heartbeat, stop)
        else:
            await _run_polling(app, journal, heartbeat, stop)
    finally:
        log.info("stopping")
        await app.stop()
        await app.shutdown()


async def _run_polling(app: BotApp, journal: Journal, heartbeat: Heartbeat, stop: asyncio.Event) -> None:
    await app.bot.delete_webhook(drop_pending_updates=False)
    poller = Poller(app, journal, heartbeat.beat, HANDLED_UPDATES)
    polling = asyncio.ensure_future(poller.run())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({polling, stopping}, return_when=asyncio.FIRST_COMPLETED)
    poller.stop()
    stopping.cancel()
    await polling  # drains the updates in hand; re-raises a fatal error such as InvalidToken


async def _run_webhook(
    app: BotApp, settings: Settings, secret: str, journal: Journal, heartbeat: Heartbeat, stop: asyncio.Event
) -> None:
    assert settings.webhook_url is not None
    path = urlparse(settings.webhook_url).path or "/"
    server = HTTPServer(make_web_app(app, path, secret, journal))
    server.listen(settings.webhook_port, settings.webhook_listen)
    await app.bot.set_webhook(settings.webhook_url, secret_token=secret, allowed_updates=HANDLED_UPDATES)
    log.info("webhook server on %s:%d%s", settings.webhook_listen, settings.webhook_port, path)
    while not stop.is_set():
        heartbeat.beat()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), 15)
    server.stop()
    await server.close_all_connections()

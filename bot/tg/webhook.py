"""Webhook mode: a small tornado server that takes updates from Telegram, and /healthz."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

import tornado.web
from telegram import Update

from bot.tg.polling import Journal
from bot.tg.ptb import BotApp

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class UpdateHandler(tornado.web.RequestHandler):
    """POST an update: 403 without the right secret; 200 only once the update has been handled,
    so Telegram delivers it again if the bot stops halfway."""

    def initialize(self, app: BotApp, secret: str, journal: Journal) -> None:
        self.app, self.secret, self.journal = app, secret, journal

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning("webhook request from %s without the right secret: refused", self.request.remote_ip)
            self.set_status(403)
            return
        try:
            data: Any = json.loads(self.request.body)
            update = Update.de_json(data, self.app.bot)
        except (ValueError, TypeError, KeyError):
            self.set_status(400)
            return
        if update is None:
            self.set_status(400)
            return
        if self.journal.handled(update):
            log.info("update %d skipped: handled already (update journal)", update.update_id)
        else:
            await self.app.process_update(update)
            self.journal.add(update)
        self.set_status(200)

    def get(self) -> None:
        self.set_status(405)


class HealthHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.write("ok\n")


def make_web_app(app: BotApp, path: str, secret: str, journal: Journal) -> tornado.web.Application:
    return tornado.web.Application(
        [
            (r"/healthz", HealthHandler),
            (path if path.startswith("/") else "/" + path, UpdateHandler, {"app": app, "secret": secret, "journal": journal}),
        ]
    )

"""Long polling that confirms an update to Telegram only after it has been handled.

PTB's own Updater confirms a batch (by asking for the next offset) as soon as it has fetched it, so
a crash between fetching and answering loses questions. Here the offset sent to getUpdates is the
lowest update id still being handled; updates seen again while in flight are skipped, and a small
journal of handled ids stops a restarted bot from answering twice what it answered just before
a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from pathlib import Path

from telegram import Update
from telegram.error import Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.tg.ptb import BotApp

log = logging.getLogger(__name__)

POLL_TIMEOUT = 20  # seconds Telegram holds a getUpdates request open
JOURNAL_KEEP = 2000  # handled update ids remembered across restarts
BATCH = 100  # updates per getUpdates (Telegram's default limit)
REPOLL_AFTER = 10  # with a full batch in hand, ask again once this many of the oldest are done


class Journal:
    """Update ids already handled, kept in a small append-only file (compacted now and then)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.ids: set[int] = set()
        self._appended = 0
        if path is not None:
            with contextlib.suppress(OSError, ValueError):
                # One damaged entry (a torn write) must not discard the others: skip it alone.
                words = path.read_text(errors="replace").split()[-JOURNAL_KEEP:]
                self.ids = {int(x) for x in words if x.isascii() and x.isdigit()}

    def add(self, update_id: int) -> None:
        self.ids.add(update_id)
        if self.path is None:
            return
        try:
            with self.path.open("a") as f:
                f.write(f"{update_id}\n")
            self._appended += 1
            if self._appended >= JOURNAL_KEEP:
                self._compact()
        except OSError as e:
            log.warning("cannot write the update journal %s: %s", self.path, e)

    def forget_below(self, offset: int) -> None:
        """Ids below a confirmed offset can never come back: drop them from memory."""
        self.ids = {i for i in self.ids if i >= offset} if len(self.ids) > JOURNAL_KEEP else self.ids

    def _compact(self) -> None:
        assert self.path is not None
        keep = sorted(self.ids)[-JOURNAL_KEEP:]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(f"{i}\n" for i in keep))
        tmp.replace(self.path)
        self._appended = 0


class Poller:
    """Fetches updates and hands each to the application, concurrently, never losing one."""

    def __init__(
        self,
        app: BotApp,
        journal: Journal,
        heartbeat: Callable[[], None] = lambda: None,
        allowed_updates: list[str] | None = None,
    ) -> None:
        self.app = app
        self.journal = journal
        self.heartbeat = heartbeat
        self.allowed_updates = allowed_updates or Update.ALL_TYPES
        self.inflight: dict[int, asyncio.Task[None]] = {}
        self.max_seen = -1
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    def offset(self) -> int | None:
        """The lowest update id not yet handled: everything below it is confirmed to Telegram."""
        if self.inflight:
            return min(self.inflight)
        return self.max_seen + 1 if self.max_seen >= 0 else None

    async def _handle(self, update: Update) -> None:
        try:
            await self.app.process_update(update)
        finally:
            self.journal.add(update.update_id)
            self.inflight.pop(update.update_id, None)

    async def run(self) -> None:
        backoff = 1.0
        while not self._stopping.is_set():
            self.heartbeat()
            try:
                updates = await self._fetch()
                backoff = 1.0
            except RetryAfter as e:
                await self._sleep(
                    float(e.retry_after if isinstance(e.retry_after, (int, float)) else e.retry_after.total_seconds())
                )
                continue
            except (InvalidToken, Forbidden):
                raise
            except (NetworkError, TelegramError) as e:
                log.warning("getUpdates failed (%s); retrying in %.0f s", e.__class__.__name__, backoff)
                await self._sleep(backoff * (0.75 + random.random() / 2))
                backoff = min(backoff * 2, 30.0)
                continue
            if updates is None:
                break
            fresh = [u for u in updates if u.update_id not in self.inflight and u.update_id not in self.journal.ids]
            for update in fresh:
                self.max_seen = max(self.max_seen, update.update_id)
                self.inflight[update.update_id] = asyncio.create_task(self._handle(update))
            for update in updates:
                self.max_seen = max(self.max_seen, update.update_id)
            offset = self.offset()
            if offset is not None:
                self.journal.forget_below(offset)
            if updates and not fresh and self.inflight:
                # Only updates still being handled came back: wait for one to finish instead of spinning.
                # A full batch cannot change until the oldest are confirmed, and every getUpdates returns
                # (and PTB parses) the whole batch again: then wait for the oldest few, not just any one.
                oldest = [self.inflight[i] for i in sorted(self.inflight)[:REPOLL_AFTER]]
                full = len(updates) >= BATCH
                await asyncio.wait(
                    oldest if full else list(self.inflight.values()),
                    timeout=1.0,
                    return_when=asyncio.ALL_COMPLETED if full else asyncio.FIRST_COMPLETED,
                )
        await self.drain()

    async def _fetch(self) -> tuple[Update, ...] | None:
        """One long poll; None when asked to stop meanwhile."""
        poll = asyncio.ensure_future(
            self.app.bot.get_updates(
                offset=self.offset(),
                timeout=POLL_TIMEOUT,
                read_timeout=POLL_TIMEOUT + 10,
                allowed_updates=self.allowed_updates,
            )
        )
        stopping = asyncio.ensure_future(self._stopping.wait())
        done, _ = await asyncio.wait({poll, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if poll not in done:
            poll.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await poll
            return None
        stopping.cancel()
        return poll.result()

    async def drain(self, timeout: float = 25.0) -> None:
        """Let the updates in hand finish, then confirm them so they are not delivered again."""
        if self.inflight:
            log.info("finishing %d update(s) in hand", len(self.inflight))
            await asyncio.wait(list(self.inflight.values()), timeout=timeout)
        offset = self.offset()
        if offset is not None:
            with contextlib.suppress(TelegramError):
                await self.app.bot.get_updates(offset=offset, timeout=0, limit=1)

    async def _sleep(self, seconds: float) -> None:
        """Wait (a back-off, a 429's retry_after) while still beating: waiting is not being stuck."""
        end = asyncio.get_running_loop().time() + seconds
        while not self._stopping.is_set() and (left := end - asyncio.get_running_loop().time()) > 0:
            self.heartbeat()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=min(left, 15.0))

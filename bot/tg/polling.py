"""Long polling that confirms an update to Telegram only after it has been handled.

PTB's own Updater confirms a batch (by asking for the next offset) as soon as it has fetched it, so
a crash between fetching and answering loses questions. Here the offset sent to getUpdates is the
lowest update id still being handled; updates seen again while in flight are skipped, and a small
journal of handled ids stops a restarted bot from answering twice what it answered just before
a crash. The journal is keyed to the bot and the Bot API server, and trusts an id only at or above
the last confirmed offset and only for the same content, so it can never drop a new update. After a
failed poll the next one looks without an offset first, so that a server that started over under a
running bot (its ids below our offset) is noticed before its new updates are confirmed unseen.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
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


def fingerprint(update: Update) -> str:
    """A digest of the update's content: Telegram delivers the same update again byte for byte, while a
    new update that reuses an id (a fresh Bot API server, another bot) differs in its message, date or
    query id."""
    body = json.dumps(update.to_dict(), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(body.encode(), digest_size=8).hexdigest()


def journal_key(bot_id: int, api_base_url: str) -> str:
    """Which bot on which Bot API server a journal belongs to (the URL hashed: it may carry secrets)."""
    return f"bot={bot_id} api={hashlib.sha256(api_base_url.encode()).hexdigest()[:16]}"


class Journal:
    """Updates already handled, so that a restarted bot does not answer again what it answered just
    before it stopped, and the offset last confirmed to Telegram; one small append-only file.

    An update is skipped as handled only if all of these hold: the journal belongs to this bot on this
    Bot API server (`key`), its id is at or above the last confirmed offset (below it, Telegram cannot
    deliver an id again, so it is a new update from a server whose ids started over), and its content
    is the one handled under that id (`fingerprint`). When the ids go back below the confirmed offset,
    the server started over: everything remembered from before is forgotten.

    File: a header line `#journal <key>`, then `<update id> <fingerprint>` per handled update and
    `o <offset>` per confirmed offset. A torn line costs only itself.
    """

    def __init__(self, path: Path | None, key: str | None = None) -> None:
        self.path = path
        self.key = key
        self.entries: dict[int, str | None] = {}  # update id → fingerprint (None: an old unkeyed journal)
        self.confirmed = 0  # every update id below this one is confirmed to Telegram
        self._appended = 0
        self._rewrite = key is not None  # until a journal with this key's header is found
        self._session: set[int] = set()  # ids handled by this process
        if path is None:
            return
        try:
            lines = path.read_text(errors="replace").splitlines()
        except OSError:
            return
        header = lines[0] if lines and lines[0].startswith("#journal") else None
        if key is not None and header != f"#journal {key}":
            if lines:
                log.info("update journal %s belongs to another bot or Bot API server (or is older): starting afresh", path)
            return
        self._rewrite = False
        for line in lines[1 if header else 0 :]:
            words = line.split()
            if len(words) == 2 and words[0] == "o" and words[1].isascii() and words[1].isdigit():
                self.confirm(int(words[1]), write=False)
            elif words and words[0].isascii() and words[0].isdigit() and len(words) <= 2:
                self.entries[int(words[0])] = words[1] if len(words) == 2 else None
        self.entries = {i: fp for i, fp in self.entries.items() if i >= self.confirmed}

    @property
    def ids(self) -> set[int]:
        return set(self.entries)

    def handled(self, update: Update) -> bool:
        """Whether this very update was handled already (then it is skipped, and the caller logs it)."""
        remembered = self.entries.get(update.update_id)
        if update.update_id < self.confirmed or remembered is None or remembered != fingerprint(update):
            return False
        self._session.add(update.update_id)  # seen again until confirmed: no second log line
        return True

    def same(self, update: Update) -> bool:
        """Whether the journal holds this update's id with this very content."""
        return self.entries.get(update.update_id) == fingerprint(update)

    def start_over(self) -> None:
        """The server numbers its updates afresh: nothing remembered concerns its updates."""
        self.entries, self._session, self.confirmed, self._rewrite = {}, set(), 0, True

    def handled_now(self, update_id: int) -> bool:
        """Handled by this process (and still remembered): Telegram delivers it until it is confirmed."""
        return update_id in self._session and update_id in self.entries

    def add(self, update: Update) -> None:
        digest = fingerprint(update)
        self.entries[update.update_id] = digest
        self._session.add(update.update_id)
        if len(self.entries) > JOURNAL_KEEP:  # webhook mode confirms no offsets: keep the newest ids
            for old in sorted(self.entries)[: len(self.entries) - JOURNAL_KEEP]:
                del self.entries[old]
        self._append(f"{update.update_id} {digest}\n")

    def confirm(self, offset: int, *, write: bool = True) -> None:
        """Telegram has confirmed every update below `offset` (a getUpdates with it succeeded)."""
        if offset == self.confirmed:
            return
        if offset < self.confirmed:
            # Ids never go back on one server: this one started over (or ids were drawn afresh after a
            # long silence). What was remembered is from before; only this run's entries can matter.
            log.info("update ids went back from %d to %d: the Bot API server started over", self.confirmed, offset)
            self.entries = {i: fp for i, fp in self.entries.items() if i in self._session}
            self._rewrite = True
        self.confirmed = offset
        self.entries = {i: fp for i, fp in self.entries.items() if i >= offset}
        self._session = {i for i in self._session if i in self.entries}
        if write:
            self._append(f"o {offset}\n")

    def _append(self, line: str) -> None:
        if self.path is None:
            return
        try:
            if self._rewrite or self._appended >= JOURNAL_KEEP:
                self._compact()
            with self.path.open("a") as f:
                f.write(line)
            self._appended += 1
        except OSError as e:
            log.warning("cannot write the update journal %s: %s", self.path, e)

    def _compact(self) -> None:
        assert self.path is not None
        header = f"#journal {self.key}\n" if self.key is not None else ""
        body = "".join(f"{i} {fp}\n" if fp else f"{i}\n" for i, fp in sorted(self.entries.items()))
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(f"{header}o {self.confirmed}\n{body}")
        tmp.replace(self.path)
        self._appended = 0
        self._rewrite = False


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
        self._orphans: set[asyncio.Task[None]] = set()  # still handling updates of a server that started over
        self.max_seen = -1
        self._sent_offset: int | None = None  # the offset of the last getUpdates
        # After a failed poll, look before confirming anything: the server may have restarted with a new
        # state, its ids starting again below our offset, and a getUpdates with that offset would
        # confirm (delete) its new updates unseen. A look is a long poll without an offset; until one
        # returns an update, which tells which server this is, the next poll is a look too.
        self._look = False
        self._looked = False
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    def offset(self) -> int | None:
        """The lowest update id not yet handled: everything below it is confirmed to Telegram."""
        if self.inflight:
            return min(self.inflight)
        return self.max_seen + 1 if self.max_seen >= 0 else None

    async def _handle(self, update: Update) -> None:
        task = asyncio.current_task()
        try:
            await self.app.process_update(update)
        finally:
            if task in self._orphans:
                self._orphans.discard(task)  # from a server that started over: its id means nothing now
            else:
                self.journal.add(update)
                self.inflight.pop(update.update_id, None)

    def _started_over(self, updates: tuple[Update, ...]) -> bool:
        """Whether a look found the server numbering afresh: an update below our offset (so handled or
        confirmed here) that is not the one handled under its id."""
        below = self.offset()
        return below is not None and any(u.update_id < below and not self.journal.same(u) for u in updates)

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
                self._look = True
                await self._sleep(backoff * (0.75 + random.random() / 2))
                backoff = min(backoff * 2, 30.0)
                continue
            if updates is None:
                break
            if self._looked and not updates:
                self._look = True  # nothing yet tells a server that started over from the same one
            if self._started_over(updates):
                log.warning(
                    "the Bot API server started over (update ids went back below %s to %d): every update it has is new",
                    self.offset(), min(u.update_id for u in updates),
                )  # fmt: skip
                self._orphans.update(self.inflight.values())
                self.inflight, self.max_seen = {}, -1
                self.journal.start_over()
            if self._sent_offset is not None:
                self.journal.confirm(self._sent_offset)  # that getUpdates succeeded: Telegram confirmed below it
            fresh = []
            for update in updates:
                if update.update_id in self.inflight or self.journal.handled_now(update.update_id):
                    continue  # handled (or being handled) by this process, and seen again until confirmed
                if self.journal.handled(update):
                    log.info("update %d skipped: handled before the restart (update journal)", update.update_id)
                    continue
                fresh.append(update)
            for update in fresh:
                self.max_seen = max(self.max_seen, update.update_id)
                self.inflight[update.update_id] = asyncio.create_task(self._handle(update))
            for update in updates:
                self.max_seen = max(self.max_seen, update.update_id)
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
        self._looked, self._look = self._look, False
        self._sent_offset = offset = None if self._looked else self.offset()  # a look confirms nothing
        poll = asyncio.ensure_future(
            self.app.bot.get_updates(
                offset=offset,
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
        if self.inflight or self._orphans:
            log.info("finishing %d update(s) in hand", len(self.inflight) + len(self._orphans))
            await asyncio.wait([*self.inflight.values(), *self._orphans], timeout=timeout)
        offset = self.offset()
        if offset is not None:
            with contextlib.suppress(TelegramError):
                await self.app.bot.get_updates(offset=offset, timeout=0, limit=1)
                self.journal.confirm(offset)

    async def _sleep(self, seconds: float) -> None:
        """Wait (a back-off, a 429's retry_after) while still beating: waiting is not being stuck."""
        end = asyncio.get_running_loop().time() + seconds
        while not self._stopping.is_set() and (left := end - asyncio.get_running_loop().time()) > 0:
            self.heartbeat()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=min(left, 15.0))

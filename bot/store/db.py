"""The question store: what was asked, whether the sources answered it, what was quoted, and the vote.

One SQLite file (stdlib sqlite3, WAL), schema versioned with `PRAGMA user_version`. Writes go through
one writer thread fed by a bounded queue, so the event loop only ever enqueues: a slow disk, a locked
or broken file delays nothing and crashes nothing; a failed write is logged and forgotten. Each row is
its own transaction, so a process killed mid-write loses at most the row in flight.
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import Settings

log = logging.getLogger(__name__)

DAY = 86_400.0
EXPIRE_EVERY = 3_600.0  # seconds between two expiry sweeps of a long-running writer
QUEUE_MAX = 10_000  # writes waiting at most; beyond that a write is dropped (and logged)
COMMENT_MAX = 500  # characters of a comment kept

# Migration n (0-based) takes the schema from version n to n + 1. Append; never edit a released one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE questions (
        id INTEGER PRIMARY KEY,   -- chosen by the writer's caller (random), so no round trip is needed
        at REAL NOT NULL,         -- Unix time of the answer
        origin TEXT NOT NULL,     -- telegram | console
        question TEXT NOT NULL,
        lang TEXT NOT NULL,       -- en | ru
        answered INTEGER NOT NULL,-- 1: quoted the sources, 0: declined
        passages TEXT NOT NULL,   -- JSON list of the quoted passage ids, best first
        vote INTEGER,             -- 1 👍, -1 👎, NULL none
        comment TEXT,             -- what a 👎 said it was looking for
        user_id INTEGER,          -- only with STORE_USER_IDS=on
        chat_id INTEGER           -- only with STORE_USER_IDS=on
    );
    CREATE INDEX questions_at ON questions (at);
    """,
)


class StoreError(Exception):
    """The store cannot be opened (a newer schema, a file that is not a database, no permission)."""


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    at: float
    origin: str
    question: str
    lang: str
    answered: bool
    passages: tuple[str, ...]
    vote: int | None = None
    comment: str | None = None
    user_id: int | None = None
    chat_id: int | None = None


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Bring the schema up to date, one transaction per step; a failed step leaves the previous version."""
    version = schema_version(conn)
    if version > len(migrations):
        raise StoreError(f"schema version {version} is newer than this csto-bot knows ({len(migrations)})")
    for step in range(version, len(migrations)):
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{migrations[step]}\nPRAGMA user_version = {step + 1};\nCOMMIT;")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.rollback()
            raise
        log.info("question store: schema migrated to version %d", step + 1)
    return len(migrations)


def connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, timeout=5)
    else:
        conn = sqlite3.connect(path, isolation_level=None, timeout=5, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL: a committed row survives a killed process
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class Store:
    """Questions and outcomes. `record`, `vote` and `comment` never block; reads open their own connection."""

    def __init__(
        self,
        path: Path,
        *,
        keep_days: int = 90,
        user_ids: bool = False,
        clock: Callable[[], float] = time.time,
        migrations: Sequence[str] = MIGRATIONS,
        queue_max: int = QUEUE_MAX,
    ) -> None:
        self.path = path
        self.keep_days = keep_days
        self.user_ids = user_ids
        self.clock = clock
        self.failed_writes = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = connect(path)
            migrate(conn, migrations)
            conn.execute("SELECT count(*) FROM questions").fetchone()
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"{path}: {e}") from e
        self._conn = conn
        self._queue: queue.Queue[tuple[str, tuple[Any, ...]] | None] = queue.Queue(queue_max)
        self._last_expiry = 0.0
        self._thread = threading.Thread(target=self._write_loop, name="question-store", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------------------------------- writes

    def record(
        self,
        question: str,
        lang: str,
        answered: bool,
        passages: Sequence[str],
        origin: str = "telegram",
        user_id: int | None = None,
        chat_id: int | None = None,
    ) -> int:
        """Queue a question and its outcome; returns the row's id at once (for the vote buttons)."""
        row_id = secrets.randbits(62) + 1
        if not self.user_ids:
            user_id = chat_id = None
        self._put(
            "INSERT INTO questions (id, at, origin, question, lang, answered, passages, user_id, chat_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (row_id, self.clock(), origin, question, lang, int(answered), json.dumps(list(passages)), user_id, chat_id),
        )
        return row_id

    def vote(self, row_id: int, value: int) -> None:
        """Set the vote (1 or -1): a second vote replaces the first."""
        self._put("UPDATE questions SET vote = ? WHERE id = ?", (1 if value > 0 else -1, row_id))

    def comment(self, row_id: int, text: str) -> None:
        self._put("UPDATE questions SET comment = ? WHERE id = ?", (text.strip()[:COMMENT_MAX], row_id))

    def expire(self) -> None:
        """Delete the rows older than `keep_days` (also done at start and every hour by the writer)."""
        self._put("", ())

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued write is done (tests, a leaving console); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)
        return not self._queue.unfinished_tasks

    def close(self, timeout: float = 10.0) -> None:
        """Finish the queued writes, then stop the writer."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            log.warning("question store: %d writes still queued at exit are lost", self._queue.qsize())
            return
        self._thread.join(timeout)

    def _put(self, sql: str, params: tuple[Any, ...]) -> None:
        try:
            self._queue.put_nowait((sql, params))
        except queue.Full:
            self.failed_writes += 1
            log.warning("question store: %d writes waiting, one dropped", self._queue.qsize())

    def _write_loop(self) -> None:
        conn = self._conn
        self._expire(conn)
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    conn.close()
                    return
                sql, params = item
                if not sql or self.clock() - self._last_expiry > EXPIRE_EVERY:
                    self._expire(conn)
                if sql:
                    conn.execute(sql, params)  # autocommit: each row is its own transaction
            except sqlite3.Error as e:
                self.failed_writes += 1
                log.warning("question store: a write failed (%s); the bot carries on", e)
            finally:
                self._queue.task_done()

    def _expire(self, conn: sqlite3.Connection) -> None:
        now = self.clock()
        self._last_expiry = now
        try:
            deleted = conn.execute("DELETE FROM questions WHERE at < ?", (now - self.keep_days * DAY,)).rowcount
        except sqlite3.Error as e:
            log.warning("question store: expiry failed (%s)", e)
            return
        if deleted:
            log.info("question store: %d question(s) older than %d days deleted", deleted, self.keep_days)

    # ---------------------------------------------------------------------------------------- reads

    def rows(self, days: float | None = None) -> list[Row]:
        """The stored questions of the last `days` days (default: all kept), oldest first."""
        return read_rows(self.path, self.clock() - (days if days is not None else self.keep_days) * DAY)


def read_rows(path: Path, since: float = 0.0) -> list[Row]:
    """Rows at or after `since` from a store file, read-only (the report; also while the bot runs)."""
    conn = connect(path, readonly=True)
    try:
        if schema_version(conn) < 1:
            return []
        cursor = conn.execute(
            "SELECT id, at, origin, question, lang, answered, passages, vote, comment, user_id, chat_id"
            " FROM questions WHERE at >= ? ORDER BY at, id",
            (since,),
        )
        return [Row(r[0], r[1], r[2], r[3], r[4], bool(r[5]), tuple(_passages(r[6])), r[7], r[8], r[9], r[10]) for r in cursor]
    finally:
        conn.close()


def _passages(text: str) -> list[str]:
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def open_store(settings: Settings) -> Store | None:
    """The store the settings ask for, or None (STORE_QUESTIONS=off, or it cannot be opened: logged)."""
    if not settings.store_questions:
        return None
    try:
        return Store(settings.store_path(), keep_days=settings.store_days, user_ids=settings.store_user_ids)
    except StoreError as e:
        log.warning("question store unavailable, questions are not kept: %s", e)
        return None

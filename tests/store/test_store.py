"""The question store: schema migrations, expiry, privacy, failures that must not stop the bot, SIGKILL."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.store.db import DAY, MIGRATIONS, Store, StoreError, migrate, read_rows, schema_version
from tests.conftest import ROOT


class Clock:
    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_new_store_is_at_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    row_id = store.record("When was the CSTO created?", "en", True, ["a:1", "a:2"])
    store.close()
    conn = sqlite3.connect(tmp_path / "s.sqlite3")
    assert schema_version(conn) == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    [row] = read_rows(tmp_path / "s.sqlite3")
    assert (row.id, row.question, row.answered, row.passages, row.vote) == (
        row_id,
        "When was the CSTO created?",
        True,
        ("a:1", "a:2"),
        None,
    )


def test_migrations_apply_in_order_and_keep_the_rows(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    store.record("q", "en", False, [])
    store.close()
    # A later release adds a step: the existing file is brought up to it, rows intact.
    later = (*MIGRATIONS, "ALTER TABLE questions ADD COLUMN channel TEXT;")
    Store(path, migrations=later).close()
    conn = sqlite3.connect(path)
    assert schema_version(conn) == len(later)
    assert conn.execute("SELECT question, channel FROM questions").fetchall() == [("q", None)]


def test_a_failed_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    Store(path).close()
    broken = (*MIGRATIONS, "ALTER TABLE questions ADD COLUMN ok TEXT; THIS IS NOT SQL;")
    with pytest.raises(StoreError):
        Store(path, migrations=broken)
    conn = sqlite3.connect(path)
    assert schema_version(conn) == len(MIGRATIONS)
    assert "ok" not in [c[1] for c in conn.execute("PRAGMA table_info(questions)")]  # rolled back whole


def test_a_newer_schema_or_a_foreign_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    conn = sqlite3.connect(path)
    migrate(conn)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(path)
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        Store(junk)


def test_votes_replace_each_other_and_comments_are_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    row_id = store.record("q", "en", True, ["a:1"])
    store.vote(row_id, 1)
    store.vote(row_id, -1)
    store.vote(row_id, -1)
    store.comment(row_id, "  the founding treaty  " + "x" * 1000)
    store.close()
    [row] = read_rows(tmp_path / "s.sqlite3")
    assert (
        row.vote == -1 and row.comment is not None and row.comment.startswith("the founding treaty") and len(row.comment) == 500
    )


def test_expiry_deletes_what_is_older_than_store_days(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "s.sqlite3"
    store = Store(path, keep_days=90, clock=clock)
    store.record("old", "en", True, [])
    clock.now += 30 * DAY
    store.record("recent", "en", True, [])
    store.flush()
    clock.now += 61 * DAY  # "old" is 91 days old now, "recent" 61
    store.expire()
    store.flush()
    assert [r.question for r in read_rows(path)] == ["recent"]
    assert [r.question for r in store.rows(days=7)] == []
    store.close()
    # a store opened later sweeps at once
    clock.now += 30 * DAY
    Store(path, keep_days=90, clock=clock).close()
    assert read_rows(path) == []


def test_no_user_or_chat_id_unless_asked_for(tmp_path: Path) -> None:
    off = Store(tmp_path / "off.sqlite3")
    off.record("q", "en", True, [], user_id=4242, chat_id=-100777)
    off.close()
    on = Store(tmp_path / "on.sqlite3", user_ids=True)
    on.record("q", "en", True, [], user_id=4242, chat_id=-100777)
    on.close()
    assert [(r.user_id, r.chat_id) for r in read_rows(tmp_path / "off.sqlite3")] == [(None, None)]
    assert [(r.user_id, r.chat_id) for r in read_rows(tmp_path / "on.sqlite3")] == [(4242, -100777)]
    columns = sqlite3.connect(tmp_path / "off.sqlite3").execute("SELECT count(*) FROM questions WHERE user_id IS NOT NULL")
    assert columns.fetchone()[0] == 0


def test_a_failing_write_is_logged_and_the_caller_carries_on(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the file: writes cannot get through
    store._conn.execute("PRAGMA busy_timeout=50")
    started = time.monotonic()
    store.record("q", "en", True, [])
    assert time.monotonic() - started < 0.05  # the caller only enqueues
    assert store.flush()
    assert store.failed_writes == 1 and "a write failed" in caplog.text
    blocker.rollback()
    store.record("q2", "en", True, [])
    store.close()
    assert [r.question for r in read_rows(path)] == ["q2"]


def test_a_full_queue_drops_and_never_blocks(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3", queue_max=1)
    blocker = sqlite3.connect(tmp_path / "s.sqlite3", timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    for i in range(50):
        store.record(f"q{i}", "en", True, [])
    assert time.monotonic() - started < 0.5
    assert store.failed_writes >= 40
    blocker.rollback()
    store.close()


WRITER = """
import sys
from pathlib import Path
from bot.store.db import Store
store = Store(Path(sys.argv[1]))
i = 0
while True:
    store.record(f"question {i}", "en", i % 2 == 0, [f"doc:{i}"])
    store.flush()
    print(i, flush=True)  # committed
    i += 1
"""


@pytest.mark.slow  # kills a writer process
def test_sigkill_mid_write_loses_at_most_the_row_in_flight(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    for run in range(3):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert proc.stdout is not None
        confirmed = -1
        deadline = time.monotonic() + 0.4 + run * 0.3
        for line in proc.stdout:
            confirmed = int(line)
            if time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for line in proc.stdout:  # committed and printed before the kill landed
            confirmed = int(line)
        rows = [r.question for r in read_rows(path) if r.question.startswith("question")]
        kept = {int(q.split()[1]) for q in rows}
        # every row confirmed before the kill is there; beyond it, at most the one in flight
        assert set(range(confirmed + 1)) <= kept, (run, confirmed, len(kept))
        assert len(kept - set(range(confirmed + 1))) <= 1  # the row in flight: committed, not yet printed
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("DELETE FROM questions")
        conn.commit()
        conn.close()
    Store(path).close()  # and it opens again

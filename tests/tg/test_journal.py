"""The update journal cannot drop a new update: keyed to bot and server, offset-bounded, content-checked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from telegram import Update

from bot.tg.polling import Journal, journal_key

KEY = journal_key(7000000001, "http://127.0.0.1:1/bot")


def message(update_id: int, text: str, message_id: int = 1, date: int = 1700000000) -> Update:
    data = {
        "update_id": update_id,
        "message": {"message_id": message_id, "date": date, "text": text, "chat": {"id": 42, "type": "private"},
                    "from": {"id": 42, "is_bot": False, "first_name": "U"}},
    }  # fmt: skip
    update = Update.de_json(data, None)
    assert update is not None
    return update


def test_a_redelivered_update_is_recognised_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "journal"
    journal = Journal(path, KEY)
    journal.add(message(5, "When was the CSTO created?"))
    again = Journal(path, KEY)
    assert again.handled(message(5, "When was the CSTO created?"))
    # the same id with other content is a new update (a fresh server, ids restarted): never dropped
    assert not again.handled(message(5, "Who are the members?", message_id=9))


def test_ids_below_the_confirmed_offset_are_not_trusted(tmp_path: Path) -> None:
    path = tmp_path / "journal"
    journal = Journal(path, KEY)
    for i in (1, 2, 3):
        journal.add(message(i, "q"))
    journal.confirm(2)  # 1 is confirmed: Telegram never delivers it again
    again = Journal(path, KEY)
    assert again.confirmed == 2 and again.ids == {2, 3}
    assert not again.handled(message(1, "q"))
    assert again.handled(message(3, "q"))


def test_another_bot_or_server_starts_afresh(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "journal"
    Journal(path, KEY).add(message(1, "q"))
    caplog.set_level(logging.INFO)
    for other in (journal_key(7000000002, "http://127.0.0.1:1/bot"), journal_key(7000000001, "https://api.example/bot")):
        journal = Journal(path, other)
        assert journal.ids == set() and not journal.handled(message(1, "q"))
    assert "belongs to another bot or Bot API server" in caplog.text
    assert "127.0.0.1" not in path.read_text()  # the URL is hashed, never written


def test_ids_going_back_forget_everything_from_before(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "journal"
    journal = Journal(path, KEY)
    for i in (100, 101, 102):
        journal.add(message(i, "old"))
    # killed with 100..102 handled but unconfirmed; the server restarts with ids from 1
    caplog.set_level(logging.INFO)
    restarted = Journal(path, KEY)
    restarted.add(message(1, "new"))
    restarted.add(message(2, "new"))
    restarted.confirm(2)  # lower than nothing confirmed before? 0 → 2 is forward; now the real reset:
    restarted.confirm(200)
    restarted.add(message(201, "x"))
    restarted.confirm(1)  # back below: the server started over
    assert "went back from 200 to 1" in caplog.text
    assert restarted.ids == {201}  # only what this process handled survives
    assert Journal(path, KEY).ids == {201}


def test_a_torn_line_costs_only_itself(tmp_path: Path) -> None:
    path = tmp_path / "journal"
    journal = Journal(path, KEY)
    journal.add(message(7, "q"))
    journal.add(message(8, "q"))
    with path.open("ab") as f:
        f.write(b"9 \x00\xff\n1")
    again = Journal(path, KEY)
    assert {7, 8} <= again.ids and again.handled(message(8, "q"))


def test_a_look_tells_a_redelivery_from_a_server_that_started_over(tmp_path: Path) -> None:
    from typing import Any, cast

    from bot.tg.polling import Poller

    journal = Journal(tmp_path / "journal", KEY)
    poller = Poller(cast(Any, None), journal)
    for i in (1, 2, 3):
        journal.add(message(i, f"question {i}", message_id=i))
    poller.max_seen = 3  # the next offset is 4
    # the same server, after a cut poll: what was handled comes again, byte for byte, and maybe more
    assert not poller._started_over((message(3, "question 3", message_id=3), message(4, "a new one", message_id=4)))
    # a server with a new state: id 1 again, another message
    assert poller._started_over((message(1, "another question", message_id=10),))
    journal.start_over()
    assert journal.ids == set() and journal.confirmed == 0
    assert not journal.handled(message(1, "question 1", message_id=1))

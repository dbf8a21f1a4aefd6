"""Votes under answers and the reply a 👎 may be followed by: the Telegram side's pure parts.

A vote button's callback data is `v:<answer key>:+` or `v:<answer key>:-` (at most 16 bytes); the key
is the answer state's, unguessable and bound to its chat, so a vote reaches only its own answer.
The chosen vote is marked on the keyboard; pressing it again changes nothing, pressing the other one
replaces it. After a 👎 the bot asks what the user was looking for; their next message (in a private
chat) or their reply to that question (in a group) within `COMMENT_WINDOW` is kept with the vote.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

UP, DOWN = "👍", "👎"
CHOSEN = " ✓"
COMMENT_WINDOW = 300.0  # seconds after the prompt during which a reply is taken as the comment
PENDING_MAX = 10_000


def vote_buttons(key: str) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(UP, callback_data=f"v:{key}:+"), InlineKeyboardButton(DOWN, callback_data=f"v:{key}:-")]


def mark_vote(markup: InlineKeyboardMarkup, value: int) -> InlineKeyboardMarkup | None:
    """The keyboard with the chosen vote marked and the other unmarked; None if it shows that already."""
    changed = False
    rows = []
    for row in markup.inline_keyboard:
        new_row = []
        for button in row:
            data = button.callback_data if isinstance(button.callback_data, str) else ""
            if data.startswith("v:") and data[-1:] in "+-":
                up = data.endswith("+")
                text = (UP if up else DOWN) + (CHOSEN if up == (value > 0) else "")
                changed = changed or text != button.text
                button = InlineKeyboardButton(text, callback_data=data)
            new_row.append(button)
        rows.append(new_row)
    return InlineKeyboardMarkup(rows) if changed else None


@dataclass(frozen=True, slots=True)
class Pending:
    record: int
    prompt_id: int
    private: bool
    deadline: float


class PendingComments:
    """Who was asked "what were you looking for?", per chat and user: bounded and expiring."""

    def __init__(
        self, window: float = COMMENT_WINDOW, capacity: int = PENDING_MAX, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window = window
        self.capacity = capacity
        self.clock = clock
        self._items: OrderedDict[tuple[int, int], Pending] = OrderedDict()
        self._lock = threading.Lock()

    def waiting(self, chat_id: int, user_id: int, record: int) -> bool:
        """Whether this user was already asked about this answer (and has not replied yet)."""
        with self._lock:
            item = self._items.get((chat_id, user_id))
        return item is not None and item.record == record and item.deadline > self.clock()

    def expect(self, chat_id: int, user_id: int, record: int, prompt_id: int, private: bool) -> None:
        with self._lock:
            self._items.pop((chat_id, user_id), None)
            self._items[(chat_id, user_id)] = Pending(record, prompt_id, private, self.clock() + self.window)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def take(self, chat_id: int, user_id: int, reply_to: int | None) -> int | None:
        """The record a message comments on, if it is the awaited reply; it is awaited only once.

        In a private chat, the next message counts; in a group, only a reply to the prompt, so that the
        user's other messages and everybody else's are left alone."""
        with self._lock:
            item = self._items.get((chat_id, user_id))
            if item is None:
                return None
            if item.deadline <= self.clock():
                del self._items[(chat_id, user_id)]
                return None
            if not item.private and reply_to != item.prompt_id:
                return None
            del self._items[(chat_id, user_id)]
            return item.record

    def __len__(self) -> int:
        return len(self._items)

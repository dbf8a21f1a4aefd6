"""Per-answer state behind the inline buttons: bounded, expiring, bound to the chat it was sent to."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AnswerState:
    question: str
    offset: int  # position of the first quotation shown
    passage_ids: tuple[str, ...]  # the quotations shown, in order
    source_ids: tuple[str, ...]  # their documents, numbered [1], [2], … in this order
    chat_id: int
    lang: str
    more: bool
    record: int | None = None  # the question's row in the question store (None: not kept)
    asker: int | None = None  # the user who asked: only they rate the answer


class AnswerStore:
    """At most `capacity` states, each forgotten `ttl` seconds after it was stored (least recent first)."""

    def __init__(self, capacity: int = 10_000, ttl: float = 3600, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, AnswerState]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, state: AnswerState) -> str:
        """Store a state; returns its key (11 URL-safe characters, unguessable)."""
        key = secrets.token_urlsafe(8)
        with self._lock:
            self._expire()
            self._items[key] = (self._clock(), state)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return key

    def get(self, key: str, chat_id: int) -> AnswerState | None:
        """The state, if it exists, has not expired and belongs to this chat."""
        with self._lock:
            self._expire()
            item = self._items.get(key)
        if item is None or item[1].chat_id != chat_id:
            return None
        return item[1]

    def __len__(self) -> int:
        return len(self._items)

    def _expire(self) -> None:
        deadline = self._clock() - self.ttl
        while self._items:
            stored, _ = next(iter(self._items.values()))
            if stored >= deadline:
                break
            self._items.popitem(last=False)

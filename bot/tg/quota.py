"""Per-user rate limit: a sliding window of recent questions, bounded in users remembered."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from enum import Enum


class Verdict(Enum):
    ALLOW = "allow"
    WARN = "warn"  # the first refused question in a flood: say so, once
    DROP = "drop"  # further refused questions: stay silent


class QuestionQuota:
    def __init__(self, per_minute: int, max_users: int = 50_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.max_users = max_users
        self._clock = clock
        self._users: OrderedDict[int, tuple[deque[float], bool]] = OrderedDict()

    def check(self, user_id: int) -> Verdict:
        if self.per_minute <= 0:
            return Verdict.ALLOW
        now = self._clock()
        times, warned = self._users.pop(user_id, (deque(), False))
        while times and times[0] <= now - 60:
            times.popleft()
        if len(times) < self.per_minute:
            times.append(now)
            verdict, warned = Verdict.ALLOW, False
        else:
            verdict, warned = (Verdict.DROP, True) if warned else (Verdict.WARN, True)
        self._users[user_id] = (times, warned)
        while len(self._users) > self.max_users:
            self._users.popitem(last=False)
        return verdict

    def retry_after(self, user_id: int) -> int:
        """Seconds until this user may ask again."""
        times = self._users.get(user_id, (deque(), False))[0]
        return max(1, int(60 - (self._clock() - times[0])) + 1) if times else 1

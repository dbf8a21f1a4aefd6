"""Liveness: the running bot touches a heartbeat file; `csto-bot health` checks that it is fresh."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from bot.config import Settings

STALE_AFTER = 90.0  # seconds: a long poll lasts 20 s, so a healthy loop beats far more often


def heartbeat_path(settings: Settings) -> Path:
    return settings.heartbeat_file or Path(tempfile.gettempdir()) / "csto-bot.heartbeat"


class Heartbeat:
    def __init__(self, path: Path) -> None:
        self.path = path

    def beat(self) -> None:
        try:
            self.path.touch()
        except OSError:  # a full or read-only disk must not stop the bot; health will say so
            pass


def check_health(settings: Settings, now: float | None = None) -> int:
    path = heartbeat_path(settings)
    try:
        age = (now if now is not None else time.time()) - path.stat().st_mtime
    except OSError:
        print(f"unhealthy: no heartbeat at {path} (is the bot running?)", file=sys.stderr)
        return 1
    if age > STALE_AFTER:
        print(f"unhealthy: last heartbeat {age:.0f} s ago (limit {STALE_AFTER:.0f} s)", file=sys.stderr)
        return 1
    print(f"healthy: last heartbeat {age:.0f} s ago")
    return 0

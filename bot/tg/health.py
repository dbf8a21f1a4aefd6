"""Liveness: the running bot touches a heartbeat file; `csto-bot health` checks that it is fresh."""

from __future__ import annotations

import faulthandler
import logging
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings

STALE_AFTER = 90.0  # seconds: a long poll lasts 20 s, so a healthy loop beats far more often
log = logging.getLogger(__name__)


def heartbeat_path(settings: Settings) -> Path:
    return settings.heartbeat_file or Path(tempfile.gettempdir()) / "csto-bot.heartbeat"


class Heartbeat:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.last: float | None = None  # time.monotonic() of the last beat; None before the first

    def beat(self) -> None:
        self.last = time.monotonic()
        try:
            self.path.touch()
        except OSError:  # a full or read-only disk must not stop the bot; health will say so
            pass


def start_watchdog(
    heartbeat: Heartbeat, limit: float = STALE_AFTER, every: float = 5.0, exit: Callable[[int], object] = os._exit
) -> threading.Thread:
    """End the process when the running bot has not beaten for `limit` seconds (a blocked event loop,
    a hung call), so that a restart policy (compose's `restart:`, systemd's `Restart=`) starts a fresh
    one: Docker only marks a container unhealthy, it never restarts it. Armed by the first beat, so a
    bot still waiting for Telegram at start-up is left to its own retries."""

    def watch() -> None:
        while True:
            time.sleep(every)
            last = heartbeat.last
            if last is not None and (silent := time.monotonic() - last) > limit:
                log.critical("no heartbeat for %.0f s: the bot is stuck; exiting so that it is restarted", silent)
                faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
                exit(70)
                return

    thread = threading.Thread(target=watch, name="watchdog", daemon=True)
    thread.start()
    return thread


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

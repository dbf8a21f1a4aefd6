"""The type of the PTB application that `build_application` assembles, for annotations.

PTB's Application is generic in six types. Ours has PTB's default context types, and a bot whose
rate limiter (`RetryingLimiter`, an `AIORateLimiter`) takes an int per call: the retries allowed.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, ContextTypes, ExtBot, JobQueue

BotApp = Application[
    ExtBot[int],
    ContextTypes.DEFAULT_TYPE,
    dict[Any, Any],
    dict[Any, Any],
    dict[Any, Any],
    JobQueue[ContextTypes.DEFAULT_TYPE],
]

"""What the bot retries when a call to Telegram fails, so that no answer is lost and none is sent twice.

The Bot API has no idempotency key: a message sent twice arrives twice. So a call is retried only when
Telegram surely did not act on it:

* 429 Too Many Requests: Telegram refused the call and said when to try again. PTB's AIORateLimiter
  (our base class) waits `retry_after` and tries again, up to `max_retries` times, pausing every call.
* An answer with an error status that is not a refusal of the request itself (HTTP 5xx: "Internal
  Server Error", nginx's "502 Bad Gateway" page): Telegram answered that it failed.
* Nothing was sent: the connection was refused, connecting timed out, or no pooled connection became
  free.

These are retried with exponential backoff and jitter (0.5 s, 1 s, 2 s, 4 s, 8 s, each ±50 %), at most
`error_retries` times; after that the error reaches the handler's error path, which tells the user.

Not retried, because Telegram may have delivered the message already: a read timeout after the request
went out, a connection dropped before the answer, any other transport error once the request was
written. Sending again would answer twice; instead the error goes to the error path once.
Deterministic refusals (400 Bad Request, 403, 401/404, 409) are not retried either: they would fail
again.

getUpdates never passes through a rate limiter (PTB's ExtBot sends it directly), so the poller's own
backoff (bot.tg.polling) is the only retry there; nothing is retried twice over.

sendChatAction ("typing…") is cosmetic: it is sent only when the flood budget has room at once and no
other call is waiting for it, never retried, and otherwise skipped, so it never delays an answer or
spends budget an answer needs.

At most `max_concurrent` (16) calls are on the wire at once: Telegram's flood limits allow about 30
messages a second, so more parallel connections would only cost CPU (httpcore scans its whole pool
for every request) and sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

# httpx errors raised before any byte of the request reached Telegram.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
COSMETIC = frozenset({"sendChatAction"})
Result = bool | dict[str, Any] | list[dict[str, Any]]
Callback = Callable[..., Coroutine[Any, Any, Result]]


def surely_not_processed(error: BaseException) -> bool:
    """Whether Telegram certainly did not act on the call that raised `error` (so retrying is safe).

    PTB raises NetworkError for both an error answer from Telegram (no cause, or the JSON parse
    failure of an HTML error page) and a transport failure (the httpx exception as the cause).
    """
    if isinstance(error, RetryAfter) or not isinstance(error, NetworkError) or isinstance(error, BadRequest):
        return False
    cause = error.__cause__
    if isinstance(error, TimedOut):
        return isinstance(cause, (httpx.ConnectTimeout, httpx.PoolTimeout))
    if cause is None or isinstance(cause, TelegramError):
        return True  # Telegram answered with an error status: it did not perform the method
    return isinstance(cause, NOT_SENT)


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 8.0, rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number `attempt` (0-based): exponential, capped, ±50 % jitter."""
    return min(cap, base * 2.0**attempt) * (0.5 + rng())


class RetryingLimiter(AIORateLimiter):
    """AIORateLimiter (Telegram's flood limits, 429 handling) plus safe retries of failed calls."""

    def __init__(
        self,
        *args: Any,
        error_retries: int = 5,
        max_concurrent: int = 16,
        base_delay: float = 0.5,
        max_delay: float = 8.0,
        sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.error_retries = error_retries
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._sleep = sleep
        self._slots = asyncio.Semaphore(max_concurrent) if max_concurrent > 0 else None

    async def process_request(
        self, callback: Callback, args: Any, kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:  # fmt: skip
        if self._slots is not None:
            callback = self._in_slot(callback)
        if endpoint in COSMETIC:
            return await self._cosmetic(callback, args, kwargs, data)
        attempt = 0
        while True:
            try:
                return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
            except NetworkError as error:
                if attempt >= self.error_retries or not surely_not_processed(error):
                    raise
                delay = backoff_delay(attempt, self.base_delay, self.max_delay)
                log.warning(
                    "%s failed before Telegram acted on it (%s); retry %d/%d in %.1f s",
                    endpoint, error, attempt + 1, self.error_retries, delay,
                )  # fmt: skip
                attempt += 1
                await self._sleep(delay)

    def _in_slot(self, callback: Callback) -> Callback:
        slots = self._slots
        assert slots is not None

        async def limited(*args: Any, **kwargs: Any) -> Result:
            async with slots:
                return await callback(*args, **kwargs)

        return limited

    async def _cosmetic(self, callback: Callback, args: Any, kwargs: dict[str, Any], data: dict[str, Any]) -> Result:
        """Send now if the budget has room and nobody waits for it; else skip, reporting success."""
        limiters = []
        chat_id = data.get("chat_id")
        if self._base_limiter is not None and chat_id is not None:
            limiters.append(self._base_limiter)
        if isinstance(chat_id, str):  # "-100…" is a group's id as text; "@name" stays a string
            with contextlib.suppress(ValueError):
                chat_id = int(chat_id)
        if self._group_max_rate and ((isinstance(chat_id, int) and chat_id < 0) or isinstance(chat_id, str)):
            limiters.append(self._get_group_limiter(chat_id))
        free = self._retry_after_event.is_set() and all(
            not getattr(limiter, "_waiters", None) and limiter.has_capacity() for limiter in limiters
        )
        if not free:
            return True
        for limiter in limiters:
            await limiter.acquire()  # has capacity: returns at once
        return await callback(*args, **kwargs)

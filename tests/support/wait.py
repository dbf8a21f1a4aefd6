"""Waiting on a condition instead of sleeping a fixed time: fast when things go well, patient when slow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def _poll(predicate: Callable[[], T], deadline: float, timeout: float, message: str) -> T | None:
    """One look: the predicate's value when truthy, else None; AssertionError once the deadline is past."""
    value = predicate()
    if value:
        return value
    if time.monotonic() >= deadline:
        raise AssertionError(message or f"condition not met within {timeout} s: {predicate}")
    return None


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, every: float = 0.01, message: str = "") -> T:
    """Poll `predicate` until it returns something truthy, and return that; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while (value := _poll(predicate, deadline, timeout, message)) is None:
        time.sleep(every)
    return value


async def async_wait_until(predicate: Callable[[], T], timeout: float = 10.0, every: float = 0.01, message: str = "") -> T:
    """`wait_until` for coroutines: yields to the event loop between polls."""
    deadline = time.monotonic() + timeout
    while (value := _poll(predicate, deadline, timeout, message)) is None:
        await asyncio.sleep(every)
    return value


def still(predicate: Callable[[], bool], settle: float) -> None:
    """Assert that `predicate` stays true for `settle` s: for checking that something does NOT happen
    (the bot stays silent), where no event can be awaited. The wait is the assertion, not a delay."""
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        assert predicate(), "something happened that should not have"
        time.sleep(0.01)

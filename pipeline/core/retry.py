"""Retrying an HTTP request, as both HTTP clients of newsum do (pipeline.core.fetch for web
inputs, models.server for model servers): how long to wait, and how to name a failure."""

from __future__ import annotations

import datetime
import email.utils
import math
import random


def backoff_delay(attempt: int, retry_after: float | None, backoff: float, cap: float) -> float:
    """Seconds before attempt `attempt + 1`: the server's Retry-After when it gave one,
    else full-jitter exponential backoff; never over `cap`."""
    if retry_after is not None:
        return min(retry_after, cap)
    return random.uniform(0, min(cap, backoff * 2 ** min(attempt, 30)))


def retry_after(value: str | None) -> float | None:
    """A Retry-After header in seconds (given as seconds or as an HTTP date); None when
    absent or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=datetime.timezone.utc)
        seconds = (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
        return max(seconds, 0.0)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def describe(exc: Exception) -> str:
    """An exception as a reason: its type, and its message when it has one."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__

"""What time it is, in one place, so tests and demos can pin it.

`DRILL_NOW` (ISO 8601, e.g. 2026-05-01T09:00:00+00:00) makes every command believe
it is that moment. Scheduling is all about dates, and a test that has to sleep or
read the wall clock is a test that flakes at midnight.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime

from drillkit.errors import ConfigError

NOW_ENV = "DRILL_NOW"

# Every time drillkit handles lies in this window. Schedules add up to a few hundred days
# to a time, so a time near datetime's own limits (year 1 or 9999) would overflow there;
# a pinned or stored time outside it is refused up front instead.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
MAX_TEXT = 64  # the longest ISO 8601 time is 32 characters; more is not a time


def now(env: Mapping[str, str] = os.environ) -> datetime:
    """The current time in UTC (the fsrs scheduler insists on UTC)."""
    pinned = env.get(NOW_ENV)
    if not pinned:
        return datetime.now(UTC)
    try:
        return parse(pinned)
    except ValueError as exc:
        shown = pinned if len(pinned) <= MAX_TEXT else pinned[:MAX_TEXT] + "..."
        raise ConfigError(
            f"{NOW_ENV}={shown!a} {exc}; give an ISO 8601 time like 2026-05-01T09:00:00+00:00"
        ) from None


def to_utc(moment: datetime) -> datetime:
    # A time without a zone is taken as UTC rather than local time: progress files move
    # between machines, and UTC is what they store.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    return to_utc(moment).isoformat(timespec="microseconds")


def parse(text: str) -> datetime:
    """An ISO 8601 time in UTC; ValueError for anything else, including a time out of range."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        raise ValueError("is not an ISO 8601 time")
    try:
        moment = to_utc(datetime.fromisoformat(text))
    except ValueError:
        raise ValueError("is not an ISO 8601 time") from None
    except OverflowError:  # e.g. 0001-01-01T00:00:00+14:00 is before year 1 in UTC
        raise ValueError(f"is outside {EARLIEST.year}-{LATEST.year - 1}") from None
    if not EARLIEST <= moment < LATEST:
        raise ValueError(f"is outside {EARLIEST.year}-{LATEST.year - 1}")
    return moment


def day(moment: datetime) -> str:
    """A date as every drillkit message shows it: "Mon 30 Nov" (the UTC day, like the schedule)."""
    return f"{to_utc(moment):%a %d %b}"

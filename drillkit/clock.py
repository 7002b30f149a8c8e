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


def now(env: Mapping[str, str] = os.environ) -> datetime:
    """The current time in UTC (the fsrs scheduler insists on UTC)."""
    pinned = env.get(NOW_ENV)
    if not pinned:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(pinned)
    except ValueError:
        raise ConfigError(
            f"{NOW_ENV}={pinned!r} is not an ISO 8601 time like 2026-05-01T09:00:00+00:00"
        ) from None
    return to_utc(moment)


def to_utc(moment: datetime) -> datetime:
    # A time without a zone is taken as UTC rather than local time: progress files move
    # between machines, and UTC is what they store.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso(moment: datetime) -> str:
    return to_utc(moment).isoformat(timespec="microseconds")


def parse(text: str) -> datetime:
    return to_utc(datetime.fromisoformat(text))


def day(moment: datetime) -> str:
    """A date as every drillkit message shows it: "Mon 30 Nov" (the UTC day, like the schedule)."""
    return f"{to_utc(moment):%a %d %b}"

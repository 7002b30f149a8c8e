"""The data behind `drill progress`'s picture: checks per day lately, and what falls due soon,
for one pack (the active one, like the rest of `drill progress`).

Days are UTC days, like every date drillkit shows ("Mon 30 Nov") and stores.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from drillkit import clock, progress
from drillkit.pack.model import Pack
from drillkit.paths import Paths

WEEKS = 16  # the heatmap: about four months, whole weeks from a Monday
UPCOMING_DAYS = 14  # the bar chart: today and the next 13 days


@dataclass(frozen=True)
class DayChecks:
    day: date
    checks: int


@dataclass(frozen=True)
class DayDue:
    day: date
    reviews: int  # drill reviews falling due that day (overdue ones count today)
    cards: int  # flashcards falling due that day (overdue and never-seen ones count today)


@dataclass(frozen=True)
class Activity:
    today: date
    checks: list[DayChecks]  # every day from the Monday WEEKS weeks back up to today
    upcoming: list[DayDue]  # today first, UPCOMING_DAYS days

    @property
    def total_checks(self) -> int:
        return sum(d.checks for d in self.checks)

    @property
    def active_days(self) -> int:
        return sum(1 for d in self.checks if d.checks)


def activity(paths: Paths, pack: Pack | None = None, now: datetime | None = None) -> Activity:
    from drillkit.pack.catalog import active_pack

    pack = pack or active_pack(paths)
    loaded = progress.load(paths.progress_file)
    return summarize(loaded.progress, pack, now or clock.now())


def summarize(p: progress.Progress, pack: Pack, now: datetime) -> Activity:
    """Pure: the picture's numbers for `pack` from a progress document at `now`."""
    mine = p.view(pack.id)
    today = clock.to_utc(now).date()
    per_day: Counter[date] = Counter()
    for entry in mine.drills.values():
        # A file from before `history` existed still knows each drill's last check.
        stamps = entry.history or ([entry.last_attempt] if entry.last_attempt else [])
        per_day.update(clock.parse(stamp).date() for stamp in stamps)
    first = today - timedelta(days=today.weekday() + 7 * (WEEKS - 1))
    checks = [
        DayChecks(first + timedelta(days=n), per_day[first + timedelta(days=n)])
        for n in range((today - first).days + 1)
    ]

    def slot(when: datetime) -> date:
        return max(today, clock.to_utc(when).date())  # anything overdue is due today

    reviews: Counter[date] = Counter()
    for drill in pack.drills:
        due = mine.get(drill.slug).review.due_at()
        if due is not None:
            reviews[slot(due)] += 1
    cards: Counter[date] = Counter()
    for card in pack.deck.cards:
        state = mine.cards.get(card.id)
        cards[slot(state.due_at()) if state else today] += 1
    upcoming = [
        DayDue(day, reviews[day], cards[day])
        for day in (today + timedelta(days=n) for n in range(UPCOMING_DAYS))
    ]
    return Activity(today, checks, upcoming)

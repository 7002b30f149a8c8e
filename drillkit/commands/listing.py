"""`drill list`: every drill with its status and review date, cards due, the self-check."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from drillkit import clock, progress
from drillkit.attempts import workspace_file
from drillkit.pack.catalog import Catalog, Drill, load_catalog
from drillkit.paths import Paths
from drillkit.progress import DrillProgress, Status
from drillkit.retention import schedule
from drillkit.retention.deck import Deck, Skill, load_deck
from drillkit.retention.schedule import ReviewState


@dataclass(frozen=True)
class DrillRow:
    drill: Drill
    status: Status | str
    attempts: int
    last_attempt: str | None
    file: Path | None
    review: ReviewState
    review_due: bool


@dataclass(frozen=True)
class SkillRow:
    number: int
    skill: Skill
    ticked: bool
    earned: bool
    why_not: str | None  # for a tick not yet earned: which drill still has to prove it
    short_why: str | None = None  # the same in a few words, for the dashboard's one-line list


@dataclass(frozen=True)
class Listing:
    rows: list[DrillRow]
    warning: str | None
    now: datetime
    cards_due: int
    cards_total: int
    skills: list[SkillRow]

    @property
    def reviews_due(self) -> list[DrillRow]:
        due = [r for r in self.rows if r.review_due]
        return sorted(due, key=lambda r: (r.review.due or "", r.drill.number))

    @property
    def next_review(self) -> DrillRow | None:
        """The scheduled review that comes soonest (due or not)."""
        scheduled = [r for r in self.rows if r.review.scheduled]
        return min(scheduled, key=lambda r: (r.review.due or "", r.drill.number), default=None)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.rows if str(r.status).startswith("passed"))

    @property
    def next_drill(self) -> Drill | None:
        for row in self.rows:
            if not str(row.status).startswith("passed"):
                return row.drill
        return None


def display_status(record: DrillProgress, has_file: bool) -> Status | str:
    status = record.status()
    if status == "not started" and has_file:
        return "started"  # scaffolded, never checked
    return status


def list_drills(
    paths: Paths, catalog: Catalog | None = None, deck: Deck | None = None, now: datetime | None = None
) -> Listing:
    """The dashboard: every drill with its status and review date, cards due, the self-check."""
    catalog = catalog or load_catalog(cache_dir=paths.cache)
    deck = deck or load_deck(cache_dir=paths.cache)
    now = now or clock.now()
    loaded = progress.load(paths.progress_file)
    rows = []
    for drill in catalog.drills:
        record = loaded.progress.drills.get(drill.number, DrillProgress())
        file = workspace_file(paths, drill)
        has_file = file.exists()
        rows.append(
            DrillRow(
                drill=drill,
                status=display_status(record, has_file),
                attempts=record.attempts,
                last_attempt=record.last_attempt,
                file=file if has_file else None,
                review=record.review,
                review_due=schedule.is_due(record.review, now),
            )
        )
    cards_due = sum(1 for c in deck.cards if schedule.card_is_due(loaded.progress.cards.get(c.id), now))
    return Listing(
        rows,
        loaded.warning,
        now=now,
        cards_due=cards_due,
        cards_total=len(deck.cards),
        skills=skill_rows(deck, loaded.progress),
    )


def skill_rows(deck: Deck, p: progress.Progress) -> list[SkillRow]:
    rows = []
    for number, skill in enumerate(deck.skills, start=1):
        ticked = skill.id in p.selfcheck
        why_not = short_why = None
        for n in skill.drills:
            entry = p.drills.get(n, DrillProgress())
            if entry.clean_pass:
                continue
            if entry.first_passed_at:
                why_not = f"drill {n} was passed only after `reveal`; a clean `drill review {n}` earns it"
                short_why = f"passed after reveal: needs a clean `drill review {n}`"
            else:
                why_not = f"drill {n} is not passed yet"
                short_why = f"drill {n} not passed"
            break
        earned = ticked and why_not is None
        rows.append(SkillRow(number, skill, ticked, earned, why_not, short_why))
    return rows

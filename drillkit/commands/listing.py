"""`drill list`: every drill with its status and review date, cards due, the self-check."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from drillkit import clock, progress
from drillkit.attempts import workspace_file
from drillkit.pack.model import Drill, Pack, Skill
from drillkit.paths import Paths
from drillkit.progress import DrillProgress, PackProgress, Status
from drillkit.retention import schedule
from drillkit.retention.schedule import ReviewState


# A NamedTuple, not a frozen dataclass: `drill list` imports it (see drillkit/pack/model.py).
class DrillRow(NamedTuple):
    """One drill's line of the dashboard."""

    drill: Drill
    status: Status | str
    attempts: int
    last_attempt: str | None
    file: Path | None
    review: ReviewState
    review_due: bool


class SkillRow(NamedTuple):
    """One self-check item as the dashboard shows it."""

    number: int
    skill: Skill
    ticked: bool
    earned: bool
    why_not: str | None  # for a tick not yet earned: which drill still has to prove it
    short_why: str | None = None  # the same in a few words, for the dashboard's one-line list


class Listing(NamedTuple):
    """`drill list`'s dashboard, ready to render."""

    pack: Pack
    other_packs: list[str]  # ids of the other packs drillkit sees (built-in and added)
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


def list_drills(paths: Paths, pack: Pack | None = None, now: datetime | None = None) -> Listing:
    """The dashboard: every drill with its status and review date, cards due, the self-check."""
    from drillkit.pack.catalog import active_pack, added_sources, builtin_sources

    pack = pack or active_pack(paths)
    now = now or clock.now()
    loaded = progress.load(paths.progress_file)
    mine = loaded.progress.view(pack.id)
    rows = []
    for drill in pack.drills:
        record = mine.get(drill.slug)
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
    cards = pack.deck.cards
    others = [s.id for s in builtin_sources() + added_sources(paths) if s.id != pack.id]
    return Listing(
        pack,
        list(dict.fromkeys(others)),
        rows,
        loaded.warning,
        now=now,
        cards_due=sum(1 for c in cards if schedule.card_is_due(mine.cards.get(c.id), now)),
        cards_total=len(cards),
        skills=skill_rows(pack, mine),
    )


def skill_rows(pack: Pack, p: PackProgress) -> list[SkillRow]:
    rows = []
    for number, skill in enumerate(pack.deck.skills, start=1):
        ticked = skill.id in p.selfcheck
        why_not = short_why = None
        for slug in skill.drills:
            entry = p.get(slug)
            if entry.clean_pass:
                continue
            n = pack.by_slug[slug].number if slug in pack.by_slug else slug
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

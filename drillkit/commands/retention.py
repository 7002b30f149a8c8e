"""Bringing material back when memory fades: drill reviews, flashcards, the self-check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from drillkit import clock, progress
from drillkit.attempts import review_file, workspace_file
from drillkit.commands.listing import SkillRow, skill_rows
from drillkit.errors import LearnerFileError, NotDueError, UnknownSkillError
from drillkit.pack.model import Drill, Pack
from drillkit.pack.text import starter_text
from drillkit.paths import Paths
from drillkit.retention import schedule
from drillkit.retention.schedule import CardState
from drillkit.retention.sessions import CardSessionResult, CardView, QueuedCard, ReadKey, run_cards


@dataclass(frozen=True)
class ReviewStarted:
    drill: Drill
    path: Path
    created: bool  # False: this review's file already existed and was left alone
    attempt: Path | None  # the earlier attempt, untouched
    due_since: datetime
    also_due: list[Drill]


@dataclass(frozen=True)
class NothingDue:
    next_drill: Drill | None  # the soonest scheduled review, if any
    next_due: datetime | None


def review_drill(
    paths: Paths, drill: Drill | None, pack: Pack, now: datetime | None = None
) -> ReviewStarted | NothingDue:
    """Write a blank starter for a due drill of `pack` (the most overdue one if none is named)."""
    now = now or clock.now()
    mine = progress.load(paths.progress_file).progress.view(pack.id)
    state = {d.number: mine.get(d.slug).review for d in pack.drills}
    if drill is not None and drill.pack_id != pack.id:  # `drill review other:slug`
        state[drill.number] = progress.load(paths.progress_file).progress.get(drill).review
    due = sorted(
        (d for d in pack.drills if schedule.is_due(state[d.number], now)),
        key=lambda d: (state[d.number].due or "", d.number),
    )
    if drill is None:
        if not due:
            scheduled = [d for d in pack.drills if state[d.number].scheduled]
            soonest = min(scheduled, key=lambda d: (state[d.number].due or "", d.number), default=None)
            return NothingDue(soonest, state[soonest.number].due_at() if soonest else None)
        drill = due[0]
    review = state[drill.number]
    due_since = review.due_at()
    if due_since is None:
        raise NotDueError(
            f"drill {drill.number} has no review yet: reviews start after its first pass "
            f"(`drill check {drill.number}`)"
        )
    if due_since > now:
        raise NotDueError(
            f"drill {drill.number} is not due for review until {clock.day(due_since)}; "
            "reviewing early would not move its schedule (`drill review` picks a due one)"
        )
    path = review_file(paths, drill, review)
    text = starter_text(drill)  # first: a pack file gone missing must leave no empty review file
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A new file for every review ("x" mode): earlier attempts are never touched.
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
        created = True
    except FileExistsError:
        created = False
    except OSError as exc:
        raise LearnerFileError(f"cannot write {path}: {exc.strerror}") from None
    attempt = workspace_file(paths, drill)
    return ReviewStarted(
        drill=drill,
        path=path,
        created=created,
        attempt=attempt if attempt.exists() else None,
        due_since=due_since,
        also_due=[d for d in due if d is not drill],
    )


@dataclass(frozen=True)
class CardQueue:
    pack_id: str
    cards: list[QueuedCard]
    next_due: datetime | None  # when the next card falls due, for "nothing due" messages
    warning: str | None


def card_queue(paths: Paths, pack: Pack, *, cram: bool = False, now: datetime | None = None) -> CardQueue:
    """Due cards, most overdue first, new ones last (in pack order); `cram`: every card."""
    now = now or clock.now()
    loaded = progress.load(paths.progress_file)
    states = loaded.progress.view(pack.id).cards
    due, not_due = [], []
    for order, card in enumerate(pack.deck.cards):
        state = states.get(card.id)
        if state is None:
            due.append(((1, "", order), QueuedCard(card, None)))  # new: after reviews, in pack order
        elif schedule.card_is_due(state, now):
            due.append(((0, state.due, order), QueuedCard(card, state)))  # most overdue first
        else:
            not_due.append(((state.due, order), QueuedCard(card, state, counts=False)))
    queue = [q for _key, q in sorted(due, key=lambda item: item[0])]
    if cram:
        queue += [q for _key, q in sorted(not_due, key=lambda item: item[0])]
    upcoming = [q.state.due_at() for _key, q in not_due if q.state is not None]
    return CardQueue(pack.id, queue, min(upcoming, default=None), loaded.warning)


def run_card_session(
    paths: Paths, queue: CardQueue, *, read_key: ReadKey, now: Callable[[], datetime], view: CardView
) -> CardSessionResult:
    def record(card_id: str, state: CardState) -> None:
        progress.update(
            paths.progress_file, lambda p: p.pack(queue.pack_id).cards.__setitem__(card_id, state)
        )

    return run_cards(queue.cards, read_key=read_key, clock=now, view=view, record=record)


@dataclass(frozen=True)
class SelfCheck:
    rows: list[SkillRow]
    warning: str | None

    @property
    def ticked(self) -> int:
        return sum(1 for r in self.rows if r.ticked)

    @property
    def earned(self) -> int:
        return sum(1 for r in self.rows if r.earned)


def selfcheck(
    paths: Paths,
    pack: Pack,
    *,
    tick: list[str] | tuple[str, ...] = (),
    untick: list[str] | tuple[str, ...] = (),
    now: datetime | None = None,
) -> SelfCheck:
    """Tick and untick items (by number or id), save, and return the whole list."""
    deck = pack.deck
    to_tick = [deck.skill(ref).id for ref in tick]  # resolve all first: a typo changes nothing
    to_untick = [deck.skill(ref).id for ref in untick]
    both = [skill_id for skill_id in to_tick if skill_id in to_untick]
    if both:
        raise UnknownSkillError(f"item {both[0]!r} is both ticked and unticked: say which you mean")
    if not to_tick and not to_untick:
        loaded = progress.load(paths.progress_file)
        return SelfCheck(skill_rows(pack, loaded.progress.view(pack.id)), loaded.warning)
    stamp = clock.iso(now or clock.now())

    def change(p: progress.Progress) -> None:
        ticks = p.pack(pack.id).selfcheck
        for skill_id in to_tick:
            ticks.setdefault(skill_id, stamp)
        for skill_id in to_untick:
            ticks.pop(skill_id, None)

    loaded = progress.update(paths.progress_file, change)
    return SelfCheck(skill_rows(pack, loaded.progress.view(pack.id)), loaded.warning)


def toggle_skill(paths: Paths, pack: Pack, number: int, now: datetime | None = None) -> SelfCheck:
    """Flip one item, read and written under one lock (two terminals cannot undo each other)."""
    skill_id = pack.deck.skill(str(number)).id
    stamp = clock.iso(now or clock.now())

    def change(p: progress.Progress) -> None:
        ticks = p.pack(pack.id).selfcheck
        if ticks.pop(skill_id, None) is None:
            ticks[skill_id] = stamp

    loaded = progress.update(paths.progress_file, change)
    return SelfCheck(skill_rows(pack, loaded.progress.view(pack.id)), loaded.warning)

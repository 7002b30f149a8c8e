"""When things come back: pure functions of (state, outcome, now) -> new state.

Two schedules live here, one per kind of memory:

- Flashcards use FSRS (the `fsrs` package, the reference implementation of the
  algorithm Anki ships). We run it day-based: no minute-long learning steps (a terminal
  session is not kept open for ten minutes) and no random fuzz (six cards need no load
  spreading, and the same grades should always give the same dates).
- Drills use a fixed ladder of intervals. A drill is a few minutes of typing, not a
  two-second card, so a predictable "1 day, 3 days, a week, ..." that the learner can
  reason about beats a fitted model with one data point per week.

Nothing here reads the clock or the disk; callers pass `now` and store the result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Literal

from drillkit.clock import iso, parse

if TYPE_CHECKING:
    from fsrs import Scheduler

# --- drills: the review ladder -------------------------------------------------------

# Days until the next review after a clean pass at each step. The first pass lands on
# step 0; each clean review climbs one step, a slipped review steps down one.
REVIEW_INTERVALS: tuple[int, ...] = (1, 3, 7, 14, 30, 60, 120)


@dataclass
class ReviewState:
    """A passed drill's place on the ladder. `step == -1`: never passed, not scheduled."""

    step: int = -1
    due: str | None = None
    rounds: int = 0  # completed reviews (passed review checks)
    clean_rounds: int = 0  # of those, passed with no failed check and no reveal
    slipped: bool = False  # the open review had a failed check or a reveal
    last_reviewed_at: str | None = None

    @property
    def scheduled(self) -> bool:
        return self.due is not None

    def due_at(self) -> datetime | None:
        return parse(self.due) if self.due else None


def is_due(state: ReviewState, now: datetime) -> bool:
    due = state.due_at()
    return due is not None and due <= now


def interval_days(step: int) -> int:
    return REVIEW_INTERVALS[max(0, min(step, len(REVIEW_INTERVALS) - 1))]


def first_pass(state: ReviewState, now: datetime) -> ReviewState:
    """The drill was passed for the first time: its first review is one step away."""
    if state.scheduled:
        return state  # already on the ladder; passing the old attempt again moves nothing
    return replace(state, step=0, due=iso(now + timedelta(days=interval_days(0))), slipped=False)


def review_passed(state: ReviewState, now: datetime) -> ReviewState:
    """A review attempt passed while due: climb a step if clean, step down if it slipped."""
    if not is_due(state, now):
        return state  # reviewing early earns nothing: spacing is the point
    clean = not state.slipped
    step = state.step + 1 if clean else state.step - 1
    step = max(0, min(step, len(REVIEW_INTERVALS) - 1))
    return replace(
        state,
        step=step,
        due=iso(now + timedelta(days=interval_days(step))),
        rounds=state.rounds + 1,
        clean_rounds=state.clean_rounds + (1 if clean else 0),
        slipped=False,
        last_reviewed_at=iso(now),
    )


def review_slipped(state: ReviewState, now: datetime) -> ReviewState:
    """A review check failed, or the solution was revealed, while the drill was due.

    The drill stays due (fix it and check again), but its next interval will be shorter.
    Outside a due review nothing changes: a reveal to compare after passing is encouraged.
    """
    if not is_due(state, now):
        return state
    return replace(state, slipped=True)


# --- flashcards: FSRS ----------------------------------------------------------------

Grade = Literal["again", "hard", "good", "easy"]
GRADES: tuple[Grade, ...] = ("again", "hard", "good", "easy")


@dataclass
class CardState:
    """What FSRS needs to know about one card, as stored in the progress file."""

    due: str
    stability: float
    difficulty: float
    last_review: str
    fsrs_state: int = 2  # fsrs.State.Review; with no learning steps every graded card is there
    step: int | None = None
    reps: int = 0
    lapses: int = 0

    def due_at(self) -> datetime:
        return parse(self.due)


@cache
def _scheduler() -> Scheduler:
    from fsrs import Scheduler  # deferred: only card commands pay for the import

    return Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)


def card_is_due(state: CardState | None, now: datetime) -> bool:
    """A card never seen is due; a seen one when its due time has come."""
    return state is None or state.due_at() <= now


def grade_card(state: CardState | None, grade: Grade, now: datetime) -> CardState:
    """Apply one self-grade at `now` and return the card's next state."""
    from fsrs import Card, Rating, State

    rating = {"again": Rating.Again, "hard": Rating.Hard, "good": Rating.Good, "easy": Rating.Easy}[grade]
    if state is None:
        card = Card(card_id=1, due=now)  # card_id given: fsrs would otherwise sleep to make one
    else:
        card = Card(
            card_id=1,
            state=State(state.fsrs_state),
            step=state.step,
            stability=state.stability,
            difficulty=state.difficulty,
            due=state.due_at(),
            last_review=parse(state.last_review),
        )
    new, _log = _scheduler().review_card(card, rating, now)
    assert new.stability is not None and new.difficulty is not None and new.last_review
    return CardState(
        due=iso(new.due),
        stability=new.stability,
        difficulty=new.difficulty,
        last_review=iso(new.last_review),
        fsrs_state=int(new.state),
        step=new.step,
        reps=(state.reps if state else 0) + 1,
        lapses=(state.lapses if state else 0) + (1 if state is not None and grade == "again" else 0),
    )

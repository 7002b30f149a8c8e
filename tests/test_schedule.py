"""The scheduling rules, as the README states them: pure functions, a fixed clock, no sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from drillkit.retention import schedule
from drillkit.retention.schedule import REVIEW_INTERVALS, ReviewState

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def days_until(state: ReviewState | schedule.CardState, now: datetime) -> float:
    due = state.due_at()
    assert due is not None
    return (due - now) / timedelta(days=1)


# --- drills: the ladder --------------------------------------------------------------


def test_first_pass_schedules_the_first_review_a_day_later() -> None:
    state = schedule.first_pass(ReviewState(), T0)
    assert state.step == 0 and days_until(state, T0) == 1
    assert not schedule.is_due(state, T0 + timedelta(hours=23))
    assert schedule.is_due(state, T0 + timedelta(days=1))


def test_passing_again_before_due_moves_nothing() -> None:
    state = schedule.first_pass(ReviewState(), T0)
    assert schedule.first_pass(state, T0 + timedelta(hours=5)) == state
    assert schedule.review_passed(state, T0 + timedelta(hours=5)) == state  # early: no credit
    assert schedule.review_slipped(state, T0 + timedelta(hours=5)) == state  # reveal to compare: free


def test_each_clean_review_grows_the_interval_along_the_ladder() -> None:
    now = T0
    state = schedule.first_pass(ReviewState(), now)
    gaps = [days_until(state, now)]
    for _ in range(len(REVIEW_INTERVALS) + 2):  # past the top: it stays there
        now = state.due_at()
        state = schedule.review_passed(state, now)
        gaps.append(days_until(state, now))
    assert gaps[:4] == [1, 3, 7, 14]
    assert gaps == [*REVIEW_INTERVALS, REVIEW_INTERVALS[-1], REVIEW_INTERVALS[-1], REVIEW_INTERVALS[-1]]
    assert state.rounds == state.clean_rounds == len(REVIEW_INTERVALS) + 2


def climb(steps: int) -> tuple[ReviewState, datetime]:
    """A drill after its first pass and `steps` clean reviews, at the moment it is due again."""
    now = T0
    state = schedule.first_pass(ReviewState(), now)
    for _ in range(steps):
        now = state.due_at()
        state = schedule.review_passed(state, now)
    return state, state.due_at()


@pytest.mark.parametrize("slip", ["failed check", "reveal"])
def test_a_slip_during_review_shrinks_the_next_interval(slip: str) -> None:
    state, now = climb(2)  # on the 7-day step, due now
    assert days_until(state, now - timedelta(days=7)) == 7
    slipped = schedule.review_slipped(state, now)
    assert slipped.slipped and schedule.is_due(slipped, now)  # still due: fix it and check again
    again = schedule.review_slipped(slipped, now + timedelta(minutes=1))  # more failures: same
    passed = schedule.review_passed(again, now + timedelta(minutes=5))
    assert days_until(passed, now + timedelta(minutes=5)) == 3  # one step down, not up
    assert passed.rounds == 3 and passed.clean_rounds == 2 and not passed.slipped
    # The next clean review climbs again from there.
    later = passed.due_at()
    assert days_until(schedule.review_passed(passed, later), later) == 7


def test_a_slip_on_the_first_step_stays_at_one_day() -> None:
    state, now = climb(0)
    passed = schedule.review_passed(schedule.review_slipped(state, now), now)
    assert passed.step == 0 and days_until(passed, now) == 1


def test_overdue_review_counts_from_when_it_was_done() -> None:
    state, now = climb(1)  # due after 3 days; done a week late
    late = now + timedelta(days=7)
    passed = schedule.review_passed(state, late)
    assert days_until(passed, late) == 7


# --- flashcards: FSRS, run day-based and without fuzz ---------------------------------


@pytest.mark.parametrize(("grade", "days"), [("again", 1), ("hard", 1), ("good", 2), ("easy", 8)])
def test_first_grade_of_a_new_card(grade: schedule.Grade, days: int) -> None:
    state = schedule.grade_card(None, grade, T0)
    assert days_until(state, T0) == days
    assert state.reps == 1 and state.lapses == 0


def test_good_grades_space_a_card_further_each_time() -> None:
    state, now, gaps = None, T0, []
    for _ in range(4):
        state = schedule.grade_card(state, "good", now)
        gaps.append(days_until(state, now))
        now = state.due_at()
    assert gaps == sorted(gaps) and len(set(gaps)) == 4  # strictly growing
    assert gaps[0] == 2 and gaps[-1] > 30


def test_again_after_a_long_gap_brings_the_card_back_much_sooner() -> None:
    state, now, last_gap = None, T0, 0.0
    for _ in range(3):
        state = schedule.grade_card(state, "good", now)
        last_gap = days_until(state, now)
        now = state.due_at()
    assert state is not None and last_gap > 30
    lapsed = schedule.grade_card(state, "again", now)
    assert days_until(lapsed, now) < last_gap / 4
    assert lapsed.lapses == 1


def test_easy_beats_good_beats_hard() -> None:
    start = schedule.grade_card(None, "good", T0)
    now = start.due_at()
    gaps = {g: days_until(schedule.grade_card(start, g, now), now) for g in ("hard", "good", "easy")}
    assert gaps["hard"] < gaps["good"] < gaps["easy"]


def test_same_grades_give_the_same_dates() -> None:
    def run() -> str:
        state, now = None, T0
        for grade in ("good", "hard", "easy", "again", "good"):
            state = schedule.grade_card(state, grade, now)
            now = state.due_at()
        return state.due

    assert run() == run()  # no fuzz: the README's dates are reproducible


def test_card_due_selection() -> None:
    assert schedule.card_is_due(None, T0)  # never seen: due
    state = schedule.grade_card(None, "good", T0)
    assert not schedule.card_is_due(state, T0 + timedelta(days=1))
    assert schedule.card_is_due(state, T0 + timedelta(days=2))


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "due now"),
        (20, "in 1 min"),
        (59 * 60, "in 59 min"),
        (3600 - 1, "in 1 h"),
        (23 * 3600, "in 23 h"),
        (86400 - 1, "in 1 day"),  # `drill watch` once said "in 24 h" where `drill check` said "in 1 day"
        (86400, "in 1 day"),
        (3 * 86400 + 60, "in 3 days"),
        (-2 * 86400 - 5, "due, 2 days overdue"),
    ],
)
def test_a_due_time_reads_as_a_person_says_it(seconds: int, said: str) -> None:
    from drillkit.render import relative, short_relative

    now = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    assert relative(now + timedelta(seconds=seconds), now) == said
    short = said.replace(" min", "m").replace(" h", "h").replace(" days", "d").replace(" day", "d")
    short = short.replace("due, 2d overdue", "2d overdue")
    assert short_relative(now + timedelta(seconds=seconds), now) == short

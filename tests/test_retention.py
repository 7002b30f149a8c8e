"""Flashcard sessions, due selection, the self-check and review scaffolding, without a database.

Time is always passed in: the sessions get a fake clock, core functions a `now`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drillkit import progress
from drillkit.commands import listing as core_listing
from drillkit.commands import retention
from drillkit.commands.reveal import reveal_drill
from drillkit.errors import NotDueError, UnknownSkillError
from drillkit.pack.catalog import load_catalog, starter_text
from drillkit.paths import Paths, resolve_paths
from drillkit.retention import schedule
from drillkit.retention.deck import Flashcard, load_deck
from drillkit.retention.schedule import CardState, Grade
from drillkit.retention.sessions import QueuedCard, run_cards, run_selfcheck

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
DECK = load_deck()
CATALOG = load_catalog()


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return resolve_paths(tmp_path / "drillwork", env={"DRILL_HOME": str(tmp_path / "home")})


def keys(*presses: str):
    """A read_key that replays key presses, then reports end of input."""
    stream: Iterator[str] = iter(presses)
    return lambda: next(stream, "")


def ticking_clock(start: datetime = T0, step: timedelta = timedelta(seconds=20)):
    moments = (start + n * step for n in range(10_000))
    return lambda: next(moments)


@dataclass
class RecordingView:
    events: list[tuple[str, str]] = field(default_factory=list)

    def front(self, card: Flashcard, position: int, total: int, *, repeat: bool = False) -> None:
        self.events.append(("once more" if repeat else "front", card.id))

    def back(self, card: Flashcard) -> None:
        self.events.append(("back", card.id))

    def unknown_key(self, key: str) -> None:
        self.events.append(("unknown", key))

    def graded(self, card: Flashcard, grade: Grade, next_state: CardState | None) -> None:
        self.events.append(("graded", f"{card.id}:{grade}:{next_state is not None}"))


# --- the card session ----------------------------------------------------------------


def test_session_flips_grades_and_records_each_card() -> None:
    queue = [QueuedCard(c, None) for c in DECK.cards[:3]]
    recorded: dict[str, CardState] = {}
    view = RecordingView()
    result = run_cards(
        queue,
        read_key=keys(" ", "3", "x", "1", "f", "E"),  # any key flips; grades by number or letter
        clock=ticking_clock(),
        view=view,
        record=recorded.__setitem__,
    )
    ids = [c.id for c in DECK.cards[:3]]
    assert result.grades == dict(zip(ids, ["good", "again", "easy"], strict=True))
    assert not result.stopped_early and result.relearn_left == 1
    assert [e for e in view.events if e[0] != "graded"] == [
        ("front", ids[0]),
        ("back", ids[0]),
        ("front", ids[1]),
        ("back", ids[1]),
        ("front", ids[2]),
        ("back", ids[2]),
        ("once more", ids[1]),  # graded again: back at the end; input ended there
    ]
    # Each grade was scheduled at the moment it was given (the clock ticks 20 s per call).
    assert recorded[ids[0]].last_review == "2026-05-01T09:00:00.000000+00:00"
    assert recorded[ids[1]].due == "2026-05-02T09:00:20.000000+00:00"  # again: tomorrow
    assert recorded[ids[2]].due == "2026-05-09T09:00:40.000000+00:00"  # easy: 8 days


def test_unknown_grade_key_asks_again() -> None:
    view = RecordingView()
    result = run_cards(
        [QueuedCard(DECK.cards[0], None)],
        read_key=keys("f", "5", "?", "h"),
        clock=ticking_clock(),
        view=view,
        record=lambda *_: None,
    )
    assert result.grades == {DECK.cards[0].id: "hard"}
    assert [e for e in view.events if e[0] == "unknown"] == [("unknown", "5"), ("unknown", "?")]


@pytest.mark.parametrize("stop", ["q", "\x1b", ""])
def test_quitting_midway_keeps_the_grades_given(stop: str) -> None:
    recorded: dict[str, CardState] = {}
    result = run_cards(
        [QueuedCard(c, None) for c in DECK.cards],
        read_key=keys("f", "3", "f", stop),
        clock=ticking_clock(),
        view=RecordingView(),
        record=recorded.__setitem__,
    )
    assert result.stopped_early and list(recorded) == [DECK.cards[0].id]


def test_crammed_card_that_is_not_due_is_not_rescheduled() -> None:
    state = schedule.grade_card(None, "good", T0)
    recorded: dict[str, CardState] = {}
    result = run_cards(
        [QueuedCard(DECK.cards[0], state, counts=False)],
        read_key=keys("f", "1"),
        clock=ticking_clock(),
        view=RecordingView(),
        record=recorded.__setitem__,
    )
    assert result.grades == {DECK.cards[0].id: "again"} and recorded == {}


# --- which cards are due -------------------------------------------------------------


def grade(paths: Paths, card_id: str, g: Grade, now: datetime) -> None:
    state = progress.load(paths.progress_file).progress.cards.get(card_id)
    new = schedule.grade_card(state, g, now)
    progress.update(paths.progress_file, lambda p: p.cards.__setitem__(card_id, new))


def test_all_cards_are_due_at_first_in_pack_order(paths: Paths) -> None:
    queue = retention.card_queue(paths, now=T0)
    assert [q.card.id for q in queue.cards] == [c.id for c in DECK.cards]
    assert all(q.counts and q.state is None for q in queue.cards)


def test_due_selection_follows_the_grades(paths: Paths) -> None:
    ids = [c.id for c in DECK.cards]
    for card_id, g in zip(ids, ["again", "hard", "good", "easy", "good", "good"], strict=True):
        grade(paths, card_id, g, T0)

    def due(at: datetime) -> list[str]:
        return [q.card.id for q in retention.card_queue(paths, now=at).cards]

    assert due(T0) == []
    assert retention.card_queue(paths, now=T0).next_due == T0 + timedelta(days=1)
    assert due(T0 + timedelta(days=1)) == ids[:2]  # again and hard: tomorrow
    assert due(T0 + timedelta(days=2)) == [ids[0], ids[1], ids[2], ids[4], ids[5]]
    assert due(T0 + timedelta(days=8)) == [
        ids[0],
        ids[1],
        ids[2],
        ids[4],
        ids[5],
        ids[3],
    ]  # most overdue first

    # Grading the again-card "good" tomorrow moves it out of tomorrow's queue.
    grade(paths, ids[0], "good", T0 + timedelta(days=1))
    assert due(T0 + timedelta(days=1)) == [ids[1]]


def test_overdue_cards_come_first_then_new_ones(paths: Paths) -> None:
    ids = [c.id for c in DECK.cards]
    grade(paths, ids[3], "again", T0)  # due day 1
    grade(paths, ids[5], "again", T0 - timedelta(days=3))  # due 2 days before that
    queue = retention.card_queue(paths, now=T0 + timedelta(days=1))
    assert [q.card.id for q in queue.cards] == [ids[5], ids[3], ids[0], ids[1], ids[2], ids[4]]


def test_cram_adds_cards_not_due_but_only_due_ones_count(paths: Paths) -> None:
    ids = [c.id for c in DECK.cards]
    for card_id in ids[1:]:
        grade(paths, card_id, "easy", T0)
    queue = retention.card_queue(paths, cram=True, now=T0 + timedelta(hours=1))
    assert queue.cards[0].card.id == ids[0]
    assert len(queue.cards) == 6
    assert [q.counts for q in queue.cards] == [True] + [False] * 5
    before = progress.load(paths.progress_file).progress.cards
    retention.run_card_session(
        paths,
        queue,
        read_key=keys(*("f1" * 6)),
        now=ticking_clock(T0 + timedelta(hours=1)),
        view=RecordingView(),
    )
    after = progress.load(paths.progress_file).progress.cards
    assert {k: v for k, v in after.items() if k != ids[0]} == before
    assert ids[0] in after


# --- the self-check ------------------------------------------------------------------


def test_selfcheck_ticks_persist(paths: Paths) -> None:
    result = retention.selfcheck(paths, tick=["1", "select", "alembic"], now=T0)
    assert [r.skill.id for r in result.rows if r.ticked] == ["models", "select", "alembic"]
    stored = progress.load(paths.progress_file).progress.selfcheck
    assert stored == dict.fromkeys(["alembic", "models", "select"], "2026-05-01T09:00:00.000000+00:00")

    result = retention.selfcheck(paths, untick=["models"], now=T0)
    assert [r.skill.id for r in result.rows if r.ticked] == ["select", "alembic"]
    retention.toggle_skill(paths, 8, now=T0)  # alembic off
    retention.toggle_skill(paths, 2, now=T0)  # relationships on
    assert set(progress.load(paths.progress_file).progress.selfcheck) == {"select", "relationships"}
    # Reading does not write.
    before = paths.progress_file.read_text(encoding="utf-8")
    retention.selfcheck(paths)
    assert paths.progress_file.read_text(encoding="utf-8") == before


def test_selfcheck_typo_changes_nothing(paths: Paths) -> None:
    with pytest.raises(UnknownSkillError, match="numbered 1-8"):
        retention.selfcheck(paths, tick=["1", "nine"])
    assert not paths.progress_file.exists()


def set_drill(paths: Paths, number: int, **fields: object) -> None:
    def change(p: progress.Progress) -> None:
        for key, value in fields.items():
            setattr(p.of(number), key, value)

    progress.update(paths.progress_file, change)


def row(paths: Paths, skill_id: str) -> core_listing.SkillRow:
    return next(r for r in retention.selfcheck(paths).rows if r.skill.id == skill_id)


def test_a_tick_is_earned_by_a_clean_pass_only(paths: Paths) -> None:
    retention.selfcheck(paths, tick=["select", "insert", "update", "alembic"])
    assert row(paths, "alembic").earned  # no drill behind it: the tick is the claim
    assert not row(paths, "select").earned
    assert row(paths, "select").why_not == "drill 3 is not passed yet"

    set_drill(paths, 3, attempts=1, first_passed_at="2026-05-01T09:00:00+00:00")
    assert row(paths, "select").earned

    # Drill 4 passed only after the solution was revealed: ticked, not yet earned.
    set_drill(paths, 4, revealed_at="2026-05-01T08:00:00+00:00", first_passed_at="2026-05-01T09:00:00+00:00")
    assert row(paths, "insert").ticked and not row(paths, "insert").earned
    assert "only after `reveal`" in (row(paths, "insert").why_not or "")
    # ... until a clean review proves it from memory.
    set_drill(
        paths,
        4,
        review=schedule.ReviewState(step=1, due="2026-05-04T09:00:00+00:00", rounds=1, clean_rounds=1),
    )
    assert row(paths, "insert").earned

    # A clean pass earns a tick; without the tick there is nothing to earn.
    set_drill(paths, 6, attempts=1, first_passed_at="2026-05-01T09:00:00+00:00")
    assert row(paths, "update").earned
    retention.selfcheck(paths, untick=["update"])
    assert not row(paths, "update").earned and row(paths, "update").why_not is None


def test_interactive_selfcheck_toggles_by_digit_until_enter() -> None:
    toggled: list[int] = []
    shown = []
    made = run_selfcheck(
        count=8,
        read_key=keys("3", "9", "x", "3", "8", "\r", "1"),
        show=lambda: shown.append(1),
        toggle=toggled.append,
    )
    assert toggled == [3, 3, 8] and made == 3 and len(shown) == 4


# --- review scaffolding --------------------------------------------------------------


def passed_at(paths: Paths, number: int, when: datetime) -> None:
    def change(p: progress.Progress) -> None:
        entry = p.of(number)
        entry.attempts += 1
        entry.first_passed_at = when.isoformat()
        entry.review = schedule.first_pass(entry.review, when)

    progress.update(paths.progress_file, change)


def test_review_scaffolds_a_blank_starter_and_keeps_the_attempt(paths: Paths) -> None:
    drill = CATALOG.get(3)
    attempt = paths.workspace / drill.filename
    attempt.parent.mkdir(parents=True)
    attempt.write_text("# my own answer, typed last week\n", encoding="utf-8")
    stat_before = attempt.stat()
    passed_at(paths, 3, T0)

    started = retention.review_drill(paths, None, now=T0 + timedelta(days=1))
    assert isinstance(started, retention.ReviewStarted)
    assert started.drill == drill and started.created
    assert started.path == paths.workspace / "review" / "03_select_review1.py"
    assert started.path.read_text(encoding="utf-8") == starter_text(drill)
    assert started.attempt == attempt
    assert attempt.read_text(encoding="utf-8") == "# my own answer, typed last week\n"
    assert attempt.stat().st_mtime_ns == stat_before.st_mtime_ns

    # Running it again keeps the review in progress.
    started.path.write_text("# halfway\n", encoding="utf-8")
    again = retention.review_drill(paths, drill, now=T0 + timedelta(days=1, hours=1))
    assert isinstance(again, retention.ReviewStarted) and not again.created
    assert started.path.read_text(encoding="utf-8") == "# halfway\n"

    # After this review is done, the next one gets a fresh file; the old one stays.
    def done(p: progress.Progress) -> None:
        p.of(3).review = schedule.review_passed(p.of(3).review, T0 + timedelta(days=1, hours=2))

    progress.update(paths.progress_file, done)
    nxt = retention.review_drill(paths, None, now=T0 + timedelta(days=5))
    assert isinstance(nxt, retention.ReviewStarted)
    assert nxt.path.name == "03_select_review2.py" and nxt.created
    assert started.path.read_text(encoding="utf-8") == "# halfway\n"


def test_review_picks_the_most_overdue(paths: Paths) -> None:
    passed_at(paths, 6, T0)
    passed_at(paths, 2, T0 + timedelta(hours=1))
    passed_at(paths, 4, T0 - timedelta(days=2))
    started = retention.review_drill(paths, None, now=T0 + timedelta(days=2))
    assert isinstance(started, retention.ReviewStarted)
    assert started.drill.number == 4
    assert [d.number for d in started.also_due] == [6, 2]


def test_nothing_due(paths: Paths) -> None:
    nothing = retention.review_drill(paths, None, now=T0)
    assert nothing == retention.NothingDue(None, None)
    passed_at(paths, 5, T0)
    soon = retention.review_drill(paths, None, now=T0 + timedelta(hours=2))
    assert soon == retention.NothingDue(CATALOG.get(5), T0 + timedelta(days=1))
    assert not (paths.workspace / "review").exists()


def test_review_of_a_drill_not_due_is_refused(paths: Paths) -> None:
    with pytest.raises(NotDueError, match="after its first pass"):
        retention.review_drill(paths, CATALOG.get(3), now=T0)
    passed_at(paths, 3, T0)
    with pytest.raises(NotDueError, match="not due for review until Sat 02 May"):
        retention.review_drill(paths, CATALOG.get(3), now=T0 + timedelta(hours=3))


def test_reveal_during_a_due_review_slips_it_but_not_before(paths: Paths) -> None:
    passed_at(paths, 3, T0)
    reveal_drill(paths, CATALOG.get(3), now=T0 + timedelta(hours=1))  # comparing after a pass
    assert not progress.load(paths.progress_file).progress.of(3).review.slipped
    retention.review_drill(paths, None, now=T0 + timedelta(days=1))
    revealed = reveal_drill(paths, CATALOG.get(3), now=T0 + timedelta(days=1, minutes=5))
    assert revealed.attempt == paths.workspace / "review" / "03_select_review1.py"  # diff vs the review
    assert progress.load(paths.progress_file).progress.of(3).review.slipped


def test_listing_shows_what_is_due(paths: Paths) -> None:
    passed_at(paths, 3, T0)
    grade(paths, DECK.cards[0].id, "good", T0)
    listing = core_listing.list_drills(paths, now=T0 + timedelta(hours=1))
    assert listing.reviews_due == [] and listing.cards_due == 5
    assert listing.next_review is not None and listing.next_review.drill.number == 3
    later = core_listing.list_drills(paths, now=T0 + timedelta(days=2))
    assert [r.drill.number for r in later.reviews_due] == [3] and later.cards_due == 6

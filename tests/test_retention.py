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
from drillkit.attempts import workspace_file
from drillkit.commands import listing as core_listing
from drillkit.commands import retention
from drillkit.commands.reveal import reveal_drill
from drillkit.errors import NotDueError, UnknownSkillError
from drillkit.pack.load import load_pack
from drillkit.pack.model import Drill, Flashcard, Pack
from drillkit.pack.text import starter_text
from drillkit.paths import Paths, resolve_paths
from drillkit.retention import schedule
from drillkit.retention.schedule import CardState, Grade
from drillkit.retention.sessions import QueuedCard, run_cards, run_selfcheck
from tests.conftest import builtin_pack

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
PACK = builtin_pack()
DECK = PACK.deck
SKILLS = DECK.skills


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

    positions: list[tuple[int, int]] = field(default_factory=list)

    def front(self, card: Flashcard, position: int, total: int, *, repeat: bool = False) -> None:
        self.events.append(("once more" if repeat else "front", card.id))
        self.positions.append((position, total))

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
    # Numbered by card, as the summary counts them: the second look keeps its card's number.
    assert view.positions == [(1, 3), (2, 3), (3, 3), (2, 3)]
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


def cards_of(paths: Paths, pack: Pack = PACK) -> dict[str, CardState]:
    return progress.load(paths.progress_file).progress.view(pack.id).cards


def grade(paths: Paths, card_id: str, g: Grade, now: datetime) -> None:
    new = schedule.grade_card(cards_of(paths).get(card_id), g, now)
    progress.update(paths.progress_file, lambda p: p.pack(PACK.id).cards.__setitem__(card_id, new))


def test_the_pack_has_enough_cards_for_these_tests() -> None:
    assert len(DECK.cards) >= 6 and len({c.id for c in DECK.cards}) == len(DECK.cards)


def test_all_cards_are_due_at_first_in_pack_order(paths: Paths) -> None:
    queue = retention.card_queue(paths, PACK, now=T0)
    assert queue.pack_id == PACK.id
    assert [q.card.id for q in queue.cards] == [c.id for c in DECK.cards]
    assert all(q.counts and q.state is None for q in queue.cards)


def test_due_selection_follows_the_grades(paths: Paths) -> None:
    ids = [c.id for c in DECK.cards]
    # again: 1 day, hard: 1 day, good: 2 days, easy: 8 days (FSRS, first grade); the rest good.
    grades: list[Grade] = ["again", "hard", "good", "easy"] + ["good"] * (len(ids) - 4)
    for card_id, g in zip(ids, grades, strict=True):
        grade(paths, card_id, g, T0)

    def due(at: datetime) -> list[str]:
        return [q.card.id for q in retention.card_queue(paths, PACK, now=at).cards]

    goods = [ids[2], *ids[4:]]
    assert due(T0) == []
    assert retention.card_queue(paths, PACK, now=T0).next_due == T0 + timedelta(days=1)
    assert due(T0 + timedelta(days=1)) == ids[:2]  # again and hard: tomorrow
    assert due(T0 + timedelta(days=2)) == [ids[0], ids[1], *goods]
    assert due(T0 + timedelta(days=8)) == [ids[0], ids[1], *goods, ids[3]]  # most overdue first

    # Grading the again-card "good" tomorrow moves it out of tomorrow's queue.
    grade(paths, ids[0], "good", T0 + timedelta(days=1))
    assert due(T0 + timedelta(days=1)) == [ids[1]]


def test_overdue_cards_come_first_then_new_ones(paths: Paths) -> None:
    ids = [c.id for c in DECK.cards]
    grade(paths, ids[3], "again", T0)  # due day 1
    grade(paths, ids[5], "again", T0 - timedelta(days=3))  # due 2 days before that
    queue = retention.card_queue(paths, PACK, now=T0 + timedelta(days=1))
    new = [i for i in ids if i not in (ids[3], ids[5])]  # never graded: after those, in pack order
    assert [q.card.id for q in queue.cards] == [ids[5], ids[3], *new]


def test_cram_adds_cards_not_due_but_only_due_ones_count(paths: Paths) -> None:
    ids = [c.id for c in DECK.cards]
    for card_id in ids[1:]:
        grade(paths, card_id, "easy", T0)
    queue = retention.card_queue(paths, PACK, cram=True, now=T0 + timedelta(hours=1))
    assert queue.cards[0].card.id == ids[0]
    assert len(queue.cards) == len(ids)
    assert [q.counts for q in queue.cards] == [True] + [False] * (len(ids) - 1)
    assert len(retention.card_queue(paths, PACK, now=T0 + timedelta(hours=1)).cards) == 1
    before = cards_of(paths)
    retention.run_card_session(
        paths,
        queue,
        read_key=keys(*("f1" * len(ids))),
        now=ticking_clock(T0 + timedelta(hours=1)),
        view=RecordingView(),
    )
    after = cards_of(paths)
    assert {k: v for k, v in after.items() if k != ids[0]} == before
    assert ids[0] in after


# --- the self-check ------------------------------------------------------------------


def ticks(paths: Paths, pack: Pack = PACK) -> dict[str, str]:
    return progress.load(paths.progress_file).progress.view(pack.id).selfcheck


# Items by what backs them: one drill each, and none (the tick itself is the claim).
ONE_DRILL = [s for s in SKILLS if len(s.drills) == 1]
NO_DRILL = next(s for s in SKILLS if not s.drills)


def test_the_pack_has_the_items_these_tests_need() -> None:
    assert len(ONE_DRILL) >= 3 and len(SKILLS) >= 4
    for skill in SKILLS:
        assert set(skill.drills) <= set(PACK.by_slug), skill.id


def test_selfcheck_ticks_persist(paths: Paths) -> None:
    first, by_id = SKILLS[0], ONE_DRILL[-1]
    assert len({first.id, by_id.id, NO_DRILL.id}) == 3
    result = retention.selfcheck(paths, PACK, tick=["1", by_id.id, NO_DRILL.id], now=T0)
    expect = [s.id for s in SKILLS if s.id in {first.id, by_id.id, NO_DRILL.id}]
    assert [r.skill.id for r in result.rows if r.ticked] == expect
    assert ticks(paths) == dict.fromkeys(expect, "2026-05-01T09:00:00.000000+00:00")

    result = retention.selfcheck(paths, PACK, untick=[first.id], now=T0)
    assert [r.skill.id for r in result.rows if r.ticked] == [i for i in expect if i != first.id]
    number = {s.id: n for n, s in enumerate(SKILLS, start=1)}
    other = next(s for s in SKILLS if s.id not in expect)
    retention.toggle_skill(paths, PACK, number[NO_DRILL.id], now=T0)  # off
    retention.toggle_skill(paths, PACK, number[other.id], now=T0)  # on
    assert set(ticks(paths)) == {by_id.id, other.id}
    # Reading does not write.
    before = paths.progress_file.read_text(encoding="utf-8")
    retention.selfcheck(paths, PACK)
    assert paths.progress_file.read_text(encoding="utf-8") == before


def test_selfcheck_typo_changes_nothing(paths: Paths) -> None:
    with pytest.raises(UnknownSkillError, match=f"numbered 1-{len(SKILLS)}"):
        retention.selfcheck(paths, PACK, tick=["1", "nine"])
    with pytest.raises(UnknownSkillError):
        retention.selfcheck(paths, PACK, tick=["1", str(len(SKILLS) + 1)])
    with pytest.raises(UnknownSkillError, match="both ticked and unticked"):  # not a silent untick
        retention.selfcheck(paths, PACK, tick=["1"], untick=[SKILLS[0].id])
    assert not paths.progress_file.exists()


def test_an_unknown_item_of_a_one_item_list_says_so_plainly() -> None:
    from drillkit.pack.model import Deck

    one = Deck((), SKILLS[:1])
    with pytest.raises(UnknownSkillError, match=r"there is only item 1 \(see"):
        one.skill("2")


def set_drill(paths: Paths, slug: str, **fields: object) -> None:
    def change(p: progress.Progress) -> None:
        for key, value in fields.items():
            setattr(p.of(PACK.get(slug)), key, value)

    progress.update(paths.progress_file, change)


def row(paths: Paths, skill_id: str) -> core_listing.SkillRow:
    return next(r for r in retention.selfcheck(paths, PACK).rows if r.skill.id == skill_id)


def test_a_tick_is_earned_by_a_clean_pass_only(paths: Paths) -> None:
    clean, revealed, unticked = ONE_DRILL[:3]
    c, r, u = (PACK.get(s.drills[0]) for s in (clean, revealed, unticked))
    retention.selfcheck(paths, PACK, tick=[clean.id, revealed.id, unticked.id, NO_DRILL.id])
    assert row(paths, NO_DRILL.id).earned  # no drill behind it: the tick is the claim
    assert not row(paths, clean.id).earned
    assert row(paths, clean.id).why_not == f"drill {c.number} is not passed yet"

    set_drill(paths, c.slug, attempts=1, first_passed_at="2026-05-01T09:00:00+00:00")
    assert row(paths, clean.id).earned

    # Passed only after the solution was revealed: ticked, not yet earned.
    set_drill(
        paths, r.slug, revealed_at="2026-05-01T08:00:00+00:00", first_passed_at="2026-05-01T09:00:00+00:00"
    )
    assert row(paths, revealed.id).ticked and not row(paths, revealed.id).earned
    assert f"drill {r.number} was passed only after `reveal`" in (row(paths, revealed.id).why_not or "")
    # ... until a clean review proves it from memory.
    set_drill(
        paths,
        r.slug,
        review=schedule.ReviewState(step=1, due="2026-05-04T09:00:00+00:00", rounds=1, clean_rounds=1),
    )
    assert row(paths, revealed.id).earned

    # A clean pass earns a tick; without the tick there is nothing to earn.
    set_drill(paths, u.slug, attempts=1, first_passed_at="2026-05-01T09:00:00+00:00")
    assert row(paths, unticked.id).earned
    retention.selfcheck(paths, PACK, untick=[unticked.id])
    assert not row(paths, unticked.id).earned and row(paths, unticked.id).why_not is None


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


def passed_at(paths: Paths, drill: Drill, when: datetime) -> None:
    def change(p: progress.Progress) -> None:
        entry = p.of(drill)
        entry.attempts += 1
        entry.first_passed_at = when.isoformat()
        entry.review = schedule.first_pass(entry.review, when)

    progress.update(paths.progress_file, change)


def review_of(paths: Paths, drill: Drill) -> schedule.ReviewState:
    return progress.load(paths.progress_file).progress.get(drill).review


SELECT = PACK.get("select")


def test_review_scaffolds_a_blank_starter_and_keeps_the_attempt(paths: Paths) -> None:
    drill = SELECT
    attempt = paths.workspace / PACK.id / drill.filename
    assert workspace_file(paths, drill) == attempt
    attempt.parent.mkdir(parents=True)
    attempt.write_text("# my own answer, typed last week\n", encoding="utf-8")
    stat_before = attempt.stat()
    passed_at(paths, drill, T0)

    started = retention.review_drill(paths, None, PACK, now=T0 + timedelta(days=1))
    assert isinstance(started, retention.ReviewStarted)
    assert started.drill == drill and started.created
    assert started.path == paths.workspace / PACK.id / "review" / f"{drill.stem}_review1.py"
    assert started.path.read_text(encoding="utf-8") == starter_text(drill)
    assert started.attempt == attempt
    assert attempt.read_text(encoding="utf-8") == "# my own answer, typed last week\n"
    assert attempt.stat().st_mtime_ns == stat_before.st_mtime_ns

    # Running it again keeps the review in progress.
    started.path.write_text("# halfway\n", encoding="utf-8")
    again = retention.review_drill(paths, drill, PACK, now=T0 + timedelta(days=1, hours=1))
    assert isinstance(again, retention.ReviewStarted) and not again.created
    assert started.path.read_text(encoding="utf-8") == "# halfway\n"

    # After this review is done, the next one gets a fresh file; the old one stays.
    def done(p: progress.Progress) -> None:
        p.of(drill).review = schedule.review_passed(p.of(drill).review, T0 + timedelta(days=1, hours=2))

    progress.update(paths.progress_file, done)
    nxt = retention.review_drill(paths, None, PACK, now=T0 + timedelta(days=5))
    assert isinstance(nxt, retention.ReviewStarted)
    assert nxt.path.name == f"{drill.stem}_review2.py" and nxt.created
    assert started.path.read_text(encoding="utf-8") == "# halfway\n"


def test_an_attempt_from_drillkit_0_1_is_still_found(paths: Paths) -> None:
    """0.1 kept attempts at `<workspace>/NN_slug.py`: recognised by their header, never moved."""
    drill = SELECT
    legacy = paths.workspace / drill.filename
    legacy.parent.mkdir(parents=True)
    legacy.write_text(f"# Drill {drill.number} · {drill.title}\n#\n# mine\n", encoding="utf-8")
    assert workspace_file(paths, drill) == legacy
    passed_at(paths, drill, T0)
    started = retention.review_drill(paths, None, PACK, now=T0 + timedelta(days=1))
    assert isinstance(started, retention.ReviewStarted) and started.attempt == legacy
    # A file there that is another drill's (or anything else) is not taken for this drill's.
    other = next(d for d in PACK.drills if d.slug != drill.slug)
    legacy.write_text(f"# Drill {other.number} · {other.title}\n", encoding="utf-8")
    assert workspace_file(paths, drill) == paths.workspace / PACK.id / drill.filename
    # Once the pack folder holds the attempt, that one wins.
    legacy.write_text(f"# Drill {drill.number} · {drill.title}\n", encoding="utf-8")
    current = paths.workspace / PACK.id / drill.filename
    current.parent.mkdir(parents=True, exist_ok=True)
    current.write_text("# new place\n", encoding="utf-8")
    assert workspace_file(paths, drill) == current


def test_review_picks_the_most_overdue(paths: Paths) -> None:
    a, b, c = PACK.drills[-1], PACK.drills[1], PACK.drills[len(PACK.drills) // 2]
    assert len({a.slug, b.slug, c.slug}) == 3
    passed_at(paths, a, T0)
    passed_at(paths, b, T0 + timedelta(hours=1))
    passed_at(paths, c, T0 - timedelta(days=2))
    started = retention.review_drill(paths, None, PACK, now=T0 + timedelta(days=2))
    assert isinstance(started, retention.ReviewStarted)
    assert started.drill == c
    assert started.also_due == [a, b]


def test_nothing_due(paths: Paths) -> None:
    nothing = retention.review_drill(paths, None, PACK, now=T0)
    assert nothing == retention.NothingDue(None, None)
    drill = PACK.drills[-1]
    passed_at(paths, drill, T0)
    soon = retention.review_drill(paths, None, PACK, now=T0 + timedelta(hours=2))
    assert soon == retention.NothingDue(drill, T0 + timedelta(days=1))
    assert not (paths.workspace / PACK.id / "review").exists()


def test_review_of_a_drill_not_due_is_refused(paths: Paths) -> None:
    with pytest.raises(NotDueError, match="after its first pass"):
        retention.review_drill(paths, SELECT, PACK, now=T0)
    passed_at(paths, SELECT, T0)
    with pytest.raises(NotDueError, match="not due for review until Sat 02 May"):
        retention.review_drill(paths, SELECT, PACK, now=T0 + timedelta(hours=3))


def test_reveal_during_a_due_review_slips_it_but_not_before(paths: Paths) -> None:
    passed_at(paths, SELECT, T0)
    reveal_drill(paths, SELECT, now=T0 + timedelta(hours=1))  # comparing after a pass
    assert not review_of(paths, SELECT).slipped
    retention.review_drill(paths, None, PACK, now=T0 + timedelta(days=1))
    revealed = reveal_drill(paths, SELECT, now=T0 + timedelta(days=1, minutes=5))
    # The diff is against the review in progress.
    assert revealed.attempt == paths.workspace / PACK.id / "review" / f"{SELECT.stem}_review1.py"
    assert review_of(paths, SELECT).slipped


def test_listing_shows_what_is_due(paths: Paths) -> None:
    passed_at(paths, SELECT, T0)
    grade(paths, DECK.cards[0].id, "good", T0)
    listing = core_listing.list_drills(paths, PACK, now=T0 + timedelta(hours=1))
    assert listing.reviews_due == [] and listing.cards_due == len(DECK.cards) - 1
    assert listing.cards_total == len(DECK.cards)
    assert listing.next_review is not None and listing.next_review.drill == SELECT
    later = core_listing.list_drills(paths, PACK, now=T0 + timedelta(days=2))
    assert [r.drill for r in later.reviews_due] == [SELECT] and later.cards_due == len(DECK.cards)


# --- several packs in one progress file ------------------------------------------------


@pytest.fixture
def other_pack(tmp_path: Path) -> Pack:
    """A second pack: the built-in one copied under another id (same slugs, same card ids)."""
    import shutil

    root = tmp_path / "other"
    shutil.copytree(PACK.root, root)
    index = root / "pack.yaml"
    text = index.read_text(encoding="utf-8")
    assert f"\nid: {PACK.id}\n" in text
    index.write_text(text.replace(f"\nid: {PACK.id}\n", "\nid: other\n"), encoding="utf-8")
    pack = load_pack(root)
    assert pack.id == "other" and [d.slug for d in pack.drills] == [d.slug for d in PACK.drills]
    return pack


def test_each_pack_keeps_its_own_progress(paths: Paths, other_pack: Pack) -> None:
    passed_at(paths, SELECT, T0)
    grade(paths, DECK.cards[0].id, "good", T0)
    retention.selfcheck(paths, PACK, tick=["1"], now=T0)

    # The same slug, card id and item id in another pack start from nothing.
    mine = core_listing.list_drills(paths, PACK, now=T0 + timedelta(days=2))
    theirs = core_listing.list_drills(paths, other_pack, now=T0 + timedelta(days=2))
    assert mine.passed == 1 and theirs.passed == 0
    assert [r.drill.slug for r in mine.reviews_due] == [SELECT.slug] and theirs.reviews_due == []
    assert theirs.cards_due == len(other_pack.deck.cards)
    assert not any(r.ticked for r in theirs.skills) and mine.skills[0].ticked
    assert retention.review_drill(
        paths, None, other_pack, now=T0 + timedelta(days=2)
    ) == retention.NothingDue(None, None)
    assert [q.card.id for q in retention.card_queue(paths, other_pack, now=T0).cards] == [
        c.id for c in other_pack.deck.cards
    ]

    # Writing to one pack leaves the other's share as it was.
    before = progress.load(paths.progress_file).progress.view(PACK.id)
    retention.selfcheck(paths, other_pack, tick=["2"], now=T0)
    passed_at(paths, other_pack.get(SELECT.slug), T0)
    after = progress.load(paths.progress_file).progress
    assert after.view(PACK.id) == before
    assert set(after.packs) == {PACK.id, other_pack.id}
    assert list(after.view(other_pack.id).selfcheck) == [other_pack.deck.skills[1].id]

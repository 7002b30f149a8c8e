"""Interactive key-driven sessions, as plain functions.

They take a `read_key` callable (one key press per call, "" when input has ended), a
clock and a view, so tests drive them with a list of keys and a fake clock, and the
CLI with the real keyboard and the real time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from drillkit.pack.model import Flashcard
from drillkit.retention.schedule import CardState, Grade, grade_card

ReadKey = Callable[[], str]
Clock = Callable[[], datetime]

# Anki's numbers, plus the initial letters for people who think in words.
GRADE_KEYS: dict[str, Grade] = {
    "1": "again",
    "a": "again",
    "2": "hard",
    "h": "hard",
    "3": "good",
    "g": "good",
    "4": "easy",
    "e": "easy",
}
QUIT_KEYS = frozenset({"q", "Q", "\x1b", ""})  # q, Escape, end of input


@dataclass(frozen=True)
class QueuedCard:
    card: Flashcard
    state: CardState | None  # None: never graded
    counts: bool = True  # False: crammed before it was due, so the grade moves nothing


class CardView(Protocol):
    def front(self, card: Flashcard, position: int, total: int, *, repeat: bool = False) -> None: ...
    def back(self, card: Flashcard) -> None: ...
    def unknown_key(self, key: str) -> None: ...
    def graded(self, card: Flashcard, grade: Grade, next_state: CardState | None) -> None: ...


@dataclass
class CardSessionResult:
    shown: int = 0
    grades: dict[str, Grade] = field(default_factory=dict)  # card id -> first grade this session
    repeats: int = 0  # missed cards shown again and graded
    stopped_early: bool = False  # stopped while cards never shown were still queued
    relearn_left: int = 0  # missed cards still waiting for their second look when stopped


def run_cards(
    queue: list[QueuedCard],
    *,
    read_key: ReadKey,
    clock: Clock,
    view: CardView,
    record: Callable[[str, CardState], None],
) -> CardSessionResult:
    """Show each card's front, flip on any key, read a grade, record it, move on.

    A card graded *again* goes to the back of the queue and comes back until it is graded
    better: FSRS's learning step, within the session (its day-based schedule has none).
    That second grade is recorded too, at its own time; FSRS counts same-day reviews.
    Each grade is recorded as soon as it is given, so quitting halfway keeps the rest.
    """
    result = CardSessionResult()
    pending = deque(queue)
    total = len(queue)  # cards, as the summary counts them: a missed card's second look is no new one
    positions: dict[str, int] = {}
    while pending:
        queued = pending.popleft()
        repeat = queued.card.id in result.grades
        position = positions.setdefault(queued.card.id, len(positions) + 1)
        view.front(queued.card, position, total, repeat=repeat)
        result.shown += 1
        grade = None
        if read_key() not in QUIT_KEYS:  # any other key flips
            view.back(queued.card)
            grade = _read_grade(read_key, view)
        if grade is None:
            left = [queued, *pending]
            result.stopped_early = any(q.card.id not in result.grades for q in left)
            result.relearn_left = sum(1 for q in left if q.card.id in result.grades)
            return result
        next_state = None
        if queued.counts:
            next_state = grade_card(queued.state, grade, clock())
            record(queued.card.id, next_state)
        result.grades.setdefault(queued.card.id, grade)
        result.repeats += repeat
        view.graded(queued.card, grade, next_state)
        if grade == "again":
            pending.append(replace(queued, state=next_state or queued.state))
    return result


def _read_grade(read_key: ReadKey, view: CardView) -> Grade | None:
    while True:
        key = read_key()
        if key in QUIT_KEYS:
            return None
        grade = GRADE_KEYS.get(key.lower())
        if grade is not None:
            return grade
        view.unknown_key(key)


def run_selfcheck(
    *,
    count: int,
    read_key: ReadKey,
    show: Callable[[], None],
    toggle: Callable[[int], None],
) -> int:
    """Show the list; a digit toggles that item, Enter or q ends. Returns toggles made."""
    toggles = 0
    show()
    while True:
        key = read_key()
        if key in QUIT_KEYS or key in ("\r", "\n"):
            return toggles
        if key.isdigit() and 1 <= int(key) <= count:
            toggle(int(key))
            toggles += 1
            show()

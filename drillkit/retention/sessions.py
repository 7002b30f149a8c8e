"""Interactive key-driven sessions, as plain functions.

They take a `read_key` callable (one key press per call, "" when input has ended), a
clock and a view, so tests drive them with a list of keys and a fake clock, and the
CLI with the real keyboard and the real time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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
    def front(self, card: Flashcard, position: int, total: int) -> None: ...
    def back(self, card: Flashcard) -> None: ...
    def unknown_key(self, key: str) -> None: ...
    def graded(self, card: Flashcard, grade: Grade, next_state: CardState | None) -> None: ...


@dataclass
class CardSessionResult:
    shown: int = 0
    grades: dict[str, Grade] = field(default_factory=dict)  # card id -> grade given
    stopped_early: bool = False


def run_cards(
    queue: list[QueuedCard],
    *,
    read_key: ReadKey,
    clock: Clock,
    view: CardView,
    record: Callable[[str, CardState], None],
) -> CardSessionResult:
    """Show each card's front, flip on any key, read a grade, record it, move on.

    Each grade is recorded as soon as it is given, so quitting halfway keeps the rest.
    """
    result = CardSessionResult()
    for position, queued in enumerate(queue, start=1):
        view.front(queued.card, position, len(queue))
        result.shown += 1
        if read_key() in QUIT_KEYS:  # any other key flips
            result.stopped_early = True
            return result
        view.back(queued.card)
        grade = _read_grade(read_key, view)
        if grade is None:
            result.stopped_early = True
            return result
        next_state = None
        if queued.counts:
            next_state = grade_card(queued.state, grade, clock())
            record(queued.card.id, next_state)
        result.grades[queued.card.id] = grade
        view.graded(queued.card, grade, next_state)
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

"""The learner's progress: a small versioned JSON file.

The file handling is drillkit.store's: writes are atomic (temp file + rename, no temp
file left on failure) and serialized with a file lock, so two terminals never lose each
other's updates; the file is read without blocking and with a size bound. Every read is
checked against the one schema below (DOCUMENT); a file that fails it is moved aside
(never deleted) and reported; a file from a newer drillkit is refused. An older file is
migrated forward in memory on load (one function per version step) and written in the
current schema on the next update.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from drillkit import clock, store
from drillkit.errors import ProgressFileError
from drillkit.retention.schedule import REVIEW_INTERVALS, CardState, ReviewState, first_pass

SCHEMA_VERSION = 2

Status = Literal["not started", "attempted", "passed", "passed after reveal"]


@dataclass
class DrillProgress:
    attempts: int = 0
    last_attempt: str | None = None
    last_result: Literal["passed", "failed"] | None = None
    first_passed_at: str | None = None
    revealed_at: str | None = None
    hints_used: int = 0
    review: ReviewState = field(default_factory=ReviewState)

    @property
    def clean_pass(self) -> bool:
        """Passed without looking: first pass before any reveal, or a clean review since."""
        return self.status() == "passed" or self.review.clean_rounds > 0

    def status(self) -> Status:
        if self.first_passed_at:
            if self.revealed_at and self.revealed_at < self.first_passed_at:
                return "passed after reveal"
            return "passed"
        if self.attempts:
            return "attempted"
        return "not started"


@dataclass
class Progress:
    drills: dict[int, DrillProgress] = field(default_factory=dict)
    cards: dict[str, CardState] = field(default_factory=dict)  # card id -> FSRS state; absent = new
    selfcheck: dict[str, str] = field(default_factory=dict)  # ticked item id -> when it was ticked

    def of(self, number: int) -> DrillProgress:
        return self.drills.setdefault(number, DrillProgress())

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "drills": {str(n): asdict(p) for n, p in sorted(self.drills.items())},
            "cards": {key: asdict(c) for key, c in sorted(self.cards.items())},
            "selfcheck": dict(sorted(self.selfcheck.items())),
        }

    @classmethod
    def from_json(cls, data: Any) -> Progress:
        """Validate and build a current-schema document against DOCUMENT; raises store.Invalid."""
        checked = DOCUMENT(data, "the document")
        return cls(checked["drills"], checked.get("cards", {}), checked.get("selfcheck", {}))


# --- the schema: one spec per field, checked on every read and before every write ---------
# A field added to a dataclass without a line here fails at import (store.record insists).

REVIEW = store.record(
    ReviewState,
    {
        "step": store.integer(-1, len(REVIEW_INTERVALS) - 1),
        "due": store.optional(store.timestamp),
        "rounds": store.integer(0),
        "clean_rounds": store.integer(0),
        "slipped": store.boolean,
        "last_reviewed_at": store.optional(store.timestamp),
    },
)
DRILL = store.record(
    DrillProgress,
    {
        "attempts": store.integer(0),
        "last_attempt": store.optional(store.timestamp),
        "last_result": store.optional(store.one_of("passed", "failed")),
        "first_passed_at": store.optional(store.timestamp),
        "revealed_at": store.optional(store.timestamp),
        "hints_used": store.integer(0),
        "review": REVIEW,
    },
)
CARD = store.record(
    CardState,
    {
        "due": store.timestamp,
        # FSRS divides by stability and keeps difficulty in 1..10; a huge stability would
        # push a due date past what datetime can hold.
        "stability": store.number(minimum=0.001, maximum=1e6),
        "difficulty": store.number(minimum=1, maximum=10),
        "last_review": store.timestamp,
        "fsrs_state": store.one_of(1, 2, 3),  # fsrs.State: Learning, Review, Relearning
        "step": store.optional(store.integer(0)),
        "reps": store.integer(0),
        "lapses": store.integer(0),
    },
)
DOCUMENT = store.obj(
    {
        "version": store.integer(1),
        "drills": store.mapping(store.int_key(1), DRILL),
        "cards": store.mapping(store.text(), CARD),
        "selfcheck": store.mapping(store.text(), store.timestamp),  # ticked item id -> when
    },
    required={"drills"},
)


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"{what} is not an object")
    return value


# --- migrations: each takes a document of version N and returns version N + 1 --------


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 adds flashcards, the self-check and drill review schedules.

    A drill already passed in version 1 enters the review ladder as if it had just
    been passed then: its first review falls one interval after its first pass.
    """
    drills = {}
    for key, entry in _object(data.get("drills"), "drills").items():
        entry = dict(_object(entry, f"entry for drill {key}"))
        review = ReviewState()
        if entry.get("first_passed_at"):
            review = first_pass(review, clock.parse(entry["first_passed_at"]))
        entry["review"] = asdict(review)
        drills[key] = entry
    return {**data, "version": 2, "drills": drills, "cards": {}, "selfcheck": {}}


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


@dataclass(frozen=True)
class Loaded:
    progress: Progress
    warning: str | None = None


def _file(path: Path) -> store.VersionedFile[Progress]:
    return store.VersionedFile(
        path,
        what="progress file",
        version=SCHEMA_VERSION,
        build=lambda data: Progress.from_json(data),
        dump=lambda p: p.to_json(),
        migrations=MIGRATIONS,
        error=ProgressFileError,
        elsewhere="set DRILL_PROGRESS to use another file",
    )


def load(path: Path) -> Loaded:
    """Read progress; a corrupt file is moved aside and reported, never reset silently."""
    loaded = _file(path).load()
    return Loaded(loaded.document or Progress(), loaded.warning)


def problem(path: Path) -> str | None:
    """What is wrong with the progress file, without touching it (for `drill doctor`)."""
    return _file(path).problem()


def update(path: Path, change: Callable[[Progress], None]) -> Loaded:
    """Apply `change` under the lock and write the result atomically."""

    def apply(current: Progress | None) -> Progress:
        current = current or Progress()
        change(current)
        return current

    loaded = _file(path).update(apply)
    assert loaded.document is not None
    return Loaded(loaded.document, loaded.warning)

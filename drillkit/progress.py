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
from typing import Any, Literal, NamedTuple

from drillkit import clock, store
from drillkit.errors import ProgressFileError
from drillkit.pack.model import Drill
from drillkit.retention.schedule import REVIEW_INTERVALS, CardState, ReviewState, first_pass

SCHEMA_VERSION = 3

Status = Literal["not started", "attempted", "passed", "passed after reveal"]
HISTORY_CAP = 200  # attempt times kept per drill: months of practice, a few KiB per drill


@dataclass
class DrillProgress:
    """A learner's record for one drill: attempts, passes, reveals, hints, reviews."""

    attempts: int = 0
    last_attempt: str | None = None
    last_result: Literal["passed", "failed"] | None = None
    first_passed_at: str | None = None
    revealed_at: str | None = None
    hints_used: int = 0  # len(hints_shown), kept for readers of older files
    hints_shown: list[int] = field(default_factory=list)  # indexes into the drill's hints, in order shown
    last_failed: list[str] = field(default_factory=list)  # keys of the checks that failed last time
    file: str | None = None  # where the learner's attempt was last started or checked
    review: ReviewState = field(default_factory=ReviewState)
    # When each counted check ran (ISO, oldest first, the last HISTORY_CAP): `drill progress`
    # draws practice days from it. Optional: files written before it existed have none.
    history: list[str] = field(default_factory=list)

    def record_attempt(self, stamp: str) -> None:
        self.attempts += 1
        self.last_attempt = stamp
        self.history = [*self.history, stamp][-HISTORY_CAP:]

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
class PackProgress:
    """One pack's share of the file: drills keyed by slug, cards and self-check items by id."""

    drills: dict[str, DrillProgress] = field(default_factory=dict)
    cards: dict[str, CardState] = field(default_factory=dict)  # card id -> FSRS state; absent = new
    selfcheck: dict[str, str] = field(default_factory=dict)  # ticked item id -> when it was ticked

    def of(self, slug: str) -> DrillProgress:
        return self.drills.setdefault(slug, DrillProgress())

    def get(self, slug: str) -> DrillProgress:
        return self.drills.get(slug) or DrillProgress()

    def to_json(self) -> dict[str, Any]:
        return {
            "drills": {k: _drill_json(p) for k, p in sorted(self.drills.items())},
            "cards": {key: asdict(c) for key, c in sorted(self.cards.items())},
            "selfcheck": dict(sorted(self.selfcheck.items())),
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "pack") -> PackProgress:
        """Validate and build one pack's part against PACK; raises store.Invalid."""
        return PACK(data, where)


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
        "hints_shown": store.array(store.integer(0, 99), max_items=100),
        "last_failed": store.array(store.text(), max_items=100),
        "file": store.optional(store.text(4096)),
        "review": REVIEW,
        "history": store.array(store.timestamp, max_items=HISTORY_CAP),
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
PACK = store.record(
    PackProgress,
    {
        "drills": store.mapping(store.text(), DRILL),  # drill slug -> its progress
        "cards": store.mapping(store.text(), CARD),
        "selfcheck": store.mapping(store.text(), store.timestamp),  # ticked item id -> when
    },
)
DOCUMENT = store.obj(
    {"version": store.integer(1), "packs": store.mapping(store.text(), PACK)},
    required={"packs"},
)


@dataclass
class Progress:
    """The whole progress file: every pack's progress, keyed by pack id."""

    packs: dict[str, PackProgress] = field(default_factory=dict)

    def pack(self, pack_id: str) -> PackProgress:
        """A pack's progress, created on first write."""
        return self.packs.setdefault(pack_id, PackProgress())

    def view(self, pack_id: str) -> PackProgress:
        """A pack's progress for reading (an empty one if it has none yet)."""
        return self.packs.get(pack_id) or PackProgress()

    def of(self, drill: Drill) -> DrillProgress:
        return self.pack(drill.pack_id).of(drill.slug)

    def get(self, drill: Drill) -> DrillProgress:
        return self.view(drill.pack_id).get(drill.slug)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "packs": {k: p.to_json() for k, p in sorted(self.packs.items())},
        }

    @classmethod
    def from_json(cls, data: Any) -> Progress:
        """Validate and build a current-schema document against DOCUMENT; raises store.Invalid."""
        return cls(DOCUMENT(data, "the document")["packs"])


def _drill_json(entry: DrillProgress) -> dict[str, Any]:
    data = asdict(entry)
    if not data["history"]:
        del data["history"]  # optional: absent until the first counted check
    return data


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


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    """Version 3 keys everything by pack id and drill slug, so renumbering a drill keeps its
    progress and several packs can share the file. Schema 2 knew one pack and keyed its
    drills by number: that pack says which slugs its numbers were (`progress_v2` in pack.yaml)."""
    from drillkit.pack.catalog import progress_v2_numbering

    known = progress_v2_numbering()
    if known is None:
        raise ValueError("a schema 2 progress file, but no installed pack knows its drill numbers")
    pack_id, slugs = known
    drills = {}
    for key, entry in _object(data.get("drills"), "drills").items():
        entry = dict(_object(entry, f"entry for drill {key}"))
        used = entry.get("hints_used", 0)
        entry["hints_shown"] = list(range(used)) if isinstance(used, int) and 0 <= used < 100 else []
        if isinstance(entry.get("history"), list):  # a schema 2 file may hold history too: keep the cap
            entry["history"] = entry["history"][-HISTORY_CAP:]
        if not str(key).isdigit():
            raise ValueError(f"drill key {key!r} is not a drill number")
        if int(key) in slugs:  # a number the pack never had: nothing to carry over
            drills[slugs[int(key)]] = entry
    pack = {"drills": drills, "cards": data.get("cards", {}), "selfcheck": data.get("selfcheck", {})}
    return {"version": 3, "packs": {pack_id: pack}}


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3}


# A NamedTuple, not a frozen dataclass: `drill list` imports it (see drillkit/pack/model.py).
class Loaded(NamedTuple):
    """Progress as read, and the warning if a corrupt file was moved aside."""

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
    loaded = _file(path).change(change, Progress)
    assert loaded.document is not None
    return Loaded(loaded.document, loaded.warning)

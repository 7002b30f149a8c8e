"""The learner's progress: a small versioned JSON file.

Writes are atomic (temp file + rename) and serialized with a file lock, so two
terminals never lose each other's updates. A file that cannot be read is moved
aside (never deleted) and reported; a file from a newer drillkit is refused.
An older file is migrated forward in memory on load (one function per version step)
and written in the current schema on the next update.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from drillkit import clock
from drillkit.errors import ProgressFileError
from drillkit.retention.schedule import CardState, ReviewState, first_pass

SCHEMA_VERSION = 2

Status = Literal["not started", "attempted", "passed", "passed after reveal"]
HISTORY_CAP = 200  # attempt times kept per drill: months of practice, a few KiB per drill


@dataclass
class DrillProgress:
    attempts: int = 0
    last_attempt: str | None = None
    last_result: Literal["passed", "failed"] | None = None
    first_passed_at: str | None = None
    revealed_at: str | None = None
    hints_used: int = 0
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
class Progress:
    drills: dict[int, DrillProgress] = field(default_factory=dict)
    cards: dict[str, CardState] = field(default_factory=dict)  # card id -> FSRS state; absent = new
    selfcheck: dict[str, str] = field(default_factory=dict)  # ticked item id -> when it was ticked

    def of(self, number: int) -> DrillProgress:
        return self.drills.setdefault(number, DrillProgress())

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "drills": {str(n): _drill_json(p) for n, p in sorted(self.drills.items())},
            "cards": {key: asdict(c) for key, c in sorted(self.cards.items())},
            "selfcheck": dict(sorted(self.selfcheck.items())),
        }

    @classmethod
    def from_json(cls, data: Any) -> Progress:
        """Validate and build a current-schema document.

        Raises ValueError/TypeError/KeyError on a malformed one.
        """
        if not isinstance(data, dict) or not isinstance(data.get("drills"), dict):
            raise ValueError("not a drillkit progress document")
        drills: dict[int, DrillProgress] = {}
        for key, entry in data["drills"].items():
            if not isinstance(entry, dict):
                raise TypeError(f"entry for drill {key} is not an object")
            review = entry.get("review", {})
            if not isinstance(review, dict):
                raise TypeError(f"review of drill {key} is not an object")
            progress = DrillProgress(**{**entry, "review": ReviewState(**review)})
            if not isinstance(progress.attempts, int) or progress.attempts < 0:
                raise TypeError(f"attempts of drill {key} is not a count")
            if not isinstance(progress.history, list):
                raise TypeError(f"history of drill {key} is not a list")
            for stamp in (progress.review.due, progress.review.last_reviewed_at, *progress.history):
                if stamp is not None:
                    clock.parse(stamp)  # a bad date is caught here, not mid-session
            drills[int(key)] = progress
        cards: dict[str, CardState] = {}
        for key, entry in _object(data.get("cards", {}), "cards").items():
            card = CardState(**_object(entry, f"card {key}"))
            clock.parse(card.due)
            clock.parse(card.last_review)
            if not isinstance(card.stability, int | float) or not isinstance(card.difficulty, int | float):
                raise TypeError(f"card {key} has no numeric stability/difficulty")
            cards[str(key)] = card
        selfcheck = _object(data.get("selfcheck", {}), "selfcheck")
        for key, stamp in selfcheck.items():
            if not isinstance(stamp, str):
                raise TypeError(f"self-check item {key} has no tick time")
        return cls(drills, cards, dict(selfcheck))


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


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2}


def migrate(data: Any) -> Any:
    """Bring an older document up to SCHEMA_VERSION; a current one passes through."""
    if not isinstance(data, dict):
        return data  # from_json rejects it with a proper message
    version = data.get("version", 1)  # files from before the field existed are version 1
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"unknown progress schema version {version!r}")
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version = data["version"]
    return data


@dataclass(frozen=True)
class Loaded:
    progress: Progress
    warning: str | None = None


def load(path: Path) -> Loaded:
    """Read progress; a corrupt file is moved aside and reported, never reset silently."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Loaded(Progress())
    except OSError as exc:
        raise ProgressFileError(f"cannot read progress file {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
        version = data.get("version") if isinstance(data, dict) else None
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise ProgressFileError(
                f"progress file {path} was written by a newer drillkit (schema {version}, "
                f"this one reads {SCHEMA_VERSION}); upgrade drillkit or set DRILL_PROGRESS"
            )
        return Loaded(Progress.from_json(migrate(data)))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        backup = _move_aside(path)
        return Loaded(
            Progress(),
            warning=f"progress file {path} was unreadable ({exc}); it was moved to {backup} "
            "and progress starts fresh",
        )


def problem(path: Path) -> str | None:
    """What is wrong with the progress file, without touching it (for `drill doctor`)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        return f"{path}: {exc}"
    version = data.get("version") if isinstance(data, dict) else None
    if isinstance(version, int) and version > SCHEMA_VERSION:
        return f"{path} was written by a newer drillkit (schema {version})"
    try:
        Progress.from_json(data)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return f"{path}: {exc}"
    return None


def update(path: Path, change: Callable[[Progress], None]) -> Loaded:
    """Apply `change` under the lock and write the result atomically."""
    with _locked(path):
        loaded = load(path)
        change(loaded.progress)
        data = loaded.progress.to_json()
        _validate(data)
        _atomic_write(path, data)
        return loaded


def _validate(data: dict[str, Any]) -> None:
    """Refuse to write what we could not read back: a bug must not cost the learner their file."""
    try:
        Progress.from_json(json.loads(json.dumps(data)))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ProgressFileError(
            f"refusing to write an invalid progress document ({exc}); nothing was changed"
        ) from None


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    from filelock import FileLock, Timeout

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(path) + ".lock", timeout=30)
        with lock:
            yield
    except Timeout:
        raise ProgressFileError(f"progress file {path} stayed locked for 30 s") from None
    except PermissionError as exc:
        raise ProgressFileError(f"cannot write progress next to {path}: {exc.strerror}") from None


def _atomic_write(path: Path, data: dict[str, Any]) -> None:
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise ProgressFileError(f"cannot write progress file {path}: {exc.strerror}") from None


def _move_aside(path: Path) -> Path:
    from datetime import UTC, datetime

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    backup = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while backup.exists():
        n += 1
        backup = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    os.replace(path, backup)
    return backup

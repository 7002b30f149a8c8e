"""The learner's progress: a small versioned JSON file.

Writes are atomic (temp file + rename) and serialized with a file lock, so two
terminals never lose each other's updates. A file that cannot be read is moved
aside (never deleted) and reported; a file from a newer drillkit is refused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from drillkit.errors import ProgressFileError

SCHEMA_VERSION = 1

Status = Literal["not started", "attempted", "passed", "passed after reveal"]


def now_iso() -> str:
    from datetime import UTC, datetime  # deferred: `drill list` only reads

    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass
class DrillProgress:
    attempts: int = 0
    last_attempt: str | None = None
    last_result: Literal["passed", "failed"] | None = None
    first_passed_at: str | None = None
    revealed_at: str | None = None
    hints_used: int = 0

    def status(self, *, has_file: bool = False) -> Status:
        if self.first_passed_at:
            if self.revealed_at and self.revealed_at < self.first_passed_at:
                return "passed after reveal"
            return "passed"
        if self.attempts or has_file:
            return "attempted"
        return "not started"


@dataclass
class Progress:
    drills: dict[int, DrillProgress] = field(default_factory=dict)

    def of(self, number: int) -> DrillProgress:
        return self.drills.setdefault(number, DrillProgress())

    def to_json(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "drills": {str(n): asdict(p) for n, p in sorted(self.drills.items())},
        }

    @classmethod
    def from_json(cls, data: Any) -> Progress:
        """Validate and build; raises ValueError/TypeError/KeyError on a malformed document."""
        if not isinstance(data, dict) or not isinstance(data.get("drills"), dict):
            raise ValueError("not a drillkit progress document")
        drills: dict[int, DrillProgress] = {}
        for key, entry in data["drills"].items():
            if not isinstance(entry, dict):
                raise TypeError(f"entry for drill {key} is not an object")
            progress = DrillProgress(**entry)
            if not isinstance(progress.attempts, int) or progress.attempts < 0:
                raise TypeError(f"attempts of drill {key} is not a count")
            drills[int(key)] = progress
        return cls(drills)


@dataclass(frozen=True)
class Loaded:
    progress: Progress
    warning: str | None = None


def load(path: Path) -> Loaded:
    """Read progress; a corrupt file is moved aside and reported, never reset silently."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Loaded(Progress())
    except OSError as exc:
        raise ProgressFileError(f"cannot read progress file {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw)
        version = data.get("version") if isinstance(data, dict) else None
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise ProgressFileError(
                f"progress file {path} was written by a newer drillkit (schema {version}, "
                f"this one reads {SCHEMA_VERSION}); upgrade drillkit or set DRILL_PROGRESS"
            )
        return Loaded(Progress.from_json(data))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        backup = _move_aside(path)
        return Loaded(
            Progress(),
            warning=f"progress file {path} was unreadable ({exc}); it was moved to {backup} "
            "and progress starts fresh",
        )


def update(path: Path, change: Callable[[Progress], None]) -> Loaded:
    """Apply `change` under the lock and write the result atomically."""
    with _locked(path):
        loaded = load(path)
        change(loaded.progress)
        _atomic_write(path, loaded.progress.to_json())
        return loaded


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

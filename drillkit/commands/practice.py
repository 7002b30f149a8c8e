"""Getting unstuck without being handed the answer: progressive hints and a clean restart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from drillkit import progress
from drillkit.attempts import workspace_file
from drillkit.commands.start import start_drill
from drillkit.errors import LearnerFileError
from drillkit.pack.catalog import Drill
from drillkit.paths import Paths


@dataclass(frozen=True)
class Hinted:
    drill: Drill
    shown: list[str]  # every hint unlocked so far, oldest first
    new: bool  # False: all hints were already shown
    warning: str | None

    @property
    def exhausted(self) -> bool:
        return len(self.shown) == len(self.drill.hints)


def hint_drill(paths: Paths, drill: Drill) -> Hinted:
    """Unlock one more hint (never the solution) and remember how many were used."""
    unlocked: list[int] = []

    def record(p: progress.Progress) -> None:
        entry = p.of(drill.number)
        before = entry.hints_used
        entry.hints_used = min(before + 1, len(drill.hints))
        unlocked[:] = [before, entry.hints_used]

    loaded = progress.update(paths.progress_file, record)
    before, after = unlocked
    return Hinted(drill, list(drill.hints[:after]), new=after > before, warning=loaded.warning)


@dataclass(frozen=True)
class Reset:
    drill: Drill
    path: Path
    backup: Path | None  # where the previous attempt was kept


def reset_drill(paths: Paths, drill: Drill, now: str | None = None) -> Reset:
    """Put the starter back; the old attempt is kept under workspace/backups/."""
    path = workspace_file(paths, drill)
    backup = None
    if path.exists():
        stamp = now or datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        backup = paths.workspace / "backups" / f"{drill.stem}-{stamp}.py"
        n = 1
        while backup.exists():
            n += 1
            backup = backup.with_name(f"{drill.stem}-{stamp}-{n}.py")
        try:
            backup.parent.mkdir(parents=True, exist_ok=True)
            path.replace(backup)
        except OSError as exc:
            raise LearnerFileError(f"cannot move {path} to {backup}: {exc.strerror}") from None
    started = start_drill(paths, drill)
    return Reset(drill, started.path, backup)

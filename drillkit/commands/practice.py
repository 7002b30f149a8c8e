"""Getting unstuck without being handed the answer: progressive hints and a clean restart."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from drillkit import progress
from drillkit.attempts import workspace_file
from drillkit.commands.start import start_drill
from drillkit.errors import LearnerFileError
from drillkit.pack.model import Drill, Hint
from drillkit.pack.text import starter_text
from drillkit.paths import Paths
from drillkit.store import shown


@dataclass(frozen=True)
class Hinted:
    drill: Drill
    shown: list[Hint]  # every hint unlocked so far, oldest first
    new: bool  # False: all hints were already shown
    about: str | None  # the failing check the newest hint is about, if it is tied to one
    warning: str | None

    @property
    def exhausted(self) -> bool:
        return len(self.shown) == len(self.drill.hints)


def next_hint(drill: Drill, shown: list[int], last_failed: list[str]) -> int | None:
    """The hint that fits the mistake: one tied to the first check that failed last time,
    else the next general hint, else any hint not shown yet."""
    unseen = [i for i in range(len(drill.hints)) if i not in shown]
    for key in last_failed:  # in the drill's check order
        for i in unseen:
            if drill.hints[i].check == key:
                return i
    general = [i for i in unseen if drill.hints[i].check is None]
    return (general or unseen or [None])[0]


def pending_hint(drill: Drill, shown: list[int], failed: list[str]) -> str | None:
    """The key of a failed check that has a hint waiting for it (for the check report)."""
    for key in failed:
        if any(h.check == key and i not in shown for i, h in enumerate(drill.hints)):
            return key
    return None


def hint_drill(paths: Paths, drill: Drill) -> Hinted:
    """Unlock one more hint (never the solution) and remember which ones were used."""
    picked: list[int | None] = [None]
    failed_before: list[str] = []
    shown: list[int] = []

    def record(p: progress.Progress) -> None:
        entry = p.of(drill)
        entry.hints_shown = [i for i in entry.hints_shown if 0 <= i < len(drill.hints)]
        failed_before[:] = entry.last_failed
        choice = next_hint(drill, entry.hints_shown, entry.last_failed)
        if choice is not None:
            entry.hints_shown.append(choice)
        entry.hints_used = len(entry.hints_shown)
        picked[0] = choice
        shown[:] = entry.hints_shown

    loaded = progress.update(paths.progress_file, record)
    choice = picked[0]
    about = None
    if choice is not None and drill.hints[choice].check in failed_before:  # about a miss of theirs
        from drillkit.check.loader import load_checks

        try:
            names = {
                c.key: c.name for c in load_checks(drill.pack_id, drill.folder.parent, drill.slug).checks
            }
            about = names.get(drill.hints[choice].check or "")
        except Exception:  # a broken checks.py must not cost the learner their hint
            about = None
    return Hinted(
        drill, [drill.hints[i] for i in shown], new=choice is not None, about=about, warning=loaded.warning
    )


@dataclass(frozen=True)
class Reset:
    drill: Drill
    path: Path
    backup: Path | None  # where the previous attempt was kept


def reset_drill(paths: Paths, drill: Drill, now: str | None = None) -> Reset:
    """Put the starter back; the old attempt is kept under <workspace>/<pack>/backups/."""
    path = workspace_file(paths, drill)
    starter_text(drill)  # first: with the pack's starter gone, the attempt stays where it is
    backup = None
    if path.exists():
        if not path.is_file():  # as `drill start` says: a directory or a FIFO is no attempt to keep
            raise LearnerFileError(f"{shown(path)} exists but is not a regular file; move it away")
        stamp = now or datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        backup = paths.workspace / drill.pack_id / "backups" / f"{drill.stem}-{stamp}.py"
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

"""Where a learner's attempt at a drill lives: the workspace file, or an open review's file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from drillkit import clock, progress
from drillkit.errors import ConfigError, LearnerFileError
from drillkit.pack.model import ANSWER_MARKER, Drill
from drillkit.paths import Paths
from drillkit.retention import schedule
from drillkit.retention.schedule import ReviewState
from drillkit.store import read_learner_file

__all__ = [
    "ANSWER_MARKER",
    "answer_part",
    "attempt_path",
    "current_attempt",
    "is_untouched_starter",
    "workspace_file",
]


def workspace_file(paths: Paths, drill: Drill) -> Path:
    """`<workspace>/<pack>/NN_slug.py`; an attempt from drillkit 0.1 (one pack, no pack folder)
    stays where it is, recognised by its header, so upgrading loses no one's work."""
    path = paths.workspace / drill.pack_id / drill.filename
    if not path.exists():
        legacy = paths.workspace / drill.filename
        if _starts_as(legacy, f"# Drill {drill.number} · {drill.title}"):
            return legacy
    return path


def _starts_as(path: Path, header: str) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(header.encode()) + 4).decode("utf-8", errors="replace").startswith(header)
    except OSError:
        return False


def review_file(paths: Paths, drill: Drill, review: ReviewState) -> Path:
    """Where review number `rounds + 1` of a drill is written: a new file for every review."""
    return paths.workspace / drill.pack_id / "review" / f"{drill.stem}_review{review.rounds + 1}.py"


def open_review_file(paths: Paths, drill: Drill, now: datetime) -> Path | None:
    """The scaffolded review file of a drill that is due now, if there is one."""
    review = progress.load(paths.progress_file).progress.get(drill).review
    path = review_file(paths, drill, review)
    return path if schedule.is_due(review, now) and path.exists() else None


def attempt_path(paths: Paths, drill: Drill, now: datetime | None = None) -> Path:
    """The file `drill check N` and `drill watch N` mean: an open review's, else the workspace's."""
    return open_review_file(paths, drill, now or clock.now()) or workspace_file(paths, drill)


def current_attempt(
    paths: Paths, drill: Drill, now: datetime | None = None, *, remembered: bool = True
) -> Path:
    """The attempt to check: an open review's, the workspace's, else the one progress remembers
    (the learner may have `cd`'d away from the workspace they started it in). `remembered=False`
    when the learner named the workspace (--dir): then only that workspace counts."""
    path = attempt_path(paths, drill, now)
    if path.exists():
        return path
    earlier = remembered_attempt(paths, drill) if remembered else None
    if earlier is not None:
        return earlier
    raise LearnerFileError(
        f"no attempt at {path}; run `drill start {drill.cli_ref}` first, or pass --file PATH"
    )


def remembered_attempt(paths: Paths, drill: Drill) -> Path | None:
    """The file this drill was last started or checked in, if it is still there."""
    recorded = progress.load(paths.progress_file).progress.get(drill).file
    if recorded and Path(recorded).is_file():
        return Path(recorded)
    return None


def is_untouched_starter(path: Path, drill: Drill) -> bool:
    """The file is exactly the starter `drill start` writes, or the pack's own starter.py (as
    `drill validate` checks it): nothing of the learner's in it yet."""
    try:
        mine = read_learner_file(path).decode("utf-8").replace("\r\n", "\n")
    except (LearnerFileError, UnicodeDecodeError):
        return False
    from drillkit.pack.text import starter_text

    try:
        starter = starter_text(drill)
    except ConfigError:  # the pack's starter went missing: nothing can be its copy
        return False
    return mine in (starter, _read_text(drill.starter_path))


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").replace("\r\n", "\n")
    except (OSError, UnicodeDecodeError):
        return None


def answer_part(text: str) -> str:
    """Everything after the answer marker line (the whole text if there is no marker)."""
    _head, marker, tail = text.partition(ANSWER_MARKER)
    if not marker:
        return text
    return tail.split("\n", 1)[1].lstrip("\n") if "\n" in tail else ""

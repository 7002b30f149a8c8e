"""Where a learner's attempt at a drill lives: the workspace file, or an open review's file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from drillkit import clock, progress
from drillkit.errors import LearnerFileError
from drillkit.pack.catalog import Drill, starter_text
from drillkit.paths import Paths
from drillkit.progress import DrillProgress
from drillkit.retention import schedule
from drillkit.retention.schedule import ReviewState

ANSWER_MARKER = "# --- your answer below"


def workspace_file(paths: Paths, drill: Drill) -> Path:
    return paths.workspace / drill.filename


def review_file(paths: Paths, drill: Drill, review: ReviewState) -> Path:
    """Where review number `rounds + 1` of a drill is written: a new file for every review."""
    return paths.workspace / "review" / f"{drill.stem}_review{review.rounds + 1}.py"


def open_review_file(paths: Paths, drill: Drill, now: datetime) -> Path | None:
    """The scaffolded review file of a drill that is due now, if there is one."""
    review = progress.load(paths.progress_file).progress.drills.get(drill.number, DrillProgress()).review
    path = review_file(paths, drill, review)
    return path if schedule.is_due(review, now) and path.exists() else None


def attempt_path(paths: Paths, drill: Drill, now: datetime | None = None) -> Path:
    """The file `drill check N` and `drill watch N` mean: an open review's, else the workspace's."""
    return open_review_file(paths, drill, now or clock.now()) or workspace_file(paths, drill)


def current_attempt(paths: Paths, drill: Drill, now: datetime | None = None) -> Path:
    path = attempt_path(paths, drill, now)
    if not path.exists():
        raise LearnerFileError(
            f"no attempt at {path}; run `drill start {drill.number}` first, or pass --file PATH"
        )
    return path


def is_untouched_starter(path: Path, drill: Drill) -> bool:
    """The file is exactly the starter `drill start` wrote: nothing of the learner's in it yet."""
    try:
        mine = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    except (OSError, UnicodeDecodeError):
        return False
    return mine == starter_text(drill)


def answer_part(text: str) -> str:
    """Everything after the answer marker line (the whole text if there is no marker)."""
    _head, marker, tail = text.partition(ANSWER_MARKER)
    if not marker:
        return text
    return tail.split("\n", 1)[1].lstrip("\n") if "\n" in tail else ""

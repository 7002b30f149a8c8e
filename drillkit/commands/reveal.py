"""`drill reveal N`: the reference solution beside the attempt; revealing is recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from drillkit import clock, progress
from drillkit.attempts import answer_part, attempt_path, open_review_file, workspace_file
from drillkit.pack.model import Drill
from drillkit.pack.text import pack_file_text
from drillkit.paths import Paths
from drillkit.retention import schedule
from drillkit.store import read_learner_file


@dataclass(frozen=True)
class Revealed:
    drill: Drill
    solution: str
    answer: str  # the part below the answer marker: what the learner had to write
    attempt: Path | None
    attempt_answer: str | None  # the learner's answer part, for side by side
    diff: str | None
    warning: str | None


def needs_confirmation(paths: Paths, drill: Drill) -> bool:
    """Reveal asks first when the learner has not run a check on this drill yet."""
    return progress.load(paths.progress_file).progress.get(drill).attempts == 0


def attempt_to_write(paths: Paths, drill: Drill) -> Path:
    """Where the learner's attempt goes (an open review's file, else the workspace's)."""
    return attempt_path(paths, drill)


def reveal_drill(paths: Paths, drill: Drill, now: datetime | None = None) -> Revealed:
    from difflib import unified_diff  # deferred: `drill list` imports this module too

    now = now or clock.now()
    solution = pack_file_text(drill, drill.solution_path, "reference solution")
    attempt = open_review_file(paths, drill, now) or workspace_file(paths, drill)
    diff = mine = None
    if attempt.exists():
        mine = answer_part(read_learner_file(attempt).decode("utf-8", errors="replace"))
        diff = "".join(
            unified_diff(
                mine.splitlines(keepends=True),
                answer_part(solution).splitlines(keepends=True),
                fromfile=f"your attempt ({attempt.name})",
                tofile="reference",
            )
        )

    def record(p: progress.Progress) -> None:
        entry = p.of(drill)
        if not entry.revealed_at:
            entry.revealed_at = clock.iso(now)
        # Looking during a due review shortens the next interval; after passing it is free.
        entry.review = schedule.review_slipped(entry.review, now)

    loaded = progress.update(paths.progress_file, record)
    return Revealed(
        drill=drill,
        solution=solution,
        answer=answer_part(solution),
        attempt=attempt if attempt.exists() else None,
        attempt_answer=mine,
        diff=diff or None,
        warning=loaded.warning,
    )

"""`drill check N`: run the attempt, record it, move its review schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from drillkit import clock, progress
from drillkit.attempts import current_attempt, review_file
from drillkit.errors import LearnerFileError
from drillkit.pack.model import Drill
from drillkit.paths import Paths
from drillkit.progress import DrillProgress
from drillkit.results import CheckReport
from drillkit.retention import schedule
from drillkit.retention.schedule import ReviewState
from drillkit.store import read_learner_file

ReviewEvent = Literal["scheduled", "passed", "slipped", "pending"]


@dataclass(frozen=True)
class ReviewNote:
    """What a check did to the drill's review schedule, for the report."""

    event: ReviewEvent  # scheduled: first pass; passed/slipped: a review check; pending: reminder
    review: ReviewState  # the state after the check
    clean: bool = False  # for "passed": no failed check and no reveal during this review

    def to_json(self) -> dict[str, object]:
        return {"event": self.event, "due": self.review.due, "step": self.review.step, "clean": self.clean}


@dataclass(frozen=True)
class Checked:
    report: CheckReport
    warning: str | None
    review: ReviewNote | None = None
    recorded: bool = True  # False for drillkit's own reference solution
    hint_waiting: str | None = None  # a failed check with a hint of its own not shown yet


def check_drill(
    paths: Paths,
    drill: Drill,
    file: Path | None,
    timeout: float,
    now: datetime | None = None,
    *,
    remembered: bool = True,  # False: the learner named the workspace, look nowhere else
) -> Checked:
    from drillkit.checkserver import client
    from drillkit.db import control, idle
    from drillkit.pack.text import pack_file_text
    from drillkit.store import read_learner_file

    path = file if file is not None else current_attempt(paths, drill, now, remembered=remembered)
    read_learner_file(path)  # a LearnerFileError (exit 2) before any process is started
    # A folder pack is used where its author edits it: checks gone (or a FIFO, which would
    # hang the import) are one line too, not a traceback from the checker.
    pack_file_text(drill, drill.checks_path, "checks")
    path = path.resolve()
    with idle.in_use(paths.locks):  # the idle watchdog never stops the server under a check
        db = control.resolve(paths)
        # The check server answers warm checks; without it, the run happens in our own tree.
        report = client.check(paths, db, drill, path, timeout)
        if report is None:
            from drillkit.run.runner import check_file

            report = check_file(drill, path, db, timeout=timeout)
    if report.untouched_starter or is_reference(drill, path) or report.checker_failed:
        # Neither the blank starter nor the shipped answer (the README's smoke test, or a copy)
        # says anything about the learner's recall, nor does a run the checker itself broke:
        # not an attempt, not a pass.
        return Checked(report, None, None, recorded=False)
    note: ReviewNote | None = None

    def record(p: progress.Progress) -> None:
        nonlocal note
        entry = p.of(drill)
        moment = now or clock.now()
        stamp = clock.iso(moment)
        entry.record_attempt(stamp)  # count, last time, and the history `drill progress` draws
        entry.last_result = "passed" if report.passed else "failed"
        entry.last_failed = [r.key for r in report.results if r.status == "failed" and r.key]
        if path.resolve() != review_file(paths, drill, entry.review).resolve():
            entry.file = str(path.resolve())  # where the attempt lives, wherever the next check runs
        if report.passed and not entry.first_passed_at:
            entry.first_passed_at = stamp
        note = _reschedule(entry, path, report.passed, moment, paths, drill)

    loaded = progress.update(paths.progress_file, record)
    return Checked(report, loaded.warning, note, hint_waiting=_hint_waiting(drill, report, loaded.progress))


def _hint_waiting(drill: Drill, report: CheckReport, p: progress.Progress) -> str | None:
    from drillkit.commands.practice import pending_hint

    failed = [r.key for r in report.results if r.status == "failed" and r.key]
    key = pending_hint(drill, p.get(drill).hints_shown, failed)
    return next((r.name for r in report.results if r.key == key), None) if key else None


def is_reference(drill: Drill, path: Path) -> bool:
    """The shipped reference solution (the repo's or the installed copy): same text, not path."""

    def text(raw: bytes) -> str:
        return "\n".join(line.rstrip() for line in raw.decode("utf-8", errors="replace").splitlines())

    from drillkit.store import Unreadable, read_text_file

    try:
        return text(read_learner_file(path)) == text(read_text_file(drill.solution_path).encode())
    except (LearnerFileError, Unreadable):
        return False


def _reschedule(
    entry: DrillProgress, path: Path, passed: bool, now: datetime, paths: Paths, drill: Drill
) -> ReviewNote | None:
    before = entry.review
    if not before.scheduled:
        if not passed:
            return None
        entry.review = schedule.first_pass(before, now)
        return ReviewNote("scheduled", entry.review)
    if not schedule.is_due(before, now):
        return None
    # Only the review file counts: passing the old attempt again proves no recall.
    if path.resolve() != review_file(paths, drill, before).resolve():
        return ReviewNote("pending", before)
    if passed:
        entry.review = schedule.review_passed(before, now)
        return ReviewNote("passed", entry.review, clean=not before.slipped)
    entry.review = schedule.review_slipped(before, now)
    return ReviewNote("slipped", entry.review)

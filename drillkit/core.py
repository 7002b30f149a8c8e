"""One typed function per command; the CLI only parses arguments and renders results."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from drillkit import progress
from drillkit.catalog import Catalog, Drill, load_catalog, starter_text
from drillkit.errors import LearnerFileError
from drillkit.paths import Paths
from drillkit.progress import DrillProgress, Status

if TYPE_CHECKING:
    from drillkit.results import CheckReport

ANSWER_MARKER = "# --- your answer below"


@dataclass(frozen=True)
class DrillRow:
    drill: Drill
    status: Status | str
    attempts: int
    last_attempt: str | None
    file: Path | None


@dataclass(frozen=True)
class Listing:
    rows: list[DrillRow]
    warning: str | None

    @property
    def passed(self) -> int:
        return sum(1 for r in self.rows if str(r.status).startswith("passed"))

    @property
    def next_drill(self) -> Drill | None:
        for row in self.rows:
            if not str(row.status).startswith("passed"):
                return row.drill
        return None


def workspace_file(paths: Paths, drill: Drill) -> Path:
    return paths.workspace / drill.filename


def display_status(record: DrillProgress, has_file: bool) -> Status | str:
    status = record.status(has_file=False)
    if status == "not started" and has_file:
        return "started"  # scaffolded, never checked
    return status


def list_drills(paths: Paths, catalog: Catalog | None = None) -> Listing:
    catalog = catalog or load_catalog(cache_dir=paths.cache)
    loaded = progress.load(paths.progress_file)
    rows = []
    for drill in catalog.drills:
        record = loaded.progress.drills.get(drill.number, DrillProgress())
        file = workspace_file(paths, drill)
        has_file = file.exists()
        rows.append(
            DrillRow(
                drill=drill,
                status=display_status(record, has_file),
                attempts=record.attempts,
                last_attempt=record.last_attempt,
                file=file if has_file else None,
            )
        )
    return Listing(rows, loaded.warning)


@dataclass(frozen=True)
class Started:
    drill: Drill
    path: Path
    created: bool  # False: an attempt was already there and was left alone


def start_drill(paths: Paths, drill: Drill) -> Started:
    path = workspace_file(paths, drill)
    try:
        paths.workspace.mkdir(parents=True, exist_ok=True)
        # "x" mode: never overwrite an attempt, even if two commands race.
        with path.open("x", encoding="utf-8") as handle:
            handle.write(starter_text(drill))
    except FileExistsError:
        return Started(drill, path, created=False)
    except OSError as exc:
        raise LearnerFileError(f"cannot write {path}: {exc.strerror}") from None
    return Started(drill, path, created=True)


def resolve_attempt(paths: Paths, drill: Drill, file: Path | None) -> Path:
    if file is not None:
        return file
    path = workspace_file(paths, drill)
    if not path.exists():
        raise LearnerFileError(
            f"no attempt at {path}; run `drill start {drill.number}` first, or pass --file PATH"
        )
    return path


@dataclass(frozen=True)
class Checked:
    report: CheckReport
    warning: str | None


def check_drill(paths: Paths, drill: Drill, file: Path | None, timeout: float) -> Checked:
    from drillkit import database, idle
    from drillkit.runner import check_file, validate_learner_file

    path = validate_learner_file(resolve_attempt(paths, drill, file))
    with idle.in_use(paths.locks):  # the idle watchdog never stops the server under a check
        db = database.resolve(paths)
        report = check_file(drill, path, db, timeout=timeout)

    def record(p: progress.Progress) -> None:
        entry = p.of(drill.number)
        stamp = progress.now_iso()
        entry.attempts += 1
        entry.last_attempt = stamp
        entry.last_result = "passed" if report.passed else "failed"
        if report.passed and not entry.first_passed_at:
            entry.first_passed_at = stamp

    loaded = progress.update(paths.progress_file, record)
    return Checked(report, loaded.warning)


@dataclass(frozen=True)
class Revealed:
    drill: Drill
    solution: str
    answer: str  # the part below the answer marker: what the learner had to write
    attempt: Path | None
    diff: str | None
    warning: str | None


def needs_confirmation(paths: Paths, drill: Drill) -> bool:
    """Reveal asks first when the learner has not run a check on this drill yet."""
    record = progress.load(paths.progress_file).progress.drills.get(drill.number)
    return record is None or record.attempts == 0


def reveal_drill(paths: Paths, drill: Drill) -> Revealed:
    solution = drill.solution_path.read_text(encoding="utf-8")
    attempt = workspace_file(paths, drill)
    diff = None
    if attempt.exists():
        import difflib

        mine = attempt.read_text(encoding="utf-8", errors="replace")
        diff = "".join(
            difflib.unified_diff(
                answer_part(mine).splitlines(keepends=True),
                answer_part(solution).splitlines(keepends=True),
                fromfile=f"your attempt ({attempt.name})",
                tofile="reference",
            )
        )

    def record(p: progress.Progress) -> None:
        entry = p.of(drill.number)
        if not entry.revealed_at:
            entry.revealed_at = progress.now_iso()

    loaded = progress.update(paths.progress_file, record)
    return Revealed(
        drill=drill,
        solution=solution,
        answer=answer_part(solution),
        attempt=attempt if attempt.exists() else None,
        diff=diff or None,
        warning=loaded.warning,
    )


def answer_part(text: str) -> str:
    """Everything after the answer marker line (the whole text if there is no marker)."""
    _head, marker, tail = text.partition(ANSWER_MARKER)
    if not marker:
        return text
    return tail.split("\n", 1)[1].lstrip("\n") if "\n" in tail else ""

"""One typed function per command; the CLI only parses arguments and renders results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from drillkit import clock, progress, schedule
from drillkit.catalog import Catalog, Drill, load_catalog, starter_text
from drillkit.deck import Deck, Skill, load_deck
from drillkit.errors import LearnerFileError
from drillkit.paths import Paths
from drillkit.progress import DrillProgress, Status
from drillkit.schedule import ReviewState

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
    review: ReviewState
    review_due: bool


@dataclass(frozen=True)
class SkillRow:
    number: int
    skill: Skill
    ticked: bool
    earned: bool
    why_not: str | None  # for a tick not yet earned: which drill still has to prove it


@dataclass(frozen=True)
class Listing:
    rows: list[DrillRow]
    warning: str | None
    now: datetime
    cards_due: int
    cards_total: int
    skills: list[SkillRow]

    @property
    def reviews_due(self) -> list[DrillRow]:
        due = [r for r in self.rows if r.review_due]
        return sorted(due, key=lambda r: (r.review.due or "", r.drill.number))

    @property
    def next_review(self) -> DrillRow | None:
        """The scheduled review that comes soonest (due or not)."""
        scheduled = [r for r in self.rows if r.review.scheduled]
        return min(scheduled, key=lambda r: (r.review.due or "", r.drill.number), default=None)

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
    status = record.status()
    if status == "not started" and has_file:
        return "started"  # scaffolded, never checked
    return status


def list_drills(
    paths: Paths, catalog: Catalog | None = None, deck: Deck | None = None, now: datetime | None = None
) -> Listing:
    """The dashboard: every drill with its status and review date, cards due, the self-check."""
    catalog = catalog or load_catalog(cache_dir=paths.cache)
    deck = deck or load_deck(cache_dir=paths.cache)
    now = now or clock.now()
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
                review=record.review,
                review_due=schedule.is_due(record.review, now),
            )
        )
    cards_due = sum(1 for c in deck.cards if schedule.card_is_due(loaded.progress.cards.get(c.id), now))
    return Listing(
        rows,
        loaded.warning,
        now=now,
        cards_due=cards_due,
        cards_total=len(deck.cards),
        skills=skill_rows(deck, loaded.progress),
    )


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


def review_file(paths: Paths, drill: Drill, review: ReviewState) -> Path:
    """Where review number `rounds + 1` of a drill is written: a new file for every review."""
    return paths.workspace / "review" / f"{drill.stem}_review{review.rounds + 1}.py"


def open_review_file(paths: Paths, drill: Drill, now: datetime) -> Path | None:
    """The scaffolded review file of a drill that is due now, if there is one."""
    review = progress.load(paths.progress_file).progress.drills.get(drill.number, DrillProgress()).review
    path = review_file(paths, drill, review)
    return path if schedule.is_due(review, now) and path.exists() else None


def check_drill(
    paths: Paths, drill: Drill, file: Path | None, timeout: float, now: datetime | None = None
) -> Checked:
    from drillkit import database, idle
    from drillkit.runner import check_file, validate_learner_file

    path = validate_learner_file(file if file is not None else current_attempt(paths, drill, now))
    with idle.in_use(paths.locks):  # the idle watchdog never stops the server under a check
        db = database.resolve(paths)
        report = check_file(drill, path, db, timeout=timeout)
    if report.untouched_starter or is_reference(drill, path):
        # Neither the blank starter nor the shipped answer (the README's smoke test, or a copy)
        # says anything about the learner's recall: not an attempt, not a pass.
        return Checked(report, None, None, recorded=False)
    note: ReviewNote | None = None

    def record(p: progress.Progress) -> None:
        nonlocal note
        entry = p.of(drill.number)
        moment = now or clock.now()
        stamp = clock.iso(moment)
        entry.attempts += 1
        entry.last_attempt = stamp
        entry.last_result = "passed" if report.passed else "failed"
        if report.passed and not entry.first_passed_at:
            entry.first_passed_at = stamp
        note = _reschedule(entry, path, report.passed, moment, paths, drill)

    loaded = progress.update(paths.progress_file, record)
    return Checked(report, loaded.warning, note)


def is_reference(drill: Drill, path: Path) -> bool:
    """The shipped reference solution (the repo's or the installed copy): same text, not path."""

    def text(p: Path) -> str:
        return "\n".join(
            line.rstrip() for line in p.read_text(encoding="utf-8", errors="replace").splitlines()
        )

    try:
        return text(path) == text(drill.solution_path)
    except OSError:
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
    record = progress.load(paths.progress_file).progress.drills.get(drill.number)
    return record is None or record.attempts == 0


def reveal_drill(paths: Paths, drill: Drill, now: datetime | None = None) -> Revealed:
    from difflib import unified_diff  # deferred: `drill list` imports this module too

    now = now or clock.now()
    solution = drill.solution_path.read_text(encoding="utf-8")
    attempt = open_review_file(paths, drill, now) or workspace_file(paths, drill)
    diff = mine = None
    if attempt.exists():
        mine = answer_part(attempt.read_text(encoding="utf-8", errors="replace"))
        diff = "".join(
            unified_diff(
                mine.splitlines(keepends=True),
                answer_part(solution).splitlines(keepends=True),
                fromfile=f"your attempt ({attempt.name})",
                tofile="reference",
            )
        )

    def record(p: progress.Progress) -> None:
        entry = p.of(drill.number)
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


def answer_part(text: str) -> str:
    """Everything after the answer marker line (the whole text if there is no marker)."""
    _head, marker, tail = text.partition(ANSWER_MARKER)
    if not marker:
        return text
    return tail.split("\n", 1)[1].lstrip("\n") if "\n" in tail else ""


def skill_rows(deck: Deck, p: progress.Progress) -> list[SkillRow]:
    rows = []
    for number, skill in enumerate(deck.skills, start=1):
        ticked = skill.id in p.selfcheck
        why_not = None
        for n in skill.drills:
            entry = p.drills.get(n, DrillProgress())
            if entry.clean_pass:
                continue
            if entry.first_passed_at:
                why_not = f"drill {n} was passed only after `reveal`; a clean `drill review {n}` earns it"
            else:
                why_not = f"drill {n} is not passed yet"
            break
        rows.append(SkillRow(number, skill, ticked, earned=ticked and why_not is None, why_not=why_not))
    return rows

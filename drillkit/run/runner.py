"""Run a learner's file for one drill in a child process against a fresh schema."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, suppress
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from drillkit.db.libpq_env import libpq_settings
from drillkit.db.server import Database, sqlalchemy_url
from drillkit.pack.model import Drill, Fixture
from drillkit.results import FIRST_CHECK, CheckReport, CheckResult, RunOutcome, UntrustedResult, not_run
from drillkit.run import child as checker
from drillkit.run import limits, protocol, tamper
from drillkit.run.child import Checker
from drillkit.run.env import sandbox_env
from drillkit.run.interrupts import signals_as_interrupts
from drillkit.run.job import RunJob, make_report
from drillkit.run.limits_values import DEFAULT_TIMEOUT
from drillkit.run.space import RunSpace, reader, run_space, shut_out
from drillkit.store import read_learner_file

if TYPE_CHECKING:
    import psycopg

    from drillkit.check.framework import Checks
    from drillkit.run.zygote import Zygote

STDERR_LIMIT = 4000
OUTPUT_SHOWN = 64 * 1024  # of the learner's output, in the report


def validate_learner_file(path: Path) -> Path:
    """The path, once its file has been read the safe way (a regular file, size-bounded,
    opened without blocking); a LearnerFileError (exit 2) otherwise."""
    read_learner_file(path)
    return path


SpaceFactory = Callable[[Database, Fixture], AbstractContextManager[RunSpace]]


class Cancelled(Exception):
    """The run's owner went away (the check server's client hung up): stop, clean up."""


JobRunner = Callable[[RunJob, Path, float], RunOutcome]


def check_file(
    drill: Drill, path: Path, db: Database, timeout: float = DEFAULT_TIMEOUT, *, run: JobRunner | None = None
) -> CheckReport:
    """Check one learner file, reported for its drill: by `run_job` in a fresh child, or
    by `run` (a CheckService's, which forks from its zygote into its ready spaces)."""
    path = validate_learner_file(path).resolve()
    started = time.monotonic()
    job = RunJob.of(drill)
    outcome = run(job, path, timeout) if run is not None else run_job(job, path, db, timeout)
    return make_report(drill, path, outcome, time.monotonic() - started)


def run_job(
    job: RunJob,
    path: Path,
    db: Database,
    timeout: float = DEFAULT_TIMEOUT,
    *,
    zygote: Zygote | None = None,
    spaces: SpaceFactory = run_space,
    cancel_fd: int | None = None,
    env: dict[str, str] | None = None,
) -> RunOutcome:
    """Run one learner file and all its drill's checks; the outcome holds every check's result.

    The check server passes its zygote (forks instead of fresh interpreters), its pool of
    ready run spaces, and its client's socket (readable: the client hung up, raise
    Cancelled) and its client's environment (`env.child_env()` of that process); the CLI's
    own fallback uses none of them.
    """
    # Interrupts from here on unwind through the `finally`s below; a second one while they
    # run (removing the child's temp folder, say) is ignored.
    with signals_as_interrupts():
        # The child is started (or was prestarted) first: its imports overlap the schema setup.
        child = checker.take() if zygote is None and env is None else checker.Checker(zygote, env)
        try:
            with spaces(db, job.fixture) as space:
                # libpq's variables as this process has them (none, for the embedded server):
                # a child started early copied them before the database was resolved.
                env = {**sandbox_env(sqlalchemy_url(space.learner_url), space.schema), **libpq_settings()}
                # A child that died before its job came: its exit code and output say why.
                with suppress(BrokenPipeError):
                    child.send(job.pack_id, job.pack_root, job.slug, path, env, timeout)
                checks = _load_checks(job)  # while the child runs on the other core
                outcome = _run_child(child, checks, timeout, cancel_fd)
                child.kill()  # nothing of the learner's may still talk to the database now
                outcome.results = _merge(checks, outcome, space, timeout, cancel_fd)
        finally:
            child.discard()
    return outcome


def _load_checks(job: RunJob) -> Checks | CheckResult:
    """The drill's checks, or the checker error that loading them raised."""
    from drillkit.check.framework import checker_error
    from drillkit.check.loader import load_checks

    try:
        return load_checks(job.pack_id, job.pack_root, job.slug)
    except (Exception, SystemExit) as exc:  # a broken checks.py (one that exits, too): the author's
        return checker_error(FIRST_CHECK, exc, within=job.pack_root)


def _run_child(
    child: Checker, checks: Checks | CheckResult, timeout: float, cancel_fd: int | None
) -> RunOutcome:
    outcome = _wait_for(child, checks, timeout, cancel_fd)
    outcome.output, size = child.output(OUTPUT_SHOWN)
    outcome.output_truncated = size > OUTPUT_SHOWN
    return outcome


def _wait_for(
    child: Checker, checks: Checks | CheckResult, timeout: float, cancel_fd: int | None
) -> RunOutcome:
    try:
        if not child.wait(timeout, cancel_fd):
            raise Cancelled()
    except subprocess.TimeoutExpired:
        child.stop()
        return _timed_out(timeout, checks, during=_read_small(child.status_file))
    except BaseException:
        child.stop()
        raise
    return _judge(child, checks, timeout)


def _judge(child: Checker, checks: Checks | CheckResult, timeout: float) -> RunOutcome:
    """What the run came to. The guard's word and the output file's size are trusted; the
    worker's report is not, and is read last: a limit that was hit decides first."""
    status = child.guard_status()
    _, size = child.output(0)
    if size >= limits.OUTPUT_LIMIT:
        return _limit(limits.output_limit_hit(size), checks)
    if status is not None and status.deadline:
        return _timed_out(timeout, checks, during=_read_small(child.status_file))
    if status is not None and status.cpu_limit_hit:
        return _limit(limits.cpu_limit_hit(status.cpu or 0.0), checks)
    raw = child.report()
    if raw:
        if status is None:  # only learner code kills the guard
            return _tampered("the checker's guard process was killed", checks)
        # The child-side checks it must report, in order: as loaded here, else as the
        # worker sealed them (with the guard) before any learner code ran.
        expected = (
            [c.name for c in checks.of("child")] if not isinstance(checks, CheckResult) else status.checks
        )
        try:
            return protocol.parse_result(raw, child.token, expected)
        except UntrustedResult as exc:
            return _tampered(f"the checker's report was not its own ({exc})", checks)
    stderr_text = child.output_tail(STDERR_LIMIT)
    how = status.ending() if status is not None else "its checker process was killed"
    return _failed_first(
        f"your code ended the Python process ({how}) before the checks could run",
        actual=stderr_text.strip() or None,
        help="remove os._exit()/signal calls; the checker needs your module to finish",
        checks=checks,
    )


def _timed_out(timeout: float, checks: Checks | CheckResult, during: str) -> RunOutcome:
    return _failed_first(
        f"your code was still running after {timeout:g} second{'' if timeout == 1 else 's'} "
        "and was stopped" + (f", while checking «{during}»" if during else ""),
        actual="no result before the time limit",
        help="look for a loop that never ends, or a query waiting on a lock; "
        "`--timeout` gives slow code more time",
        checks=checks,
    )


def _limit(hit: limits.LimitHit, checks: Checks | CheckResult) -> RunOutcome:
    return _failed_first(hit.rationale, actual=hit.actual, help=hit.help, checks=checks)


def _tampered(problem: str, checks: Checks | CheckResult) -> RunOutcome:
    return _failed_first(
        f"tampering detected: {problem}",
        actual=None,
        help="a drill file answers the drill; it must not change drillkit's checks or its report",
        checks=checks,
    )


def _made_what_changes_sql(made: list[str], checks: Checks) -> RunOutcome:
    shown = "; ".join(made[:3]) + (f"; and {len(made) - 3} more" if len(made) > 3 else "")
    return _failed_first(
        "your code made database objects or settings this drill does not ask for",
        actual=shown,
        help="checks read your tables with plain SQL, and views, rules, policies, functions, "
        "operators, collations, inherited tables, generated columns, triggers, grants and role "
        "settings can change what that SQL means: a drill allows only those it asks for",
        checks=checks,
    )


def _merge(
    checks: Checks | CheckResult,
    outcome: RunOutcome,
    space: RunSpace,
    timeout: float = DEFAULT_TIMEOUT,
    cancel_fd: int | None = None,
) -> list[CheckResult]:
    """The child's results and the database checks, in the order the drill declares them."""
    if isinstance(checks, CheckResult):
        return [checks]
    first, *child_results = outcome.results or [CheckResult(FIRST_CHECK, "error", rationale="no result")]
    if first.status != "passed":
        return [first, *not_run(checks.checks)]
    with ExitStack() as stack:
        # The reader logs in before the run's role is shut out: from then on no session but
        # drillkit's sees the run schema, so nothing can change between the scan and the reads.
        conn = stack.enter_context(reader(space)) if checks.of("database") else None
        problem = _scanned(space, checks, reader_pid=conn.info.backend_pid if conn else None)
        if problem is not None:
            return problem
        by_name = {r.name: r for r in child_results}
        if conn is not None:
            # The reader goes with the checks: one that never ends keeps using it (see below).
            closing = stack.pop_all()
            by_name.update(
                _database_checks(checks, conn, space, outcome, by_name, closing, timeout, cancel_fd)
            )
    missing = CheckResult("", "error", rationale="the check did not report a result (not your mistake)")
    return [first] + [by_name.get(c.name) or replace(missing, name=c.name) for c in checks.checks]


def _scanned(space: RunSpace, checks: Checks, reader_pid: int | None) -> list[CheckResult] | None:
    """Look for what changes the checks' SQL: the results that end the run there, or None.
    Before database checks, the run's role is shut out first (all but the reader's session),
    so nothing can change between the scan and their reads. Without them it need not be: what
    a session of the learner's commits after the scan was not there for the child's checks."""
    import psycopg

    try:
        if reader_pid is not None:
            shut_out(space, reader_pid)
        now = tamper.scan(space.conn, space.schema, space.role)
    except psycopg.Error as exc:  # the server went away, say: nothing can be vouched for
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        error = CheckResult(
            FIRST_CHECK, "error", rationale=f"could not read the run schema after your code ran: {why}"
        )
        return [error, *not_run(checks.checks)]
    made = tamper.gained(space.baseline, now, checks.allows)
    return _made_what_changes_sql(made, checks).results if made else None


def _database_checks(
    checks: Checks,
    conn: psycopg.Connection,
    space: RunSpace,
    outcome: RunOutcome,
    done_by_name: dict,
    closing: ExitStack,
    timeout: float,
    cancel_fd: int | None,
) -> dict[str, CheckResult]:
    """The database checks, on a thread of their own with a deadline: they are the pack's
    code, run in this process, and a bug in one (a loop, a sleep) must neither hang `drill
    check`, `drill validate` and the check server nor be the learner's failure. The deadline
    is generous (a minute, or --timeout if longer) so that what a learner's code can leave
    in a run (millions of rows, say) is read to the end and judged. A check still running
    then is the checker's error, left behind on its daemon thread, which closes the reader
    when it ends (libpq must not see the connection closed under it)."""
    from drillkit.check.database import DatabaseView
    from drillkit.check.framework import run_checks

    try:
        done = {c.key: done_by_name[c.name].status for c in checks.of("child") if c.name in done_by_name}
        names = {c.key: c.name for c in checks.checks}
        view = DatabaseView(conn, space.schema, output=outcome.output)
        results: list[CheckResult] = []
        running: list[str] = []  # the check on the thread now, if any
        finished = threading.Event()
        hand_off = _HandOff(closing)

        def work() -> None:
            try:
                for check in checks.of("database"):
                    batch = run_checks([check], view, None, done, on_start=running.append, names=names)
                    with hand_off.lock:  # read together by the deadline's verdict
                        results.extend(batch)
                        running.clear()
            finally:
                hand_off.thread_ended()
                finished.set()

        thread = threading.Thread(target=work, name="database checks", daemon=True)
        thread.start()
    except BaseException:
        closing.close()
        raise
    seconds = database_checks_seconds(timeout)
    deadline = time.monotonic() + seconds
    try:
        while not finished.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
            if _cancelled(cancel_fd):
                raise Cancelled()
            if time.monotonic() >= deadline:
                break
    except BaseException:
        hand_off.give_up(conn)
        raise
    with hand_off.lock:  # a snapshot: a cancelled query may let the thread go on meanwhile
        ended = hand_off.ended
        got, current = list(results), (running[0] if running else None)
    if ended:
        closing.close()
        return {r.name: r for r in got}
    hand_off.give_up(conn)
    ABANDONED.append(thread)  # a long-lived process (the check server) leaves while it lives
    out = {r.name: r for r in got}
    pending = [c for c in checks.of("database") if c.name not in out]
    hung = next((c for c in pending if c.name == current), pending[0] if pending else None)
    for check in pending:
        if check is hung:
            out[check.name] = CheckResult(
                check.name,
                "error",
                rationale=f"this check did not finish within {seconds:g} s and was given up on "
                "(a bug in the drill's checks, not your mistake; nothing was recorded)",
                help="please report this to the pack's author; `drill validate` finds it too",
                key=check.key,
            )
        else:
            why = f"not run: «{hung.name if hung else 'a database check'}» never finished"
            out[check.name] = CheckResult(check.name, "skipped", rationale=why, key=check.key)
    return out


DATABASE_CHECKS_SECONDS = 60.0  # all of a run's database checks together; --timeout if longer


def database_checks_seconds(timeout: float) -> float:
    """How long a run's database checks may take together: a minute, or --timeout if longer
    (a learner who gives their code more time gives the reading of what it left more too)."""
    return max(timeout, DATABASE_CHECKS_SECONDS)


# Threads of database checks given up on: a pack's loop would keep running in this process.
ABANDONED: list[threading.Thread] = []


def abandoned_checks_running() -> bool:
    """Whether a database check this process gave up on still runs (it competes with every
    later run until it ends, so the check server leaves as soon as it is idle)."""
    return any(t.is_alive() for t in ABANDONED)


class _HandOff:
    """Who closes the reader: the waiting side once the checks' thread has ended, else the
    thread itself when it does (never both, never under a query in flight)."""

    def __init__(self, closing: ExitStack) -> None:
        self.lock = threading.Lock()
        self.closing = closing
        self.ended = False
        self.abandoned = False

    def thread_ended(self) -> None:
        with self.lock:
            self.ended = True
            if self.abandoned:
                self.closing.close()

    def give_up(self, conn: psycopg.Connection) -> None:
        with self.lock:
            if self.ended:
                close = True
            else:
                self.abandoned, close = True, False
        if close:
            self.closing.close()
        else:
            with suppress(Exception):
                conn.cancel()  # a query in flight stops; the thread may then end on its own


def _cancelled(cancel_fd: int | None) -> bool:
    """Whether the client hung up (its socket turned readable)."""
    if cancel_fd is None:
        return False
    import select

    return bool(select.select([cancel_fd], [], [], 0)[0])


def _read_small(path: Path, limit: int = 500) -> str:
    """A short file the child writes, in a folder its learner code can write to as well: a
    FIFO there would block a plain open forever, so only a regular file is read."""
    from drillkit.store import FileRefused, read_regular

    try:
        return read_regular(path, 1 << 16)[:limit].decode("utf-8", errors="replace").strip()
    except (OSError, FileRefused):
        return ""


def _failed_first(
    rationale: str, *, actual: str | None, help: str, checks: Checks | CheckResult
) -> RunOutcome:
    rest = checks.checks if not isinstance(checks, CheckResult) else []
    results = [CheckResult(FIRST_CHECK, "failed", rationale=rationale, actual=actual, help=help)]
    return RunOutcome(results + not_run(rest))

"""Run a learner's file for one drill in a child process against a fresh schema."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from drillkit.attempts import is_untouched_starter
from drillkit.db.server import Database, sqlalchemy_url
from drillkit.errors import Interrupted, LearnerFileError
from drillkit.pack.catalog import Drill
from drillkit.results import FIRST_CHECK, CheckReport, CheckResult, RunOutcome, not_run
from drillkit.run import child as checker
from drillkit.run.child import Checker
from drillkit.run.env import sandbox_env
from drillkit.run.space import RunSpace, run_space

DEFAULT_TIMEOUT = 10.0
MAX_TIMEOUT = 300.0  # runs older than runschema.ORPHAN_AGE_SECONDS may be swept by others
STDERR_LIMIT = 4000


def validate_learner_file(path: Path) -> Path:
    if not path.exists():
        raise LearnerFileError(f"no such file: {path}")
    if path.is_dir():
        raise LearnerFileError(f"{path} is a directory, not a Python file")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise LearnerFileError(f"cannot read {path}: {exc.strerror}") from None
    return path


def check_file(drill: Drill, path: Path, db: Database, timeout: float = DEFAULT_TIMEOUT) -> CheckReport:
    path = validate_learner_file(path).resolve()
    started = time.monotonic()
    # The child is started (or was prestarted) first: its imports overlap the schema setup.
    child = checker.take()
    try:
        with _signals_as_interrupts(), run_space(db, seeded=drill.database == "seeded") as space:
            outcome = _run_child(child, drill, path, space, timeout)
    finally:
        child.discard()
    return CheckReport(
        drill=drill.number,
        slug=drill.slug,
        title=drill.title,
        file=str(path),
        results=outcome.results,
        output=outcome.output,
        output_truncated=outcome.output_truncated,
        untouched_starter=is_untouched_starter(path, drill),
        seconds=round(time.monotonic() - started, 3),
        statements=outcome.statements,
        check_statements=outcome.check_statements,
    )


def _run_child(child: Checker, drill: Drill, path: Path, space: RunSpace, timeout: float) -> RunOutcome:
    try:
        child.send(drill.checks_module, path, sandbox_env(sqlalchemy_url(space.learner_url), space.schema))
        code = child.wait(timeout)
    except BrokenPipeError:  # the child died before its job came: its output says why
        code = child.proc.wait()
    except subprocess.TimeoutExpired:
        child.kill()
        return _failed_first(
            f"your code was still running after {timeout:g} second{'' if timeout == 1 else 's'} "
            "and was stopped",
            actual="no result before the time limit",
            help="look for a loop that never ends, or a query waiting on a lock; "
            "`--timeout` gives slow code more time",
            drill=drill,
        )
    except BaseException:
        child.kill()
        raise
    if child.result_file.exists():
        return RunOutcome.from_json(json.loads(child.result_file.read_text(encoding="utf-8")))
    stderr_text = _tail(child.output_file, STDERR_LIMIT)
    return _failed_first(
        f"your code ended the Python process (exit code {code}) before the checks could run",
        actual=stderr_text.strip() or None,
        help="remove os._exit()/signal calls; the checker needs your module to finish",
        drill=drill,
    )


def _tail(path: Path, limit: int) -> str:
    """The end of a file that learner code may have filled with megabytes."""
    with path.open("rb") as handle:
        handle.seek(max(path.stat().st_size - limit, 0))
        return handle.read().decode("utf-8", errors="replace")


def _failed_first(rationale: str, *, actual: str | None, help: str, drill: Drill) -> RunOutcome:
    from importlib import import_module

    names = [c.name for c in import_module(drill.checks_module).CHECKS.checks]
    results = [CheckResult(FIRST_CHECK, "failed", rationale=rationale, actual=actual, help=help)]
    results += not_run(names)
    return RunOutcome(results)


@contextmanager
def _signals_as_interrupts() -> Iterator[None]:
    """Turn SIGINT/SIGTERM into an exception so `finally` blocks drop the schema."""

    fired = False

    def handler(signum: int, frame: object) -> None:
        nonlocal fired
        if not fired:  # later signals must not interrupt the cleanup the first one started
            fired = True
            raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)

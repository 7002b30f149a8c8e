"""The small framework drill checks are written in.

A check is a function that takes the `Context` and either returns (passed, maybe with a
note) or raises `Fail` with a rationale, what was expected, what happened and a hint.
Checks run in order; after the first failure the rest are reported as skipped, so a
learner fixes one thing at a time.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from drillkit.check.recorder import Recorder, Statement
from drillkit.results import CheckResult

CheckFn = Callable[["Context"], str | None]


class Fail(Exception):
    def __init__(
        self,
        rationale: str,
        *,
        expected: str | None = None,
        actual: str | None = None,
        help: str | None = None,
        sql: str | None = None,
    ) -> None:
        super().__init__(rationale)
        self.rationale = rationale
        self.expected = expected
        self.actual = actual
        self.help = help
        self.sql = sql


@dataclass(frozen=True)
class Check:
    name: str
    fn: CheckFn


@dataclass
class CheckList:
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str) -> Callable[[CheckFn], CheckFn]:
        def register(fn: CheckFn) -> CheckFn:
            self.checks.append(Check(name, fn))
            return fn

        return register


@dataclass
class Context:
    namespace: dict[str, Any]
    sandbox: ModuleType
    recorder: Recorder
    truth: Engine  # a separate connection: sees only what was committed
    path: Path
    output: Callable[[], str]

    @property
    def engine(self) -> Engine:
        return self.sandbox.engine

    def new_session(self) -> Session:
        return self.sandbox.SessionLocal()

    def require(self, name: str, what: str, hint: str) -> Any:
        if name not in self.namespace:
            raise Fail(
                f"your file does not define {what}",
                expected=f"a module-level name `{name}`",
                actual="not found after running your file",
                help=hint,
            )
        return self.namespace[name]

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.truth.connect() as conn:
            return list(conn.execute(text(sql), params))


def run_checks(checks: Sequence[Check], ctx: Context) -> list[CheckResult]:
    results: list[CheckResult] = []
    blocked = False
    for check in checks:
        if blocked:
            results.append(CheckResult(check.name, "skipped", rationale="fix the check above first"))
            continue
        try:
            note = check.fn(ctx)
        except Fail as failure:
            blocked = True
            results.append(
                CheckResult(
                    check.name,
                    "failed",
                    rationale=failure.rationale,
                    expected=failure.expected,
                    actual=failure.actual,
                    help=failure.help,
                    sql=failure.sql,
                )
            )
        except BaseException as exc:  # learner code blew up (or exited) while being exercised
            blocked = True
            results.append(
                CheckResult(
                    check.name,
                    "failed",
                    rationale=f"your code raised {type(exc).__name__} while this was checked",
                    actual=learner_traceback(exc, ctx.path),
                    help="a function the drill asks for must return normally, not exit"
                    if isinstance(exc, SystemExit | KeyboardInterrupt)
                    else None,
                )
            )
        else:
            results.append(CheckResult(check.name, "passed", note=note))
    return results


def learner_traceback(exc: BaseException, path: Path, limit: int = 1500) -> str:
    """The exception, with only the frames from the learner's own file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    lines = []
    for frame in frames[-5:]:
        lines.append(f"  {path.name}, line {frame.lineno}, in {frame.name}")
        if frame.line:
            lines.append(f"    {frame.line}")
    message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    message = message.split("\n(Background on this error at:")[0]
    if len(message) > limit:
        message = message[:limit] + " …"
    return "\n".join([*lines, message])


def show_sql(statements: Sequence[Statement], limit: int = 5) -> str | None:
    if not statements:
        return None
    shown = [s.sql.strip() for s in statements[-limit:]]
    return "\n\n".join(shown)


@contextmanager
def watching(ctx: Context) -> Iterator[list[Statement]]:
    """Collect the statements emitted inside the block."""
    collected: list[Statement] = []
    start = ctx.recorder.mark()
    try:
        yield collected
    finally:
        collected.extend(ctx.recorder.since(start))

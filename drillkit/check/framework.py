"""The small framework a pack's checks are written in (public: import it from `drillkit.check`).

A check is a function that returns (passed, maybe with a note) or raises `Fail`. Checks
run in the order they are declared; a check that `requires` another is skipped when that
one did not pass, and every other check still runs, so one mistake does not hide the rest.

Two kinds:
- `@checks.add(name)`: runs in the child process, after the learner's file, with a `Context`
  (the learner's module, a session, the SQL it sent). It can call the learner's code.
- `@checks.database(name)`: runs in drillkit's own process once the child has ended, with a
  `DatabaseView` of the run schema. Facts the database can prove (the real schema, committed
  rows) are decided there, out of the learner code's reach.

An exception from a check's own code is a *checker error*: reported as the pack's or
drillkit's failure, never as the learner's. It is the learner's when its traceback runs
through a file that is not drillkit's, the pack's or an installed library's (their file, a
module of theirs, code they compiled under another name), or SQLAlchemy or the driver raised
it on the learner's behalf (see caused_by_learner).
"""

from __future__ import annotations

import contextlib
import functools
import re
import traceback
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from drillkit.results import CheckResult

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from drillkit.check.plain import CheckConnection
    from drillkit.check.recorder import Recorder, Statement

Side = Literal["child", "database"]
# Objects a run may create only when its drill allows them: each can change what plain SQL on
# the learner's tables means (a view named like a table, an `=` of the learner's, ...).
ALLOWABLE = frozenset(
    {
        "function",
        "operator",
        "view",
        "rule",
        "policy",
        "collation",
        "inheritance",
        "generated",
        "trigger",
        "grant",
    }
)
CheckFn = Callable[[Any], str | None]


class Fail(Exception):
    """A check failed: why, what was expected (a behaviour or a shape, never the code), what happened."""

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


def Mismatch(
    what: str, expected: object, actual: object, *, help: str | None = None, sql: str | None = None
) -> Fail:
    """The common failure: `what` differs from what was expected."""
    return Fail(what, expected=str(expected), actual=str(actual), help=help, sql=sql)


@dataclass(frozen=True)
class Check:
    name: str  # what the learner reads: a behaviour, e.g. "newest first"
    fn: CheckFn
    side: Side = "child"
    requires: tuple[str, ...] = ()  # keys of checks that must pass first

    @property
    def key(self) -> str:
        return self.fn.__name__


@dataclass
class Checks:
    """A drill's checks, in order. A check module makes one: `checks = Checks()`.

    `allows`: kinds of database object the drill asks the learner to create, of those that
    change what a check's SQL means (see ALLOWABLE); any other such object the run makes
    fails it before any result counts (drillkit/run/tamper.py).
    """

    checks: list[Check] = field(default_factory=list)
    allows: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        allows = frozenset(self.allows)
        unknown = sorted(allows - ALLOWABLE)
        if unknown:
            raise ValueError(f"Checks(allows=...) knows {sorted(ALLOWABLE)}, not {unknown}")
        self.allows = allows

    def add(self, name: str, *, requires: Sequence[CheckFn | str] = ()) -> Callable[[CheckFn], CheckFn]:
        """A check run in the child process, with the learner's module loaded."""
        return self._register(name, "child", requires)

    def database(self, name: str, *, requires: Sequence[CheckFn | str] = ()) -> Callable[[CheckFn], CheckFn]:
        """A check run in drillkit's own process against the run schema, after the child ended."""
        return self._register(name, "database", requires)

    def _register(
        self, name: str, side: Side, requires: Sequence[CheckFn | str]
    ) -> Callable[[CheckFn], CheckFn]:
        keys = tuple(r if isinstance(r, str) else r.__name__ for r in requires)

        def register(fn: CheckFn) -> CheckFn:
            self.checks.append(Check(name, fn, side, keys))
            return fn

        return register

    def of(self, side: Side) -> list[Check]:
        return [c for c in self.checks if c.side == side]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.checks]


@dataclass
class Context:
    """What a child-side check sees: the learner's module and the run's database."""

    namespace: dict[str, Any]
    sandbox: ModuleType
    recorder: Recorder
    truth: Engine  # a separate connection: sees only what was committed
    path: Path
    output: Callable[[], str]
    # The checks' own plain psycopg connection, for rows() and execute() (check/plain.py):
    # no SQLAlchemy engine, pool or event stands in between, so no listener the learner put
    # on SQLAlchemy's classes runs on the checks' own questions (one could rewrite the
    # expected answer).
    database: CheckConnection
    source: str = ""  # the learner's file as it ran (read before it ran: it may change since)
    pack_root: Path | None = None  # the pack's folder: its code is the checker's, not the learner's
    _file_sessions_ended: bool = field(default=False, init=False, repr=False)
    _checker_folders: list[Path] = field(default_factory=list, init=False, repr=False)

    @property
    def checker_roots(self) -> tuple[Path, ...]:
        """Where the checker's own code lives: the pack's folder and its checker_folder()s."""
        return ((self.pack_root,) if self.pack_root is not None else ()) + tuple(self._checker_folders)

    @contextmanager
    def checker_folder(self, prefix: str = "drill-check-") -> Iterator[Path]:
        """A temporary folder for code the checks write and run (an Alembic env.py, say),
        removed afterwards. Its files count as the checker's, like the pack's: an error raised
        in them is a checker error, never the learner's. (A copy of the learner's file put
        there is the check's to report as theirs, as practice:migration does.)"""
        import shutil
        import tempfile

        where = Path(tempfile.mkdtemp(prefix=prefix))
        # Kept for the rest of the run: the blame is decided once the exception has left it.
        self._checker_folders += [where, where.resolve()]
        try:
            yield where
        finally:
            shutil.rmtree(where, ignore_errors=True)

    @property
    def engine(self) -> Engine:
        return self.sandbox.engine

    def new_session(self) -> Session:
        """A session of the checks' own on the learner's engine. The first one ends the
        sessions the file left open (see close_file_sessions)."""
        self.close_file_sessions()
        return self.sandbox.SessionLocal()

    def close_file_sessions(self) -> None:
        """End the sessions the learner's file left open (trying its code out, say), once:
        their transactions' locks would make a check wait, on a table it creates or a row
        it writes. Objects the file loaded are detached then: read them before."""
        if not self._file_sessions_ended:
            self._file_sessions_ended = True
            end_open_sessions()

    def require(self, name: str, what: str, hint: str) -> Any:
        if name not in self.namespace:
            raise Fail(
                f"your file does not define {what}",
                expected=f"a module-level name `{name}`",
                actual="not found after running your file",
                help=hint,
            )
        return self.namespace[name]

    def require_function(self, name: str, call: str) -> Callable[..., Any]:
        """The learner's function `name`, written in Python by them (`call` shows how it is
        called, e.g. "docs_for_user(session, user_id)"). A builtin or a library's function
        in its place is refused: what it raised would carry no frame of the learner's code
        and read as the checker's error, which is not recorded."""
        import inspect

        fn = self.require(name, f"`{name}`", f"def {call}: ...")
        target = fn.__func__ if type(fn) is types.MethodType else fn
        filename = _code_file(target)
        if filename in DECORATOR_FILES:
            # @contextmanager's wrapper stands for the function it wraps; a __wrapped__ set
            # by hand on any other callable does not count (its own code is what runs).
            with contextlib.suppress(Exception):  # a cycle of __wrapped__, or one that raises
                filename = _code_file(inspect.unwrap(target))
        if filename is None or (filename != str(self.path) and _checker_code(filename, self.checker_roots)):
            raise Fail(
                f"`{name}` is not a function of your own",
                expected=f"def {call}: ... in your file",
                actual=_safe_repr(fn),
                help="write the function yourself, with def: a builtin or a library's function "
                "in its place is not the answer",
            )
        return fn

    def rows(self, sql: str, **params: Any) -> list[Any]:
        """Committed rows for `sql` (parameters as `:name`, like SQLAlchemy's text()); each
        row a named tuple."""
        return self.database.run(sql, params, fetch=True)

    def execute(self, sql: str, **params: Any) -> None:
        """Run and commit SQL the checks need, such as more rows for an N+1 check; without
        parameters, several statements at once."""
        self.database.run(sql, params, fetch=False)


def run_checks(
    checks: Sequence[Check],
    arg: Any,
    path: Path | None,
    done: dict[str, str],
    on_start: Callable[[str], None] | None = None,
    names: dict[str, str] | None = None,
) -> list[CheckResult]:
    """Run `checks` in order with `arg` (a Context or a DatabaseView). `done` maps the keys of
    checks already run (by the other side) to their status and is updated as checks run;
    `names` maps every check's key to the name a learner reads (both sides)."""
    names = {**{c.key: c.name for c in checks}, **(names or {})}
    results: list[CheckResult] = []
    for check in checks:
        blocker = next((r for r in check.requires if done.get(r) != "passed"), None)
        if blocker is not None and blocker not in done:  # a typo, or a check that runs later
            results.append(
                CheckResult(
                    check.name,
                    "error",
                    rationale=f"this check requires {blocker!r}, which is not a check that runs before it "
                    "(a bug in the drill's checks, not your mistake)",
                    help="please report this to the pack's author; `drill validate` finds it too",
                    key=check.key,
                )
            )
            done[check.key] = "error"
            continue
        if blocker is not None:
            why = f"needs «{names.get(blocker, blocker)}» to pass first"
            results.append(CheckResult(check.name, "skipped", rationale=why, key=check.key))
            done[check.key] = "skipped"
            continue
        if on_start is not None:
            on_start(check.name)
        result = replace(run_one(check, arg, path), key=check.key)
        done[check.key] = result.status
        results.append(result)
    return results


def run_one(check: Check, arg: Any, path: Path | None) -> CheckResult:
    try:
        note = check.fn(arg)
    except BaseException as exc:
        try:
            return _result_of(check, exc, path, getattr(arg, "checker_roots", ()))
        except BaseException:  # an exception of the learner's that cannot even be looked at
            if path is None:
                return checker_error(check.name, None)
            return CheckResult(
                check.name,
                "failed",
                rationale="your code raised an exception that drillkit could not even read",
                help="raise ordinary exceptions: this one's class or attributes fail when looked at",
                key=check.key,
            )
    return CheckResult(check.name, "passed", note=note if isinstance(note, str) else None)


def _result_of(check: Check, exc: BaseException, path: Path | None, roots: tuple[Path, ...]) -> CheckResult:
    kind = type(exc)  # the real class: `__class__` is the exception's to fake
    if issubclass(kind, Fail):
        return CheckResult(
            check.name,
            "failed",
            rationale=_text_or_none(exc.rationale) or "",
            expected=_text_or_none(exc.expected),
            actual=_text_or_none(exc.actual),
            help=_text_or_none(exc.help),
            sql=_text_or_none(exc.sql),
        )
    if path is not None and caused_by_learner(exc, path, roots):
        return CheckResult(
            check.name,
            "failed",
            rationale=f"your code raised {kind.__name__} while this was checked",
            actual=learner_traceback(exc, path),
            help="a function the drill asks for must return normally, not exit"
            if issubclass(kind, SystemExit | KeyboardInterrupt)
            else LOCK_HELP
            if waited_on_a_lock(exc)
            else None,
        )
    return checker_error(check.name, exc)


def _code_file(fn: object) -> str | None:
    """The file a plain Python function's code says it came from; None for anything else."""
    return fn.__code__.co_filename if type(fn) is types.FunctionType else None  # type: ignore[attr-defined]


# Where the standard decorators' wrappers live: a function of theirs is the one it wraps.
DECORATOR_FILES = frozenset({contextlib.__file__, functools.__file__})


def _safe_repr(value: object, limit: int = 200) -> str:
    try:
        return repr(value)[:limit]
    except BaseException:
        return f"a {type(value).__name__}"


TEXT_LIMIT = 4000  # characters of a failure's text: a check listing a million rows stays readable


def _text_or_none(value: object) -> str | None:
    if value is None:
        return None
    text = str(value)
    if len(text) <= TEXT_LIMIT:
        return text
    return f"{text[:TEXT_LIMIT]} … ({len(text) - TEXT_LIMIT:,} more characters)"


def checker_error(name: str, exc: BaseException | None, *, within: Path | None = None) -> CheckResult:
    """`within`: show only the traceback's frames in that folder (a pack's), not drillkit's and
    the import machinery's around them."""
    return CheckResult(
        name,
        "error",
        rationale="the checker failed while checking this (not your mistake; nothing was recorded)",
        actual=(formatted(exc) if within is None else formatted_within(exc, within))[-2000:],
        help="please report this to the pack's author, with the file you checked",
    )


def formatted_within(exc: BaseException | None, folder: Path) -> str:
    """The traceback's frames in `folder` and the exception (a SyntaxError's line and caret)."""
    try:
        if exc is None:
            return "(no exception)"
        frames = [
            f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).is_relative_to(folder)
        ]
        head = (
            "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) if frames else ""
        )
        return head + "".join(traceback.format_exception_only(type(exc), exc))
    except BaseException:
        return formatted(exc)


def formatted(exc: BaseException | None) -> str:
    """The traceback as text; a placeholder for one whose own code fails while it is written."""
    try:
        return "".join(traceback.format_exception(exc)) if exc is not None else "(no exception)"
    except BaseException:
        return "(the exception could not be formatted)"


def end_open_sessions() -> None:
    """Close every ORM session in this process (rolling back what it had not committed). One
    that cannot close (an async session whose event loop has ended) stays as it is."""
    from sqlalchemy.orm import session as orm_session

    for session in list(orm_session._sessions.values()):  # what close_all_sessions() walks
        try:
            session.close()
        except Exception:  # its locks end with the run; the lock timeout says so meanwhile
            continue


def held_lock(exc: BaseException, what: str) -> Fail:
    """The failure for a statement of the checks' that gave up waiting on a lock the
    learner's code still holds (see waited_on_a_lock)."""
    return Fail(
        f"a connection your code left open holds a lock on {what}",
        expected="every connection and transaction of your file ended when it is done",
        actual=formatted_line(exc),
        help="close what you opened (a `with` block does it): an open transaction keeps its locks",
    )


def formatted_line(exc: BaseException, limit: int = 600) -> str:
    """`Type: first line of the message`, for a failure's got."""
    try:
        text = str(exc).strip().splitlines()
        return f"{type(exc).__name__}: {text[0] if text else ''}"[:limit]
    except BaseException:
        return type(exc).__name__


LOCK_HELP = (
    "a statement waited on a lock and gave up: a transaction still open holds it (often one "
    "your file began and never committed, rolled back or closed). End each transaction you "
    "begin; a `with` block does it"
)


def waited_on_a_lock(exc: BaseException) -> bool:
    """psycopg's LockNotAvailable (lock_timeout), raised or wrapped anywhere in the chain."""
    import psycopg

    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        error = todo.pop()
        # type(), not isinstance(): that reads `__class__`, which a learner's class may fake.
        if not issubclass(type(error), BaseException) or id(error) in seen:
            continue
        seen.add(id(error))
        if issubclass(type(error), psycopg.errors.LockNotAvailable):
            return True
        try:  # the learner's own exception classes may make even reading an attribute raise
            todo += [getattr(error, "orig", None), error.__cause__, error.__context__]
        except BaseException:
            continue
    return False


def caused_by_learner(exc: BaseException, path: Path, roots: tuple[Path, ...] = ()) -> bool:
    """Learner code was running (a frame of their file, or of a file that is neither
    drillkit's, the checker's (`roots`: the pack's folder and its checks' checker_folder()s)
    nor an installed library's: a module of the learner's, or code the file compiled under
    another file's name), it exited or was interrupted, or SQLAlchemy / the driver refused
    what the learner's models or code asked for. Generated code (`<string>`: a dataclass's
    __init__, say) is evidence of neither."""
    if issubclass(type(exc), SystemExit | KeyboardInterrupt):
        return True
    frames = [f.filename for f in traceback.extract_tb(exc.__traceback__)]
    if str(path) in frames:
        return True
    if any(not _checker_code(name, roots) for name in frames):
        return True
    module = type(exc).__module__ or ""
    return module.startswith(("sqlalchemy", "psycopg"))


def _checker_code(filename: str, roots: tuple[Path, ...]) -> bool:
    """Whether a traceback's file is drillkit's, the checker's (`roots`), or Python's and its
    libraries' (or generated, `<...>`: not the learner's to claim either way)."""
    if filename.startswith("<"):
        return True
    where = Path(filename)
    return where.is_absolute() and any(where.is_relative_to(root) for root in KNOWN_ROOTS + roots)


def _known_roots() -> tuple[Path, ...]:
    """drillkit's folder and every folder Python and its libraries live in, read when this
    module is imported: before any learner code, which could change what sysconfig says."""
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    found = [Path(paths[key]) for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in paths]
    with contextlib.suppress(Exception):  # site's helpers are missing in some embedded Pythons
        found += [Path(p) for p in [*site.getsitepackages(), site.getusersitepackages()]]
    here = Path(__file__).parent.parent
    return tuple(dict.fromkeys([here, here.resolve(), *found]))


KNOWN_ROOTS = _known_roots()


_BACKGROUND = re.compile(r"\s*\(Background on this error at: [^)]*\)")


def without_background(message: str) -> str:
    """SQLAlchemy's error text without its "(Background on this error at: URL)" link, on a
    line of its own or at the end of one."""
    return _BACKGROUND.sub("", message).strip()


def line_in(exc: BaseException, path: Path) -> int | None:
    """The line of `path` an exception came from: a SyntaxError's own line in that file, else
    the deepest frame of its traceback there; None when the file is not involved."""
    line = exc.lineno if isinstance(exc, SyntaxError) and exc.filename == str(path) else None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == str(path):
            line = frame.lineno
    return line


def learner_traceback(exc: BaseException, path: Path, limit: int = 1500) -> str:
    """The exception, with only the frames from the learner's own file."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    lines = []
    for frame in frames[-5:]:
        lines.append(f"  {path.name}, line {frame.lineno}, in {frame.name}")
        if frame.line:
            lines.append(f"    {frame.line}")
    message = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    message = without_background(message)
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

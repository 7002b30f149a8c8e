"""Stop the embedded server after a quiet spell (DRILL_DB_IDLE_MINUTES, default 30; 0 = never).

Every check holds a *shared* lock on `<data dir>/locks/in-use` while it runs and touches
that file, so its mtime is "last used". Next to the server runs one tiny detached watchdog
(`python -m drillkit.db.idle DATA_DIR SECONDS`, started by the first check that finds none). It
sleeps until last use + the idle period, then takes the lock *exclusively* (so no check is
running, and a check that starts now waits), looks at the mtime again, and stops the server
if it is still idle. It exits when it stopped the server or finds it gone (`drill db stop`
also ends it). A watchdog holds `locks/watchdog.lock` for its lifetime: one per data dir.

Only the standard library, so the warm check path stays cheap.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Literal

from drillkit.errors import ConfigError

IDLE_ENV = "DRILL_DB_IDLE_MINUTES"
DEFAULT_IDLE_MINUTES = 30.0
POLL_SECONDS = 60.0  # the longest the watchdog sleeps without looking at the server
BUSY_RETRY_SECONDS = 5.0  # a check held the lock when the deadline came


MAX_IDLE_MINUTES = 366 * 24 * 60.0  # a year; longer is "never", which is spelled 0


def idle_seconds(env: Mapping[str, str] = os.environ) -> float | None:
    """The idle period in seconds, or None when the server should never be stopped."""
    raw = env.get(IDLE_ENV, "").strip()
    if not raw:
        return DEFAULT_IDLE_MINUTES * 60
    try:
        minutes = float(raw) if len(raw) <= 32 else -1.0
    except ValueError:
        minutes = -1.0
    if not 0 <= minutes <= MAX_IDLE_MINUTES:  # also NaN and infinity
        shown = raw if len(raw) <= 32 else raw[:32] + "..."
        raise ConfigError(
            f"{IDLE_ENV} must be a number of minutes up to {MAX_IDLE_MINUTES:.0f} (0: never stop), "
            f"got {shown!a}"
        )
    return minutes * 60 if minutes > 0 else None


def in_use_file(locks: Path) -> Path:
    return locks / "in-use"


@contextmanager
def in_use(locks: Path) -> Iterator[None]:
    """Held around a check: the watchdog never stops the server under it."""
    path = in_use_file(locks)
    try:
        locks.mkdir(parents=True, exist_ok=True)
        handle = path.open("a")
    except OSError:  # an unwritable data dir is reported by whoever needs it
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_SH)  # waits while a watchdog is stopping the server
        os.utime(path)
        try:
            yield
        finally:
            with suppress(OSError):
                os.utime(path)


class AbstractLock:
    def __enter__(self) -> AbstractLock:
        return self

    def __exit__(self, *exc: object) -> None: ...


class _Flock(AbstractLock):
    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle

    def __exit__(self, *exc: object) -> None:
        self.handle.close()  # closing releases the lock


Action = Literal["exit", "stop", "sleep"]


def next_action(now: float, last_used: float, idle: float, server_running: bool) -> tuple[Action, float]:
    """What the watchdog does next, and for how long it sleeps if it sleeps."""
    if not server_running:
        return "exit", 0.0
    remaining = last_used + idle - now
    if remaining <= 0:
        return "stop", 0.0
    return "sleep", min(remaining, POLL_SECONDS)


def watch(
    idle: float,
    *,
    last_used: Callable[[], float],
    server_running: Callable[[], bool],
    stop_server: Callable[[], object],
    try_exclusive: Callable[[], AbstractLock | None],
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """The watchdog loop, with the world passed in (tests drive it with a fake clock)."""
    while True:
        action, seconds = next_action(clock(), last_used(), idle, server_running())
        if action == "exit":
            return "server not running"
        if action == "sleep":
            sleep(seconds)
            continue
        lock = try_exclusive()
        if lock is None:  # a check is running right now
            sleep(BUSY_RETRY_SECONDS)
            continue
        with lock:
            action, _ = next_action(clock(), last_used(), idle, server_running())
            if action == "stop":
                stop_server()
                return "stopped after idle period"
        # a check ran between our look and the lock: go round again


def _try_flock(path: Path) -> _Flock | None:
    handle = path.open("a")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return _Flock(handle)


def ensure_watchdog(locks: Path, env: Mapping[str, str] = os.environ) -> bool:
    """Start a watchdog for this data dir unless one runs; True if one was started."""
    idle = idle_seconds(env)
    if idle is None:
        return False
    locks.mkdir(parents=True, exist_ok=True)
    probe = _try_flock(locks / "watchdog.lock")
    if probe is None:
        return False  # one is running
    with probe:
        pass
    subprocess.Popen(
        [sys.executable, "-m", "drillkit.db.idle", str(locks.parent), repr(idle)],
        cwd="/",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C in the terminal is not for it
    )
    return True


def stop_watchdog(locks: Path) -> bool:
    """End the watchdog of this data dir, if one runs (for `drill db stop`)."""
    path = locks / "watchdog.lock"
    if not path.exists():
        return False
    probe = _try_flock(path)
    if probe is not None:
        with probe:
            return False  # nobody holds it
    try:
        pid = int(path.read_text().strip() or "0")
    except (OSError, ValueError):
        return False
    if pid <= 0 or pid == os.getpid():
        return False
    with suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGTERM)
        return True
    return False


def main(argv: list[str]) -> int:
    from drillkit.checkserver.address import stop_all
    from drillkit.db import server as database
    from drillkit.paths import resolve_paths

    home, idle = Path(argv[0]), float(argv[1])
    paths = resolve_paths(env={"DRILL_HOME": str(home)})
    own = _try_flock(paths.locks / "watchdog.lock")
    if own is None:
        return 0  # another watchdog got there first
    with own:
        own.handle.truncate(0)
        own.handle.write(str(os.getpid()))
        own.handle.flush()
        usage = in_use_file(paths.locks)
        usage.touch()

        def last_used() -> float:
            try:
                return usage.stat().st_mtime
            except OSError:
                return time.time()

        watch(
            idle,
            last_used=last_used,
            server_running=lambda: database.embedded_status(paths).pid is not None,
            stop_server=lambda: (stop_all(paths.locks), database.stop_embedded(paths)),
            try_exclusive=lambda: _try_flock(usage),
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

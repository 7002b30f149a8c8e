"""Where a check server lives: a socket, a lock (held for its lifetime, its pid inside) and a log.

One server per data dir *and* database: the name carries a digest of the database URL, so
`DRILL_DATABASE_URL=... drill check` never talks to a server bound to another database.
Only the standard library: the client's warm path imports this.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from drillkit.errors import ConfigError

ENV = "DRILL_CHECK_SERVER"  # "off": every check in a fresh process tree, as before the server
SOCKET_PATH_LIMIT = 107  # sun_path holds 108 bytes with the terminating NUL


@dataclass(frozen=True)
class Address:
    socket: Path
    lock: Path
    log: Path


OFF = ("off", "0", "no", "false")
ON = ("", "on", "1", "yes", "true")


def disabled(env: Mapping[str, str] = os.environ) -> bool:
    """Whether DRILL_CHECK_SERVER turns the server off; a value that is neither is refused
    (a typo must not silently keep it on)."""
    value = env.get(ENV, "").strip().lower()
    if value not in OFF + ON:
        shown = value if len(value) <= 32 else value[:32] + "..."
        raise ConfigError(f"{ENV} must be off or on, got {shown!a}")
    return value in OFF


def address(locks: Path, libpq_url: str) -> Address:
    key = hashlib.sha256(libpq_url.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return beside(locks / f"check-{key}.lock")


def beside(lock: Path) -> Address:
    """A server's address from its lock: its socket and log share the lock's name."""
    return Address(lock.with_suffix(".sock"), lock, lock.with_suffix(".log"))


def too_long(addr: Address) -> bool:
    return len(os.fsencode(addr.socket)) > SOCKET_PATH_LIMIT


def holder(lock: Path) -> int | None:
    """The pid of the server holding `lock`, or None if no server holds it."""
    try:
        handle = lock.open("r")
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # held: a server lives
            try:
                return int(handle.read().strip() or "0") or None
            except ValueError:
                return None
        return None


def _server_locks(locks: Path) -> list[Path]:
    """The lock of every check server this data dir has had, running or not."""
    try:
        return sorted(locks.glob("check-*.lock"))
    except OSError:
        return []


def running(locks: Path) -> list[tuple[Path, int]]:
    """Every live check server of this data dir (any database): its lock and pid."""
    found = []
    for lock in _server_locks(locks):
        pid = holder(lock)
        if pid is not None:
            found.append((lock, pid))
    return found


def stop_all(locks: Path, wait_seconds: float = 15.0) -> int:
    """SIGTERM every check server of this data dir and wait until each has dropped its
    ready run spaces and let go of its lock (so the database may be stopped next)."""
    servers = [(lock, pid) for lock, pid in running(locks) if pid != os.getpid()]
    for _lock, pid in servers:
        with suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
            os.kill(pid, signal.SIGCONT)  # one stopped (SIGSTOP, by learner code) hears it too
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline and any(holder(lock) is not None for lock, _ in servers):
        time.sleep(0.02)
    for lock, pid in servers:  # one that would not go: it must not hold the lock and socket on
        if holder(lock) == pid:
            kill_server(pid)
    return len(servers)


def kill_server(pid: int) -> None:
    """SIGKILL a check server that will not answer, and everything below it first: its
    zygote runs in a session of its own, and one stopped with it (learner code can stop
    both) would outlive it, orphaned and stopped, where no EOF reaches it."""
    from drillkit.run.guard import descendants  # the cold path only

    with suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGSTOP)  # held still: it starts no new zygote while we look below it
    for below in descendants(pid):
        with suppress(ProcessLookupError, PermissionError):
            os.kill(below, signal.SIGKILL)
    with suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def forget_stopped(locks: Path) -> list[Path]:
    """Remove the lock, socket and log of every check server of this data dir that no longer
    runs (after `drill db reset` their digests name a database that is gone); the removed
    locks. A server that holds its lock is left alone."""
    removed = []
    for lock in _server_locks(locks):
        try:
            handle = lock.open("r")
        except OSError:
            continue
        with handle:
            try:  # held while the files go: a server starting now waits, then finds none
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a server lives
            addr = beside(lock)
            for path in (addr.socket, addr.log, addr.lock):
                with suppress(OSError):
                    path.unlink()
            removed.append(lock)
    return removed


RETRY_SECONDS = 60.0  # after a failed start, checks run without a server this long


def failure_mark(addr: Address) -> Path:
    """Written when this server would not start (its text: why), removed when one does."""
    return addr.lock.with_suffix(".failed")


def failed_lately(mark: Path) -> bool:
    """Whether the failure mark `mark` was written less than RETRY_SECONDS ago."""
    try:
        return time.time() - mark.stat().st_mtime < RETRY_SECONDS
    except OSError:
        return False  # no mark (or none we may read): nothing failed


def will_be_used(locks: Path) -> bool:
    """Cheap (before the database is resolved): will `drill check` run through a check
    server? Yes if one runs, and else if it may start one: the socket's path fits, and no
    start failed lately. Then `drill check` prestarts no checker child of its own, whose
    imports would only compete with the server's for the CPU and be thrown away."""
    try:
        names = os.listdir(locks)
    except FileNotFoundError:
        names = []  # no data dir yet: the check makes it, and starts a server there
    except OSError:
        return False  # unreadable: no server starts there either
    if too_long(address(locks, "")):  # every address here has the same length
        return False
    failed, sockets = set(), set()
    for name in names:
        stem, _, suffix = name.partition(".")
        if not stem.startswith("check-"):
            continue
        if suffix == "sock":
            sockets.add(stem)
        elif suffix == "failed" and failed_lately(locks / name):
            failed.add(stem)
    # A socket beside a fresh failure mark is a dead server's (a start that works removes it).
    return bool(sockets - failed) or not failed

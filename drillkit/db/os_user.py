"""OS users, added one at a time: the one the embedded server runs as when drillkit is root.

Postgres will not run as root, so pgserver, run as root, creates a `pgserver` user with
`useradd` and runs the server as that user. useradd does not wait for another useradd
(two first checks at once, or the test suite's workers adding their own users): one of them
fails, or an entry is lost and the user is made again with another uid, after the data dir
was already given to the first. drillkit adds the user itself before pgserver looks, one
process at a time, and tries again while someone else holds the password file.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

SERVER_USER = "pgserver"  # pgserver's own choice: it must be this name
# useradd's exit codes for "could not lock or update /etc/passwd or /etc/group": try again.
# (1 is also "not allowed", which the attempts then run out on: only root gets here.)
BUSY_CODES = (1, 10)
NAME_IN_USE = 9
ATTEMPTS = 20
# Root's own folder: no other user can put a lock, a link or a file of theirs there (in /tmp
# one could hold the lock to stall root, or link it to a file root would then open).
LOCK_FOLDER = Path("/run")
LOCK_NAME = "drillkit-useradd.lock"


def users_lock(timeout: float = 120) -> AbstractContextManager[object]:
    """The lock every useradd and userdel of drillkit's (and of its tests') is made under; no
    lock where there is no such folder of root's (or not as root): useradd's own retries,
    below, still apply."""
    from filelock import FileLock

    try:
        folder = LOCK_FOLDER.lstat()
    except OSError:
        return nullcontext()
    ours = stat.S_ISDIR(folder.st_mode) and folder.st_uid == 0 and not folder.st_mode & 0o022
    if not ours or os.geteuid() != 0:
        return nullcontext()
    return FileLock(str(LOCK_FOLDER / LOCK_NAME), timeout=timeout, mode=0o600)  # no one else may open it


def ensure_user(name: str, *options: str) -> pwd.struct_passwd | None:
    """The OS user `name`, created with `options` if missing; None when it cannot be made
    (no useradd, not root, the lock not had in time): the caller's own attempt then says why."""
    entry = _entry(name)
    if entry is not None or shutil.which("useradd") is None:
        return entry
    try:
        with users_lock():
            return _add(name, options)
    except OSError:  # the lock's file could not be made, or its timeout (a TimeoutError) ran out
        return None


def _add(name: str, options: tuple[str, ...]) -> pwd.struct_passwd | None:
    for _ in range(ATTEMPTS):
        entry = _entry(name)
        if entry is not None:
            return entry
        done = subprocess.run(["useradd", *options, name], capture_output=True, check=False)
        if done.returncode not in (0, NAME_IN_USE, *BUSY_CODES):
            return None
        if done.returncode in BUSY_CODES:
            time.sleep(0.25)
    return _entry(name)


def _entry(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def ensure_server_user() -> None:
    """As root, the user the embedded server runs as, made as pgserver would make it."""
    if os.geteuid() == 0:
        ensure_user(SERVER_USER, "-s", "/bin/bash")

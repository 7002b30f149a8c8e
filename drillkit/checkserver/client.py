"""`drill check`'s side of the check server: ask it, start it if none runs, or say why not.

No SQLAlchemy, no psycopg: a warm check here is a socket, one request and one reply. When
the server cannot be used (switched off with DRILL_CHECK_SERVER=off, a data dir path too
long for a socket, a server that does not start or dies mid-check) `check` returns None
and the caller runs the check in its own process tree, the way drillkit always could.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drillkit import errors
from drillkit.checkserver import wire
from drillkit.checkserver.address import (
    Address,
    address,
    disabled,
    failed_lately,
    failure_mark,
    kill_server,
    too_long,
)
from drillkit.db.server import Database
from drillkit.errors import DrillkitError, Interrupted
from drillkit.pack.model import Drill
from drillkit.paths import Paths
from drillkit.results import FIRST_CHECK, CheckReport, CheckResult, RunOutcome, UntrustedResult
from drillkit.run.env import child_env
from drillkit.run.interrupts import signals_as_interrupts
from drillkit.run.job import RunJob, make_report

START_SECONDS = 30.0  # for the server to bind its socket (its imports come after)
CANCEL_SECONDS = 15.0  # after a Ctrl-C: for the server to kill the run and drop its schema


class Unavailable(Exception):
    """The check server cannot be used; the message says why (for `drill doctor`)."""


@dataclass(frozen=True)
class Status:
    pid: int
    since: float
    checks: int
    ready: int
    zygote: bool
    fallback: str | None
    # By the database, at the server's last try: no zygote; it leaves when idle. A default:
    # a server started by an earlier drillkit of the same version does not send it.
    refused: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Status:
        """A server's status reply; a field it does not send takes its default, if it has one
        (else TypeError)."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def server_address(paths: Paths, db: Database) -> Address:
    """One server per data dir, database, Python and drillkit install: a server started by
    another version of drillkit (or another venv) is never asked to run this one's jobs."""
    from drillkit import __file__ as package
    from drillkit import __version__

    # The kind too: the embedded server's URL given as DRILL_DATABASE_URL is "external"
    # (other machines may share it: orphans are swept only after ten minutes).
    key = [db.kind, db.libpq_url, sys.executable, package, __version__, _code_stamp(package)]
    return address(paths.locks, "\0".join(key))


def _code_stamp(package: str) -> str:
    """When drillkit's own modules last changed: a checkout edited in place keeps its version,
    and its running server would go on with the code from before the edit (loading the
    packs' new checks against it). Half a millisecond for the whole tree."""
    newest = 0
    for folder, subfolders, files in os.walk(os.path.dirname(package)):
        subfolders[:] = [name for name in subfolders if name != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                with suppress(OSError):
                    newest = max(newest, os.stat(os.path.join(folder, name)).st_mtime_ns)
    return str(newest)


def check(paths: Paths, db: Database, drill: Drill, path: Path, timeout: float) -> CheckReport | None:
    """The drill's report from the check server; None: check it here instead."""
    try:
        sock = connect(paths, db, start=True)
    except Unavailable:
        return None
    started = time.monotonic()
    request = {
        "op": "check",
        "job": RunJob.of(drill).to_json(),
        "file": str(path),
        "timeout": timeout,
        "env": child_env(),  # learner code sees this terminal's environment, not the server's
    }
    with sock:
        try:
            # The cancel too runs with our handler in place: a second signal while the server
            # ends the run is ignored, and the first one's exit code stands.
            with signals_as_interrupts():
                try:
                    wire.send(sock, request)
                    reply = _await_reply(sock, timeout)
                except Interrupted:
                    _cancel(sock)
                    raise
        except OSError:
            # The server died mid-check (killed, crashed), or hangs (stopped, say, by learner
            # code: it is ended, so the next check starts another): the run is redone here.
            return None
    outcome = _outcome(reply)
    return make_report(drill, path, outcome, time.monotonic() - started)


REPLY_MARGIN = 120.0  # beyond the run's timeout: its schema, its database checks (30 s each), the drop
LOOK_SECONDS = 0.5  # how often a waiting client looks whether the server still runs


def _await_reply(sock: socket.socket, timeout: float) -> dict[str, Any]:
    """The server's reply; raises TimeoutError (ending the server) when it is stopped, or
    has not answered long after the run's timeout."""
    server, _uid = wire.peer(sock)
    deadline = time.monotonic() + timeout + REPLY_MARGIN
    while not select.select([sock], [], [], LOOK_SECONDS)[0]:
        if time.monotonic() > deadline or _stopped(server):
            kill_server(server)
            raise TimeoutError("the check server did not answer")
    sock.settimeout(REPLY_MARGIN)  # the reply has begun: it comes whole, or not at all
    return wire.receive(sock, wire.REPLY_LIMIT)


def _stopped(pid: int) -> bool:
    from drillkit.run.guard import state

    return state(pid) in (b"T", b"t")


def _outcome(reply: dict[str, Any]) -> RunOutcome:
    if reply.get("ok") is True:
        try:
            return RunOutcome.from_json(reply.get("outcome"))
        except UntrustedResult as exc:
            return _checker_error(f"the check server's reply was malformed ({exc})")
    error = reply.get("error")
    if isinstance(error, dict):
        raise _as_error(error)
    return _checker_error(str(reply.get("internal") or "the check server failed")[-4000:])


def _checker_error(detail: str) -> RunOutcome:
    """drillkit's own failure, never blamed on the learner (and never recorded)."""
    return RunOutcome(
        [
            CheckResult(
                FIRST_CHECK,
                "error",
                rationale="drillkit's check server failed while checking this file (not your mistake)",
                actual=detail,
                help="please report this; `DRILL_CHECK_SERVER=off drill check ...` checks without it",
            )
        ]
    )


def _as_error(error: dict[str, Any]) -> DrillkitError:
    """The server's DrillkitError, as the same class here (one line, the same exit code)."""
    cls = getattr(errors, str(error.get("type")), None)
    message = str(error.get("message", "the check server refused the check"))
    if (
        isinstance(cls, type)
        and issubclass(cls, DrillkitError)
        and cls is not errors.DatabaseUnavailableError
    ):
        return cls(message)
    return errors.DatabaseUnavailableError(message) if cls else DrillkitError(message)


def _cancel(sock: socket.socket) -> None:
    """Tell the server the run is off (EOF on its side), and wait until it has killed the run
    and dropped its schema: a Ctrl-C leaves nothing behind, with the server as without it."""
    with suppress(OSError):
        sock.shutdown(socket.SHUT_WR)
        ready, _, _ = select.select([sock], [], [], CANCEL_SECONDS)
        if ready:
            sock.recv(1)


def connect(paths: Paths, db: Database, *, start: bool, retry: bool = False) -> socket.socket:
    """A connection to this data dir's check server, started first if `start`; raises
    Unavailable. After a failed start, checks do not try again for a while (`retry` does)."""
    if disabled():
        raise Unavailable("switched off (DRILL_CHECK_SERVER=off): each check starts its own processes")
    addr = server_address(paths, db)
    if too_long(addr):
        raise Unavailable(f"the data dir's path is too long for a Unix socket ({addr.socket})")
    try:
        return _connect(addr)
    except OSError:
        if not start:
            raise Unavailable("not running; the next check starts it") from None
    failed = _failed_recently(addr)
    if failed and not retry:  # each check would pay for a start that fails again
        raise Unavailable(failed)
    try:
        _start(paths, db, addr)
    except Unavailable as exc:
        with suppress(OSError):
            failure_mark(addr).write_text(str(exc), encoding="utf-8")
        raise
    with suppress(OSError):
        failure_mark(addr).unlink(missing_ok=True)
    try:
        return _connect(addr)
    except OSError as exc:
        raise Unavailable(f"started, but its socket refused us: {exc.strerror or exc}") from None


def _failed_recently(addr: Address) -> str | None:
    """Why this server's last start failed, if it failed lately."""
    mark = failure_mark(addr)
    if failed_lately(mark):
        with suppress(OSError):
            return mark.read_text(encoding="utf-8", errors="replace")[:500]
    return None


def _connect(addr: Address) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(addr.socket))
    except OSError:
        sock.close()
        raise
    return sock


def _start(paths: Paths, db: Database, addr: Address) -> None:
    from drillkit.db.idle import idle_seconds
    from drillkit.db.server import postmaster_pid

    settings = {
        "kind": db.kind,
        "url": db.libpq_url,
        "lock": str(addr.lock),
        "idle": idle_seconds(),
        "postmaster": postmaster_pid(paths.pgdata) if db.kind == "embedded" else None,
    }
    try:
        paths.locks.mkdir(parents=True, exist_ok=True)
        log = addr.log.open("ab")
    except OSError as exc:
        raise Unavailable(f"cannot write its log {addr.log}: {exc.strerror}") from None
    with log:
        try:
            proc = subprocess.Popen(
                [sys.executable, "-P", "-m", "drillkit.checkserver.daemon"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd="/",
                start_new_session=True,  # a Ctrl-C in this terminal is not the server's
            )
        except OSError as exc:
            raise Unavailable(f"cannot start it: {exc.strerror or exc}") from None
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(json.dumps(settings).encode() + b"\n")
        proc.stdin.close()
        ready, _, _ = select.select([proc.stdout], [], [], START_SECONDS)
        line = proc.stdout.readline() if ready else b""
    except OSError:
        line = b""
    finally:
        proc.stdout.close()
    if not line.startswith(b"ready"):
        with suppress(OSError):
            proc.kill()
        raise Unavailable(f"it did not start (see {addr.log})")


def status(paths: Paths, db: Database) -> Status:
    """The running server's status; raises Unavailable (with why) when none answers."""
    with connect(paths, db, start=False) as sock:
        try:
            sock.settimeout(5)
            wire.send(sock, {"op": "status"})
            reply = wire.receive(sock, wire.REQUEST_LIMIT)
            data = reply["status"]
            return Status.from_json(data)
        except (OSError, KeyError, TypeError) as exc:
            raise Unavailable(f"it did not answer ({exc})") from None


def drain(locks: Path) -> list[str]:
    """Wait until every check server of this data dir (one per database, Python and drillkit)
    has dropped its used run spaces and topped up its pool; their ready spaces' schemas.
    For counting leftovers: every other run schema belongs to a running check or is one."""
    from drillkit.checkserver.address import beside, running

    ready: list[str] = []
    for lock, _pid in running(locks):
        try:
            sock = _connect(beside(lock))
        except OSError:
            continue  # it is leaving (and drops its spaces on the way out)
        with sock:
            wire.send(sock, {"op": "drain"})
            ready += wire.receive(sock, wire.REPLY_LIMIT).get("ready", [])
    return ready

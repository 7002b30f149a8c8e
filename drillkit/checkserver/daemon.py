"""The check server process (started by client.py, never by hand).

    python -P -m drillkit.checkserver.daemon      (its settings as JSON on stdin)

It takes its lock (one server per data dir and database: a loser exits at once), binds its
socket (0600, in the data dir's `locks/`), says `ready` on stdout, then answers each client
on a thread of its own: a check (run.service.CheckService: a fork of the zygote, a ready run
space), its status (for `drill doctor`), or a drain (tests and benchmarks: wait until
every used run space is dropped). A client that hangs up mid-check cancels it: the run's
process group is killed and its space dropped, as after a Ctrl-C in a lone `drill check`.

It exits, dropping every ready run space first, when: idle for the data dir's idle period
(DRILL_DB_IDLE_MINUTES; 0 keeps it), SIGTERM (`address.stop_all`: `drill db stop`, the idle watchdog), the
embedded Postgres is gone, its socket was taken away, or the database refused it (a wrong
DRILL_DATABASE_URL: it starts no zygote until the database lets it in, each check trying
again, and answers checks with why). Its stderr is its log.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
from contextlib import suppress
from pathlib import Path
from typing import Any

from drillkit.checkserver import wire
from drillkit.checkserver.address import beside
from drillkit.db.server import Database, process_alive
from drillkit.errors import DatabaseUnavailableError, DrillkitError
from drillkit.run.job import RunJob
from drillkit.run.limits_values import MAX_TIMEOUT, MIN_TIMEOUT
from drillkit.run.runner import Cancelled, abandoned_checks_running, validate_learner_file
from drillkit.run.service import CheckService
from drillkit.run.space import connect

# How long `status` waits for the zygote and the pool (start_service), well inside the
# client's 5 s: a database slow to refuse us (up to its 5 s connect timeout) must not
# make `drill doctor` report a server that does not answer.
STATUS_WAIT_SECONDS = 3.0
LOOK_SECONDS = 2.0  # how often the server looks at its idle time, Postgres and its socket


class Server:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.db = Database(settings["kind"], settings["url"])
        self.addr = beside(Path(settings["lock"]))
        self.idle: float | None = settings.get("idle")
        self.postmaster: int | None = settings.get("postmaster")
        self.started = time.time()
        self.last_used = time.monotonic()
        self.active: set[socket.socket] = set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.service: CheckService | None = None
        self.unreachable = False  # the database refused a check: leave at the next look
        self.refused: DatabaseUnavailableError | None = None  # by the database: no service yet
        self._refused_at = 0.0
        self._starting = threading.Lock()
        self._first_try = threading.Event()
        self.listener: socket.socket | None = None
        self._wake_r, self._wake_w = os.pipe()  # stop() wakes the accept loop through it
        os.set_blocking(self._wake_w, False)

    # --- life ---------------------------------------------------------------------------

    def bind(self) -> None:
        with suppress(FileNotFoundError):
            self.addr.socket.unlink()  # a dead server's: we hold the lock, so nobody else's
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)  # 0600 from the start: no moment when others could connect
        try:
            listener.bind(str(self.addr.socket))
        finally:
            os.umask(old)
        listener.listen(64)
        self.listener = listener
        self.inode = self.addr.socket.stat().st_ino

    def start_service(self, asked: float = 0.0) -> CheckService | DatabaseUnavailableError | None:
        """The zygote and the pool, once the database has let us in. A zygote costs half a
        second of CPU to start, which a database that refuses us (a wrong DRILL_DATABASE_URL)
        does not get: checks are answered with why, and the server leaves at its next look.
        A check asked at `asked` (monotonic) tries the database again, unless a refusal came
        after that: the database may have come up meanwhile, as it would for a lone check.
        Returns the service, or the refusal (None: the server is stopping)."""
        with self._starting:
            try:
                fresh = self.refused is None or self._refused_at < asked
                if self.service is None and fresh and not self.stopping.is_set():
                    connect(self.db).close()
                    self.service = CheckService(self.db, stderr=sys.stderr.fileno())
                    self.refused, self.unreachable = None, False
            except DatabaseUnavailableError as exc:
                self.refused, self._refused_at, self.unreachable = exc, time.monotonic(), True
            finally:
                self._first_try.set()
            return self.service or self.refused

    def serve(self) -> None:
        listener = self.listener
        assert listener is not None
        listener.setblocking(False)
        # A short idle period is looked at often enough to end close to its time.
        look = LOOK_SECONDS if not self.idle else min(LOOK_SECONDS, max(self.idle / 4, 0.1))
        while not self.stopping.is_set():
            try:
                readable, _, _ = select.select([listener, self._wake_r], [], [], look)
            except OSError:
                break
            if self._wake_r in readable:
                break  # stop(): `drill db stop` waits for us, so at once, not at the next look
            if not readable:
                if self._should_exit():
                    break
                continue
            try:
                conn, _ = listener.accept()
            except BlockingIOError:
                continue  # the client gave up between select and accept
            except OSError:
                break
            conn.setblocking(True)
            with self.lock:
                self.last_used = time.monotonic()
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def stop(self) -> None:
        """Leave the accept loop now (the SIGTERM handler: only an event and a pipe write)."""
        self.stopping.set()
        with suppress(OSError):
            os.write(self._wake_w, b"x")

    def _should_exit(self) -> bool:
        with self.lock:
            busy = bool(self.active)
            quiet = time.monotonic() - self.last_used
        if self.postmaster is not None and not process_alive(self.postmaster):
            return True  # the embedded server was stopped: nothing to check against
        try:
            if self.addr.socket.stat().st_ino != self.inode:
                return True  # another server replaced our socket (`drill db reset`, a race)
        except OSError:
            return True
        if not busy and (self.unreachable or abandoned_checks_running()):
            return True  # a pack's database check that never ended runs on here: a new server is clean
        return not busy and self.idle is not None and quiet >= self.idle

    def shutdown(self) -> None:
        self.stopping.set()
        if self.listener is not None:
            with suppress(OSError):
                if self.addr.socket.stat().st_ino == self.inode:
                    self.addr.socket.unlink()
            self.listener.close()
        with self.lock:
            for conn in self.active:  # their runs see the hang-up and end (killed, dropped)
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 10
        while self.active and time.monotonic() < deadline:
            time.sleep(0.02)
        with self._starting:  # a start under way finishes first, and none begins after it
            pass
        if self.service is not None:
            self.service.close()
        for fd in (self._wake_r, self._wake_w):
            with suppress(OSError):
                os.close(fd)

    # --- one client ---------------------------------------------------------------------

    def _answer(self, conn: socket.socket) -> None:
        with self.lock:
            self.active.add(conn)
        try:
            with conn:
                if not self._same_user(conn) or self._from_a_run(conn):
                    return
                conn.settimeout(30)
                request = wire.receive(conn, wire.REQUEST_LIMIT)
                conn.settimeout(None)
                reply = self._handle(request, conn)
                if reply is not None:
                    wire.send(conn, reply)
        except (OSError, ValueError):
            pass  # the client went away: its run (if any) was cancelled and cleaned up
        finally:
            with self.lock:
                self.active.discard(conn)
                self.last_used = time.monotonic()

    @staticmethod
    def _same_user(conn: socket.socket) -> bool:
        return wire.peer(conn)[1] == os.getuid()

    @staticmethod
    def _from_a_run(conn: socket.socket) -> bool:
        """Whether the client is a process below this server: a run's (learner code, forked
        from our zygote). It may not ask for checks of its own, whose pack code would run
        here, in the server that checks it."""
        from drillkit.run.guard import descendants

        return wire.peer(conn)[0] in descendants(os.getpid())

    def _handle(self, request: dict[str, Any], conn: socket.socket) -> dict[str, Any] | None:
        op = request.get("op")
        if op == "check":
            return self._check(request, conn)
        if op == "status":
            return {"ok": True, "status": self.status()}
        if op == "drain":
            return {"ok": True, "ready": self.service.pool.drain(refilled=True) if self.service else []}
        return {"ok": False, "internal": f"unknown request {str(op)[:40]!r}"}

    def _check(self, request: dict[str, Any], conn: socket.socket) -> dict[str, Any] | None:
        started = time.monotonic()
        try:
            job = RunJob.from_json(request["job"])
            path = validate_learner_file(Path(request["file"]))
            timeout = min(max(float(request["timeout"]), MIN_TIMEOUT), MAX_TIMEOUT)
            env = request["env"]
            if not (isinstance(env, dict) and all(isinstance(v, str) for v in env.values())):
                raise TypeError("the environment is not text")
        except DrillkitError as exc:
            return {"ok": False, "error": _error(exc)}
        except (KeyError, TypeError, ValueError) as exc:
            return {"ok": False, "internal": f"a malformed request: {exc}"}
        service = self.start_service(asked=started)
        if isinstance(service, DatabaseUnavailableError):
            return {"ok": False, "error": _error(service)}
        if service is None or self.stopping.is_set():
            return None  # the server is stopping: the client hears the hang-up, as mid-check
        try:
            outcome = service.run(job, path, timeout, cancel_fd=conn.fileno(), env=env)
        except Cancelled:
            service.pool.drain()  # the client waits for this: a Ctrl-C leaves nothing behind
            return None
        except DatabaseUnavailableError as exc:
            self.unreachable = True  # a wrong DRILL_DATABASE_URL: no server lingers for it
            return {"ok": False, "error": _error(exc)}
        except DrillkitError as exc:
            return {"ok": False, "error": _error(exc)}
        except Exception:
            return {"ok": False, "internal": traceback.format_exc()[-4000:]}
        return {"ok": True, "outcome": outcome.to_json(), "seconds": time.monotonic() - started}

    def status(self) -> dict[str, Any]:
        self._first_try.wait(STATUS_WAIT_SECONDS)  # a database that refuses at once has by now
        service = self.service
        return {
            "pid": os.getpid(),
            "since": self.started,
            "checks": service.checks if service else 0,
            "ready": service.pool.ready() if service else 0,
            "zygote": service is not None and service.fallback is None,
            "fallback": service.fallback if service else None,
            "refused": str(self.refused) if self.refused else None,
        }


def _error(exc: DrillkitError) -> dict[str, Any]:
    return {"type": type(exc).__name__, "message": str(exc)}  # the client raises the same class


def main() -> int:
    settings = json.loads(sys.stdin.readline())
    server = Server(settings)
    server.addr.lock.parent.mkdir(parents=True, exist_ok=True)
    lock = server.addr.lock.open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("ready (another server)", flush=True)  # the client connects to that one
        return 0
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    signal.signal(signal.SIGTERM, lambda signum, frame: server.stop())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the starting terminal is not ours
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        server.bind()
        print("ready", flush=True)
        _detach_stdout()
        # In the background: a database slow to refuse us must not keep `status` waiting.
        threading.Thread(target=server.start_service, daemon=True).start()
        server.serve()
    finally:
        server.shutdown()
        lock.close()
    return 0


def _detach_stdout() -> None:
    """The client reads stdout only until `ready`: nothing later may block on that pipe."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.close(null)


if __name__ == "__main__":
    sys.exit(main())

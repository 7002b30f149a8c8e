"""The forkserver: one process that has imported what every worker needs, and forks a fresh
guard + worker per check instead of starting a new interpreter.

    python -P -m drillkit.run.zygote <control-fd>

Most of a cold checker child's time is the interpreter's start and `import sqlalchemy`
(a quarter of a second here). The zygote pays that once: it imports the harness's
preloads, then waits on its control socket. Each request carries the run's descriptors
(SCM_RIGHTS: job pipe, guard status pipe, result file, output file, lifeline) and its
environment; the zygote forks, and the fork becomes the run's guard exactly as a fresh
child would (`guard.split`, then the harness in the worker). The answer is the guard's pid.

What keeps a fork as clean as a fresh process: the zygote never opens a database
connection, never starts a thread, never imports a pack's checks and never runs learner
code, so nothing of one run (a connection, a lock held by another thread, a cached
checks module) can cross into the next. It is single-threaded and serves one request at
a time; a fork takes a few milliseconds. Its children are reaped by the kernel (SIGCHLD
ignored); each guard watches its lifeline, so a run ends when its owner does, whatever
becomes of the zygote. It is a child subreaper like each guard: what a run leaves after
learner code killed its guard is adopted here, and killed (`_kill_strays`). EOF on the
control socket (the owner closed it or died) ends the zygote.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import suppress
from typing import IO

MAX_FDS = 5
REQUEST_LIMIT = 1024 * 1024
READY = b"ready"
START_TIMEOUT = 30.0  # seconds for the preloads on a loaded machine
SWEEP_SECONDS = 1.0  # how often an idle zygote looks for strays (see _kill_strays)
STRAY_CHASE_SECONDS = 0.5


class ZygoteError(OSError):
    """The zygote could not be started or did not fork: the owner starts a fresh child instead."""


class Zygote:
    """The owner's end: starts the zygote process and asks it for forks (any thread may)."""

    def __init__(self, env: dict[str, str], stderr: IO[bytes] | int = subprocess.DEVNULL) -> None:
        # SEQPACKET: one request, its descriptors and its answer are each one message.
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-P", "-m", "drillkit.run.zygote", str(theirs.fileno())],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,  # a Ctrl-C in the owner's terminal is not the zygote's
            )
        finally:
            theirs.close()
        self._sock = ours
        self._lock = threading.Lock()
        ours.settimeout(START_TIMEOUT)
        try:
            ready = ours.recv(64)
        except OSError as exc:
            self.close()
            raise ZygoteError(f"the zygote did not start: {exc}") from None
        if ready != READY:
            self.close()
            raise ZygoteError(f"the zygote did not start (exit code {self.proc.poll()})")
        ours.settimeout(10.0)

    def fork(self, fds: list[int], env: dict[str, str], folder: str) -> int:
        """A new guard for one run, with these descriptors (see _become_run); its pid."""
        request = json.dumps({"env": env, "folder": folder}).encode("utf-8")
        with self._lock:
            try:
                socket.send_fds(self._sock, [request], fds)
                reply = self._sock.recv(4096)
            except OSError as exc:
                # A zygote that did not answer in time (stopped, say) may answer this request
                # later, in place of the next one's: it is ended, and the owner starts another.
                self._end()
                raise ZygoteError(f"the zygote did not answer: {exc}") from None
        try:
            answer = json.loads(reply)
            return int(answer["pid"])
        except (ValueError, KeyError, TypeError):
            raise ZygoteError(f"the zygote could not fork: {reply[:200]!r}") from None

    def _end(self) -> None:
        self._sock.close()
        with suppress(OSError):
            self.proc.kill()  # also a stopped one
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        self._sock.close()  # EOF: the zygote leaves its loop and exits
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def serve(control: socket.socket) -> None:
    from drillkit.run import guard

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the guards
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the owner's Ctrl-C is the owner's
    guard.become_subreaper()  # a run whose guard was killed leaves its orphans to us
    guards: set[int] = set()
    control.sendall(READY)
    control.settimeout(SWEEP_SECONDS)
    while True:
        try:
            message, fds, _flags, _addr = socket.recv_fds(control, REQUEST_LIMIT, MAX_FDS)
        except TimeoutError:
            if not select.select([control], [], [], 0)[0]:  # an EOF first: the owner is gone
                _kill_strays(guards)
            continue
        except OSError:
            return
        if not message:
            for fd in fds:
                os.close(fd)
            return
        _kill_strays(guards)
        try:
            request = json.loads(message)
            pid = _fork_run(control, fds, request)
        except Exception as exc:  # a malformed request: the owner hears why, the zygote lives on
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        else:
            guards.add(pid)
            reply = {"pid": pid}
        finally:
            for fd in fds:
                os.close(fd)  # the fork has its own copies; the next run must not inherit them
        try:
            control.sendall(json.dumps(reply).encode("utf-8"))
        except OSError:
            return


def _kill_strays(guards: set[int]) -> None:
    """Kill every child of ours that is not a guard we forked, with all below it. The only
    other children a zygote can have are a run's processes adopted after its guard died
    (learner code can kill its own guard): nothing of a run may outlive it. A stray that
    forks and exits over and over is adopted again each time, and chased a little while.
    Not while the owner is gone: a dying guard's cleaner (guard._orphaned) is then ours."""
    from drillkit.run import guard

    deadline = time.monotonic() + STRAY_CHASE_SECONDS
    while True:
        children = guard.children(os.getpid())
        if children is None:
            return  # a kernel that lists no children: nothing to go by
        guards.intersection_update(children)  # the guards that ended are forgotten
        strays = [pid for pid in children if pid not in guards]
        if not strays or time.monotonic() > deadline:
            return
        for pid in strays:
            for below in [*guard.descendants(pid), pid]:
                with suppress(OSError):
                    os.kill(below, signal.SIGKILL)
        time.sleep(0.001)


def _fork_run(control: socket.socket, fds: list[int], request: dict) -> int:
    if len(fds) != MAX_FDS:
        raise ValueError(f"expected {MAX_FDS} descriptors, got {len(fds)}")
    env, folder = dict(request["env"]), str(request["folder"])
    pid = os.fork()
    if pid:
        return pid
    # The child: from here on it must never return into the zygote's loop.
    try:
        _become_run(control, fds, env, folder)
    finally:
        os._exit(70)


def _become_run(control: socket.socket, fds: list[int], env: dict[str, str], folder: str) -> None:
    from drillkit.run import guard, harness

    job_fd, status_fd, result_fd, output_fd, lifeline_fd = fds
    os.setsid()  # its own process group, which the owner kills as a whole
    control.close()  # learner code must not be able to ask the zygote for anything
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the guard waits for its worker itself
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    os.close(null)
    os.close(output_fd)
    os.environ.clear()
    os.environ.update(env)
    seal_fd = guard.split(lifeline_fd, status_fd, worker_fds=(job_fd, result_fd), folder=folder)
    harness.main(job_fd, result_fd, seal_fd)


def _main() -> None:
    control = socket.socket(fileno=int(sys.argv[1]))
    from drillkit.run import guard, harness  # noqa: F401 (imported once, for every fork)

    harness.preload_all()
    serve(control)
    # Nothing to flush or close: skip tearing down SQLAlchemy's modules (a tenth of a
    # second the server's `drill db stop` would wait for).
    os._exit(0)


if __name__ == "__main__":
    _main()

"""The guard: a small process between the CLI and the learner's code, that never runs any of it.

    python -P -m drillkit.run.guard <job-fd> <status-fd> <result-fd> <cli-pid> <folder>

    drill (CLI) ── guard (the child the CLI started; its process group) ── worker (learner code)

`split()` is the first thing the child does, before it imports drillkit's worker code or
SQLAlchemy: it forks. The original process becomes the guard and never returns; the fork
(the worker) goes on to run the harness (harness.py): import SQLAlchemy, run the learner's
file and the checks. Forking this early keeps the fork cheap and the guard small. (A
guard forked by the zygote, zygote.py, finds everything imported already.) The guard
exists because the worker cannot be trusted to end itself — a learner's loop may hold it,
and it may have spawned processes of its own:

- the owner dies (even `kill -9`) or gives the run up: the lifeline, a pipe whose only
  write end the owner holds, reads EOF, and the guard kills the whole process group, the
  worker and everything it spawned (a cleaner outside the group then removes the run's
  temp folder). A pipe works whoever forked the guard: the CLI, or the zygote for the
  check server;
- the owner is stopped (Ctrl-Z, a debugger) or hangs: the guard keeps the run's own deadline
  (the timeout plus a grace second, from when learner code starts) and kills the group;
- the worker ends: the guard writes how (exit code or signal, CPU time) and the names of
  the checks the worker sealed before learner code ran, to a pipe only it holds, then
  kills the group: nothing the learner started outlives the run, even if the CLI is stuck.

The worker has PR_SET_PDEATHSIG too, so it dies with the guard whatever kills the guard.
Only the standard library here: this runs before anything else in the child.
"""

from __future__ import annotations

# Imported before the fork: what the guard needs, all of which the worker imports anyway
# (inherited, it costs the worker nothing). Not typing: the guard never needs it.
import json
import os
import select
import signal
import sys
import time
from contextlib import suppress

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
STOP_SIGNAL = signal.SIGUSR1  # from the owner: kill the run now (its files stay for the owner)
DEADLINE_GRACE = 1.0  # the CLI's own timeout fires first; the guard's is for a stuck CLI
MESSAGE_LIMIT = 16 * 1024  # the seal: a few check names; the report stays far below a pipe buffer


class GuardStatus:
    """The guard's word on the worker, as the CLI reads it from the status pipe.
    (A plain class: this module is imported on the child's start-up path.)"""

    def __init__(
        self,
        checks: list[str] | None,  # sealed before learner code ran; None: it never got that far
        cpu_limit: int | None,
        exit: int | None,
        signal: int | None,
        cpu: float | None,
        deadline: bool,  # the guard killed the run at its own deadline (the CLI was stuck)
    ) -> None:
        self.checks, self.cpu_limit, self.exit = checks, cpu_limit, exit
        self.signal, self.cpu, self.deadline = signal, cpu, deadline

    @classmethod
    def parse(cls, raw: bytes) -> GuardStatus | None:
        try:
            data = json.loads(raw)
            status = cls(**data)
        except (ValueError, TypeError, RecursionError):
            return None
        return status

    @property
    def cpu_limit_hit(self) -> bool:
        if self.signal == signal.SIGXCPU:
            return True
        used, limit = self.cpu or 0.0, self.cpu_limit
        return self.signal == signal.SIGKILL and limit is not None and used >= limit

    def ending(self) -> str:
        """How the worker ended, in words."""
        if self.signal is not None:
            from drillkit.run.limits import signal_name

            return f"killed by {signal_name(self.signal)}"
        return f"exit code {self.exit}"


def die_with_parent(sig: int, parent: int) -> None:
    """Ask the kernel for `sig` when our parent dies, then close the race where it already did."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # no prctl: the guard's deadline and the CLI's cleanup still hold
    if os.getppid() != parent:  # the parent died before the kernel could be asked
        os.kill(os.getpid(), sig)
        os._exit(1)


def become_subreaper() -> None:
    """Have the kernel hand us the run's orphans: a learner process that left the group
    (setsid) and lost its parent is reparented to the guard instead of to init, so
    `_kill_descendants` still finds it."""
    if sys.platform.startswith("linux"):
        import ctypes

        with suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


KILL_SECONDS = 2.0  # how long the guard chases what is below it (a stuck D-state process)


def _kill_descendants() -> None:
    """SIGKILL every process below the guard, in the group or not, until the guard has no
    child at all, dead or alive. As the run's subreaper it inherits every orphan below it,
    so no child means nothing of the run is left: a process that forks and exits over and
    over (hopping out of each list read) keeps a child of the guard's alive, and is chased
    until a SIGKILL catches it. Zombies are reaped first, each round: a hopper leaves
    hundreds, and walking them would give it time."""
    deadline = time.monotonic() + KILL_SECONDS
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            return  # no child, so nothing below
        below = descendants(os.getpid())
        for pid in below:
            with suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            return  # unkillable for now (uninterruptible sleep): the group kill still follows
        if not below:
            time.sleep(0.001)  # the killed are not dead yet: let them go before looking again


def descendants(root: int) -> list[int]:
    """Live (not zombie) processes whose parent chain leads to `root`: each process's
    children from /proc/PID/task/TID/children (a few reads, however busy the machine),
    or, where the kernel has no such file, from every /proc/PID/stat."""
    found: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop()
        kids = children(pid)
        if kids is None:
            return _descendants_by_scan(root)
        found.extend(kids)
        todo.extend(kids)
    return [pid for pid in found if state(pid) not in (None, b"Z")]


def children(pid: int) -> list[int] | None:
    """The children of every thread of `pid` (a learner thread may fork); [] if it is gone,
    None if this kernel lists no children (CONFIG_PROC_CHILDREN)."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    kids: list[int] = []
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as handle:
                kids.extend(int(k) for k in handle.read().split())
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{tid}"):
                continue  # the thread ended meanwhile
            return None
        except OSError:
            continue
    return kids


def state(pid: int) -> bytes | None:
    """The process's state letter from /proc (b"R", b"S", b"T" stopped, b"Z", ...), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _descendants_by_scan(root: int) -> list[int]:
    """Live (not zombie) processes whose parent chain leads to `root`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                state, ppid = handle.read().rsplit(b")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue  # gone meanwhile
        if state != b"Z":
            children.setdefault(int(ppid), []).append(int(entry))
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _kill_group(signum: int = 0, frame: object = None) -> NoReturn:
    """Kill the run: every process below the guard (also one that left the group), then
    the guard's process group (the worker, what it spawned, the guard itself)."""
    try:
        _kill_descendants()
        os.killpg(os.getpgid(0), signal.SIGKILL)
    finally:
        os._exit(1)


def _orphaned(folder: str) -> NoReturn:
    """The CLI died: nobody else will remove the run's folder (output, temp files), so a
    cleaner in a session of its own waits for the group to be gone and removes it."""
    group = os.getpgid(0)
    _kill_descendants()  # now, before the cleaner below is one of them
    with suppress(OSError):
        left_r, left_w = os.pipe()
        if os.fork() == 0:
            os.setsid()  # out of the group about to be killed
            os.close(left_w)  # (the guard waits for this before it kills the group)
            deadline = time.monotonic() + 10
            while _group_alive(group) and time.monotonic() < deadline:
                time.sleep(0.02)  # until nothing of the run can still write there
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
            os._exit(0)
        os.close(left_w)
        select.select([left_r], [], [], 1.0)  # EOF: the cleaner has left the group
    try:
        os.killpg(group, signal.SIGKILL)  # not _kill_group: the cleaner is a descendant too
    finally:
        os._exit(1)


def _group_alive(group: int) -> bool:
    """Whether a process of `group` still runs. Zombies do not count: the dead processes of
    an orphaned group may wait long for a reaper (a container's pid 1 may never reap)."""
    try:
        entries = os.listdir("/proc")
    except OSError:  # no /proc: a signal 0 cannot tell zombies apart, but it is something
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in entries:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    fields = handle.read().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] != b"Z" and int(fields[2]) == group:
                return True
    return False


def split(lifeline_fd: int, status_fd: int, worker_fds: tuple[int, ...], folder: str) -> int:
    """Fork into guard and worker. Returns the write end of the seal pipe, in the worker
    only; the guard supervises and never returns. `worker_fds` are closed in the guard;
    `folder` (the run's temp folder) is removed if the owner dies (EOF on `lifeline_fd`)."""
    signal.signal(signal.SIGTERM, lambda signum, frame: _orphaned(folder))
    signal.signal(STOP_SIGNAL, _kill_group)  # the owner's `Checker.stop()`: end the run now
    become_subreaper()
    seal_r, seal_w = os.pipe()
    guard = os.getpid()
    worker = os.fork()
    if worker == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(STOP_SIGNAL, signal.SIG_DFL)
        os.close(seal_r)
        os.close(status_fd)  # the guard's channel to the owner: never the learner's
        os.close(lifeline_fd)
        die_with_parent(signal.SIGKILL, guard)
        return seal_w
    os.close(seal_w)
    for fd in worker_fds:
        os.close(fd)
    try:
        _supervise(worker, seal_r, status_fd, lifeline_fd, folder)
    finally:  # whatever happened in the guard, nothing of the run may outlive it
        _kill_group()


def tell(seal_fd: int, *, timeout: float, checks: list[str], cpu_seconds: int) -> None:
    """Worker, right before learner code: start the guard's deadline and leave it the names
    of the checks. Closing the pipe makes this the only message the guard ever reads."""
    message = json.dumps({"timeout": timeout, "checks": checks, "cpu_seconds": cpu_seconds})
    try:
        data = message.encode("utf-8")
        while data:
            data = data[os.write(seal_fd, data) :]
    except OSError:
        pass
    finally:
        os.close(seal_fd)


def _supervise(worker: int, seal_fd: int, status_fd: int, lifeline_fd: int, folder: str) -> None:
    pidfd = _pidfd(worker)
    sealed: dict[str, Any] | None = None
    chunks: list[bytes] = []
    deadline: float | None = None
    while True:
        waiting = [seal_fd, lifeline_fd] if seal_fd >= 0 else [lifeline_fd]
        if pidfd is not None:
            waiting.append(pidfd)
        if pidfd is None:  # no pidfd (old kernel, not Linux): poll
            wait = 0.05
        elif deadline is None:
            wait = None
        else:
            wait = max(deadline - time.monotonic(), 0.0)
        ready, _, _ = select.select(waiting, [], [], wait)
        if lifeline_fd in ready:  # nothing is ever written to it: readable means EOF
            _orphaned(folder)
        if seal_fd in ready:
            seal_fd = _read_seal(seal_fd, chunks)
            if seal_fd < 0:
                sealed = _parse_seal(b"".join(chunks))
                if sealed is not None:
                    deadline = time.monotonic() + float(sealed["timeout"]) + DEADLINE_GRACE
        if pidfd is None or pidfd in ready:
            pid, status, usage = os.wait4(worker, os.WNOHANG if pidfd is None else 0)
            if pid == worker:
                while seal_fd >= 0:  # the worker is gone: the rest of its message is in the pipe
                    seal_fd = _read_seal(seal_fd, chunks)
                    sealed = _parse_seal(b"".join(chunks)) if seal_fd < 0 else None
                _report(status_fd, sealed, status, usage.ru_utime + usage.ru_stime, deadline=False)
                return
        if deadline is not None and time.monotonic() >= deadline:
            _report(status_fd, sealed, None, None, deadline=True)
            return


def _read_seal(seal_fd: int, chunks: list[bytes]) -> int:
    """Read what is there; the descriptor, or -1 once the message is complete (EOF) or too long."""
    chunk = os.read(seal_fd, MESSAGE_LIMIT)
    chunks.append(chunk)
    if chunk and sum(map(len, chunks)) <= MESSAGE_LIMIT:
        return seal_fd
    os.close(seal_fd)
    return -1


def _pidfd(pid: int) -> int | None:
    if not hasattr(os, "pidfd_open"):
        return None
    try:
        return os.pidfd_open(pid)
    except OSError:
        return None


def _parse_seal(raw: bytes) -> dict[str, Any] | None:
    try:
        message = json.loads(raw.decode("utf-8"))
        timeout = float(message["timeout"])
        checks = message["checks"]
        cpu = int(message["cpu_seconds"])
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    if not (isinstance(checks, list) and all(isinstance(n, str) for n in checks)):
        return None
    return {"timeout": timeout, "checks": checks, "cpu_seconds": cpu}


def _report(
    status_fd: int, sealed: dict[str, Any] | None, status: int | None, cpu: float | None, *, deadline: bool
) -> None:
    record: dict[str, Any] = {
        "checks": sealed["checks"] if sealed else None,
        "cpu_limit": sealed["cpu_seconds"] if sealed else None,
        "exit": None,
        "signal": None,
        "cpu": cpu,
        "deadline": deadline,
    }
    if status is not None:
        if os.WIFSIGNALED(status):
            record["signal"] = os.WTERMSIG(status)
        elif os.WIFEXITED(status):
            record["exit"] = os.WEXITSTATUS(status)
    data = json.dumps(record).encode("utf-8")
    try:
        while data:
            data = data[os.write(status_fd, data) :]
    except OSError:
        pass  # the CLI is gone or no longer listening: the group is killed all the same


def _main() -> None:
    job_fd, status_fd, result_fd, lifeline_fd = (int(arg) for arg in sys.argv[1:5])
    seal_fd = split(lifeline_fd, status_fd, worker_fds=(job_fd, result_fd), folder=sys.argv[5])
    from drillkit.run import harness  # the worker, from here on

    harness.main(job_fd, result_fd, seal_fd)


if __name__ == "__main__":
    _main()

"""The checker child process, started *before* it knows its job.

Most of a check's time is the child's Python start and `import sqlalchemy`. `drill check`
starts the child first thing (`prestart()`, before Typer is even imported), so those imports
run on the other core while the CLI parses arguments, finds the server and creates the run
schema. Then `take()` hands the child its job over a pipe. A child whose job never comes
(usage error, unreachable database) is killed at exit, and exits by itself on EOF if the
CLI dies first; once it runs learner code, its guard kills it if the CLI dies (guard.py).

The child gets three descriptors: the job pipe (job, then the run's secret token), the
guard's status pipe (how the worker ended; only the guard holds its write end), and an
unnamed result file (the worker's report). Its stdout and stderr are one output file,
capped by RLIMIT_FSIZE, of which the report shows the head.

Only the standard library here: this module is imported before anything else.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from contextlib import suppress
from pathlib import Path

from drillkit.run.env import child_env

TYPE_CHECKING = False  # not typing's: importing typing would delay the child's start
if TYPE_CHECKING:
    from typing import IO

    from drillkit.run.guard import GuardStatus
    from drillkit.run.zygote import Zygote

FOLDER_PREFIX = "drillkit-run-"
_prestarted: Checker | None = None
_take_lock = threading.Lock()
GUARD_STATUS_LIMIT = 64 * 1024


class Checker:
    """One run's checker child: a fresh interpreter (`python -m drillkit.run.guard`), or a
    fork of a zygote (zygote.py) when one is given; the rest of the run is the same."""

    def __init__(self, zygote: Zygote | None = None, base_env: dict[str, str] | None = None) -> None:
        # Named after its owner: a folder whose owner died is found by sweep_orphaned_folders.
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
        try:  # an interrupt in here leaves no folder behind
            self._open(zygote, base_env)
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise

    def _open(self, zygote: Zygote | None, base_env: dict[str, str] | None) -> None:
        self.output_file = self.tmp / "output.txt"
        self.status_file = self.tmp / "status.txt"  # the check running now, for a timeout message
        from drillkit.run import protocol  # deferred like the rest: this module loads before anything

        self.token = protocol.new_token()  # the run's secret: the worker signs its report with it
        # No path for learner code to find: an unnamed file (O_TMPFILE), known by descriptor.
        self._result = tempfile.TemporaryFile(dir=self.tmp)  # noqa: SIM115 (closed in discard)
        job_r, self._job_w = os.pipe()
        self._guard_r, guard_w = os.pipe()
        # The lifeline: nothing is written to it; when its write end (ours alone: os.pipe()
        # descriptors are not inherited) closes, because we are done or dead, the guard
        # kills the run.
        lifeline_r, self._lifeline_w = os.pipe()
        # Temp files of the learner and of checks (e.g. an Alembic script dir) land in our
        # own folder, which discard() removes even after a SIGKILL.
        # The environment of the `drill check` that asked (the check server passes its client's).
        env = {**(child_env() if base_env is None else base_env), "TMPDIR": str(self.tmp)}
        self._proc: subprocess.Popen[bytes] | None = None
        # Read-write: the worker reads back what the learner printed, for the checks. Kept
        # open and read through this descriptor, never by name: learner code can put a FIFO
        # in its place, which an open() here would wait on forever.
        try:
            self._output = self.output_file.open("w+b")  # closed in discard()
            fds = [job_r, guard_w, self._result.fileno(), self._output.fileno(), lifeline_r]
            if zygote is not None:
                self.pid = zygote.fork(fds, env, str(self.tmp))
            else:
                self._proc = self._spawn(fds, env, self._output)
                self.pid = self._proc.pid
        except BaseException:
            for fd in (self._job_w, self._guard_r, self._lifeline_w):
                os.close(fd)
            self._result.close()
            if hasattr(self, "_output"):
                self._output.close()
            raise
        finally:
            for fd in (job_r, guard_w, lifeline_r):
                os.close(fd)
        self._closed = False

    def _spawn(self, fds: list[int], env: dict[str, str], output: IO[bytes]) -> subprocess.Popen[bytes]:
        job_r, guard_w, result, _, lifeline_r = fds
        return subprocess.Popen(
            # -P: no cwd on sys.path; the harness puts the learner's folder there itself.
            [
                sys.executable,
                "-P",
                "-m",
                "drillkit.run.guard",  # it forks the worker, which runs harness.py
                str(job_r),
                str(guard_w),
                str(result),
                str(lifeline_r),
                str(self.tmp),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            pass_fds=(job_r, guard_w, result, lifeline_r),
            start_new_session=True,  # its own process group: we can kill all it spawns
        )

    def send(
        self, pack_id: str, pack_root: Path, slug: str, path: Path, env: dict[str, str], timeout: float
    ) -> None:
        """Give the waiting child its one job, and the token it signs its report with."""
        from drillkit.run import protocol

        job = {
            "pack_id": pack_id,
            "pack_root": str(pack_root),
            "slug": slug,
            "file": str(path),
            "env": env,
            "status": str(self.status_file),
            "timeout": timeout,
        }
        data = protocol.encode_job(job, self.token)
        try:
            while data:
                data = data[os.write(self._job_w, data) :]
        finally:
            os.close(self._job_w)
            self._closed = True

    def guard_status(self) -> GuardStatus | None:
        """What the guard said about the worker's end; None if it never said (killed)."""
        from drillkit.run.guard import GuardStatus

        os.set_blocking(self._guard_r, False)
        parts: list[bytes] = []
        with suppress(OSError):  # BlockingIOError: a guard still alive has not written
            while sum(map(len, parts)) <= GUARD_STATUS_LIMIT:
                chunk = os.read(self._guard_r, GUARD_STATUS_LIMIT)
                if not chunk:
                    break
                parts.append(chunk)
        return GuardStatus.parse(b"".join(parts))

    def report(self) -> bytes:
        """The worker's report, as written: untrusted (protocol.parse_result checks it)."""
        from drillkit.run import protocol

        return protocol.read_result(self._result.fileno())

    def output(self, limit: int) -> tuple[str, int]:
        """The head of what the learner's code printed, and how much it printed in all."""
        from drillkit.run.protocol import decode_output

        try:
            fd = self._output.fileno()
            return decode_output(os.pread(fd, limit, 0)), os.fstat(fd).st_size
        except (OSError, ValueError):
            return "", 0

    def output_tail(self, limit: int) -> str:
        """The end of what the learner's code printed (it may be megabytes)."""
        try:
            fd = self._output.fileno()
            size = os.fstat(fd).st_size
            return os.pread(fd, limit, max(size - limit, 0)).decode("utf-8", errors="replace")
        except (OSError, ValueError):
            return ""

    def wait(self, timeout: float, cancel_fd: int | None = None) -> bool:
        """Wait for the child (the guard) to exit: True; False if `cancel_fd` became
        readable first; raises subprocess.TimeoutExpired.

        Popen.wait(timeout) polls with sleeps of up to 50 ms, which a check would feel on
        every run; a pidfd wakes us the moment the child exits (Linux 5.3+). A zygote's
        fork is not our child: its pidfd is the only way to wait for it.
        """
        if hasattr(os, "pidfd_open"):
            import select

            try:
                pidfd = os.pidfd_open(self.pid)
            except OSError:
                pidfd = None  # an old kernel, or the child is gone already
            if pidfd is not None:
                try:
                    waiting = [pidfd] if cancel_fd is None else [pidfd, cancel_fd]
                    ready, _, _ = select.select(waiting, [], [], timeout)
                finally:
                    os.close(pidfd)
                if not ready:
                    raise subprocess.TimeoutExpired(self.args, timeout)
                if pidfd not in ready:
                    return False
        if self._proc is not None:
            self._proc.wait(timeout=timeout)
        return True

    @property
    def args(self) -> list[str]:
        return self._proc.args if self._proc is not None else ["drillkit zygote fork", str(self.pid)]  # type: ignore[return-value]

    def stop(self) -> None:
        """End a run whose guard still runs (a timeout, a cancel): the guard kills every
        process below it, also one that left the group (setsid), then the group; the group
        kill here is the backstop, should the guard not answer."""
        from drillkit.run.guard import STOP_SIGNAL

        with suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGCONT)  # learner code may have stopped its guard
            os.kill(self.pid, STOP_SIGNAL)
        with suppress(subprocess.TimeoutExpired):
            self.wait(2.0)
        self.kill()

    def kill(self) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        if self._proc is not None:
            self._proc.wait()
        else:
            with suppress(subprocess.TimeoutExpired):
                self.wait(5.0)  # SIGKILL is not refused; the guard is gone in a moment

    def discard(self) -> None:
        """Kill the child if it still runs, and remove its files; a Ctrl-C meanwhile waits."""
        from drillkit.run.interrupts import signals_held

        with signals_held():
            if not self._closed:
                with suppress(OSError):
                    os.close(self._job_w)
                self._closed = True
            # Always the whole group: the learner's own subprocesses outlive a child that exited.
            self.kill()
            for fd in (self._guard_r, self._lifeline_w):
                with suppress(OSError):
                    os.close(fd)
            self._result.close()
            self._output.close()
            shutil.rmtree(self.tmp, ignore_errors=True)


def prestart() -> None:
    global _prestarted
    if _prestarted is None:
        _prestarted = Checker()
        atexit.register(discard_prestarted)


def take() -> Checker:
    """The prestarted child if there is one, else a fresh one."""
    global _prestarted
    with _take_lock:  # checks may run in a pool of threads: one child per check
        checker, _prestarted = _prestarted, None
    return checker if checker is not None else Checker()


def discard_prestarted() -> None:
    """End a prestarted child whose job never came (at exit, or after an in-process run)."""
    global _prestarted
    with _take_lock:
        checker, _prestarted = _prestarted, None
    if checker is not None:
        checker.discard()


def sweep_orphaned_folders() -> int:
    """Remove the run folders (in this temp dir, ours) whose owner died: a check server killed
    after its run's worker had ended leaves its folder, as the guard removes it only while the
    worker still runs. How many it removed."""
    import re
    import stat

    from drillkit.db.server import process_alive

    try:
        entries = list(os.scandir(tempfile.gettempdir()))
    except OSError:
        return 0
    removed = 0
    for entry in entries:
        owner = re.fullmatch(re.escape(FOLDER_PREFIX) + r"(\d+)-\w+", entry.name)
        if owner is None or process_alive(int(owner.group(1))):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid():
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed

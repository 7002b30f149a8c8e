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
    from drillkit.run.guard import GuardStatus

_prestarted: Checker | None = None
_take_lock = threading.Lock()
GUARD_STATUS_LIMIT = 64 * 1024


class Checker:
    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="drillkit-"))
        self.output_file = self.tmp / "output.txt"
        self.status_file = self.tmp / "status.txt"  # the check running now, for a timeout message
        from drillkit.run import protocol  # deferred like the rest: this module loads before anything

        self.token = protocol.new_token()  # the run's secret: the worker signs its report with it
        # No path for learner code to find: an unnamed file (O_TMPFILE), known by descriptor.
        self._result = tempfile.TemporaryFile(dir=self.tmp)  # noqa: SIM115 (closed in discard)
        job_r, self._job_w = os.pipe()
        # PR_SET_PDEATHSIG fires when the *thread* that started the child ends: a Checker is
        # used up (waited for, discarded) by the thread that made it, or by the main thread.
        self._guard_r, guard_w = os.pipe()
        try:
            # Read-write: the worker reads back what the learner printed, for the checks.
            with self.output_file.open("w+b") as output:
                self.proc = subprocess.Popen(
                    # -P: no cwd on sys.path; the harness puts the learner's folder there itself.
                    [
                        sys.executable,
                        "-P",
                        "-m",
                        "drillkit.run.guard",  # it forks the worker, which runs harness.py
                        str(job_r),
                        str(guard_w),
                        str(self._result.fileno()),
                        str(os.getpid()),
                        str(self.tmp),
                    ],
                    # Temp files of the learner and of checks (e.g. an Alembic script dir) land
                    # in our own folder, which discard() removes even after a SIGKILL.
                    env={**child_env(), "TMPDIR": str(self.tmp)},
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=output,
                    pass_fds=(job_r, guard_w, self._result.fileno()),
                    start_new_session=True,  # its own process group: we can kill all it spawns
                )
        finally:
            os.close(job_r)
            os.close(guard_w)
        self._closed = False

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
            with self.output_file.open("rb") as handle:
                return decode_output(handle.read(limit)), os.fstat(handle.fileno()).st_size
        except OSError:
            return "", 0

    def wait(self, timeout: float) -> int:
        """Wait for the child to exit; raises subprocess.TimeoutExpired.

        Popen.wait(timeout) polls with sleeps of up to 50 ms, which a check would feel on
        every run; a pidfd wakes us the moment the child exits (Linux 5.3+).
        """
        if hasattr(os, "pidfd_open"):
            import select

            try:
                pidfd = os.pidfd_open(self.proc.pid)
            except OSError:
                pass  # an old kernel, or the child was already reaped
            else:
                try:
                    ready, _, _ = select.select([pidfd], [], [], timeout)
                finally:
                    os.close(pidfd)
                if not ready:
                    raise subprocess.TimeoutExpired(self.proc.args, timeout)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def discard(self) -> None:
        """Kill the child if it still runs, and remove its files."""
        if not self._closed:
            with suppress(OSError):
                os.close(self._job_w)
            self._closed = True
        # Always the whole group: the learner's own subprocesses outlive a child that exited.
        self.kill()
        with suppress(OSError):
            os.close(self._guard_r)
        self._result.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def prestart() -> None:
    global _prestarted
    if _prestarted is None:
        _prestarted = Checker()
        atexit.register(_discard_unused)


def take() -> Checker:
    """The prestarted child if there is one, else a fresh one."""
    global _prestarted
    with _take_lock:  # checks may run in a pool of threads: one child per check
        checker, _prestarted = _prestarted, None
    return checker if checker is not None else Checker()


def _discard_unused() -> None:
    if _prestarted is not None:
        _prestarted.discard()

"""The checker child process, started *before* it knows its job.

Most of a check's time is the child's Python start and `import sqlalchemy`. `drill check`
starts the child first thing (`prestart()`, before Typer is even imported), so those imports
run on the other core while the CLI parses arguments, finds the server and creates the run
schema. Then `take()` hands the child its job over a pipe. A child whose job never comes
(usage error, unreachable database) is killed at exit, and exits by itself on EOF if the
CLI dies first.

Only the standard library here: this module is imported before anything else.
"""

from __future__ import annotations

import atexit
import json
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

_prestarted: Checker | None = None
_take_lock = threading.Lock()


class Checker:
    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="drillkit-"))
        self.result_file = self.tmp / "result.json"
        self.output_file = self.tmp / "stderr.txt"
        self.status_file = self.tmp / "status.txt"  # the check running now, for a timeout message
        job_r, self._job_w = os.pipe()
        try:
            with self.output_file.open("wb") as output:
                self.proc = subprocess.Popen(
                    # -P: no cwd on sys.path; the harness puts the learner's folder there itself.
                    [sys.executable, "-P", "-m", "drillkit.run.harness", str(job_r)],
                    # Temp files of the learner and of checks (e.g. an Alembic script dir) land
                    # in our own folder, which discard() removes even after a SIGKILL.
                    env={**child_env(), "TMPDIR": str(self.tmp)},
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=output,
                    pass_fds=(job_r,),
                    start_new_session=True,  # its own process group: we can kill all it spawns
                )
        finally:
            os.close(job_r)
        self._closed = False

    def send(self, pack_id: str, pack_root: Path, slug: str, path: Path, env: dict[str, str]) -> None:
        """Give the waiting child its one job."""
        job = {
            "pack_id": pack_id,
            "pack_root": str(pack_root),
            "slug": slug,
            "file": str(path),
            "env": env,
            "result": str(self.result_file),
            "status": str(self.status_file),
        }
        with os.fdopen(self._job_w, "w", encoding="utf-8") as pipe:
            pipe.write(json.dumps(job))
        self._closed = True

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

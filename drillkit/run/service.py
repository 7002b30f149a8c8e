"""Many checks, one set-up: a zygote to fork checker children from and a pool of ready run spaces.

A lone `drill check` starts a fresh interpreter and makes its run schema while it waits
(runner.run_job's defaults). Whoever checks many files — the check server, `drill validate`
and its mutants, the test suite — holds a CheckService instead: each check then forks a
child with SQLAlchemy already imported and takes a seeded schema made ahead of time.
Nothing else changes: a fresh process per learner file, its own throwaway role and
schema, the guard, the limits, the seal, the timeout. If the zygote cannot start, checks
still run, each in a fresh interpreter (`fallback` says why).
"""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import IO

from drillkit.db.server import Database
from drillkit.pack.model import Drill
from drillkit.results import CheckReport, RunOutcome
from drillkit.run import child as checker
from drillkit.run.env import child_env
from drillkit.run.job import RunJob
from drillkit.run.limits_values import DEFAULT_TIMEOUT
from drillkit.run.pool import SpacePool
from drillkit.run.runner import check_file, run_job
from drillkit.run.zygote import Zygote, ZygoteError


class CheckService:
    """Thread-safe; `close()` ends the zygote and drops every ready run space."""

    def __init__(
        self, db: Database, *, per_fixture: int | None = None, stderr: IO[bytes] | int = subprocess.DEVNULL
    ) -> None:
        self.db = db
        self.pool = SpacePool(db) if per_fixture is None else SpacePool(db, per_fixture=per_fixture)
        self._stderr = stderr
        self._lock = threading.Lock()
        self._zygote: Zygote | None = None
        self.fallback: str | None = None  # why checks start fresh interpreters, if they do
        self.checks = 0
        checker.sweep_orphaned_folders()  # what a server killed before us left in the temp dir
        self._start_zygote()

    def _start_zygote(self) -> None:
        try:
            self._zygote = Zygote(child_env(), stderr=self._stderr)
            self.fallback = None
        except (ZygoteError, OSError) as exc:
            self._zygote, self.fallback = None, str(exc)

    def zygote(self) -> Zygote | None:
        """The live zygote; one that died (killed from outside) is started again, once per check."""
        with self._lock:
            if self._zygote is not None and not self._zygote.alive:
                self._zygote.close()
                self._start_zygote()
            return self._zygote

    def run(
        self,
        job: RunJob,
        path: Path,
        timeout: float = DEFAULT_TIMEOUT,
        cancel_fd: int | None = None,
        env: dict[str, str] | None = None,
    ) -> RunOutcome:
        self.checks += 1
        zygote = self.zygote()
        kwargs = {"spaces": self.pool.take, "cancel_fd": cancel_fd, "env": env}
        try:
            return run_job(job, path, self.db, timeout, zygote=zygote, **kwargs)
        except ZygoteError as exc:  # it died between our look and the fork: a fresh child instead
            self.fallback = str(exc)
            return run_job(job, path, self.db, timeout, **kwargs)

    def check(self, drill: Drill, path: Path, timeout: float = DEFAULT_TIMEOUT) -> CheckReport:
        """`runner.check_file`, through this service (the in-process callers' entry)."""
        return check_file(drill, path, self.db, timeout, run=self.run)

    def close(self) -> None:
        with self._lock:
            if self._zygote is not None:
                self._zygote.close()
                self._zygote = None
        self.pool.close()

    def __enter__(self) -> CheckService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""Many checks for one command (`drill validate`, its mutants): through the check server.

The data dir's check server has its zygote and ready run schemas warm already, and stays for
the next `drill check`; a command that checks a hundred files asks it for each one, from as
many threads as it likes. When there is no server to ask (switched off, cannot start, died
mid-check) the rest of the files go through a CheckService of the command's own, as before.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from drillkit.checkserver import client
from drillkit.checkserver.address import disabled
from drillkit.db.server import Database
from drillkit.pack.model import Drill
from drillkit.paths import Paths
from drillkit.results import CheckReport

if TYPE_CHECKING:
    from drillkit.run.service import CheckService


class BatchChecker:
    """Thread-safe; `close()` ends the local CheckService, if one was needed."""

    def __init__(self, paths: Paths, db: Database) -> None:
        disabled()  # a bad DRILL_CHECK_SERVER is one line now, not a failure for every file
        self.paths, self.db = paths, db
        self._lock = threading.Lock()
        self._local: CheckService | None = None
        self._server = True  # until the server fails once: then every file is checked here

    def check(self, drill: Drill, path: Path, timeout: float) -> CheckReport:
        if self._server:
            report = client.check(self.paths, self.db, drill, path, timeout)
            if report is not None:
                return report
            self._server = False
        return self._service().check(drill, path, timeout)

    def _service(self) -> CheckService:
        with self._lock:
            if self._local is None:
                from drillkit.run.service import CheckService

                self._local = CheckService(self.db)  # forks and ready schemas of our own
            return self._local

    def close(self) -> None:
        with self._lock:
            if self._local is not None:
                self._local.close()
                self._local = None

    def __enter__(self) -> BatchChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

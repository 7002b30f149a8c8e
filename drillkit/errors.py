"""The one exception family drillkit raises for the user, and the exit codes it maps to."""

from __future__ import annotations

import signal
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    HUNG_UP = 129  # the terminal closed (SIGHUP)
    INTERRUPTED = 130
    TERMINATED = 143


class DrillkitError(Exception):
    """An error the user can act on: printed as one line, never as a traceback."""

    exit_code: ExitCode = ExitCode.USAGE


class UnknownDrillError(DrillkitError):
    pass


class LearnerFileError(DrillkitError):
    pass


class UnknownSkillError(DrillkitError):
    pass


class NotDueError(DrillkitError):
    """`drill review N` for a drill that has no review open."""


class ConfigError(DrillkitError):
    pass


class DatabaseUnavailableError(DrillkitError):
    def __init__(self, reason: str, fix: str | None = None) -> None:
        # One line for the learner: what went wrong, then what to do about it.
        super().__init__(f"{reason}; {fix}" if fix else reason)
        self.reason = reason
        self.fix = fix


class ProgressFileError(DrillkitError):
    pass


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM arrived. A BaseException, like KeyboardInterrupt, so that no
    `except Exception` on the way (in drillkit or a library) can swallow it."""

    def __init__(self, signum: int) -> None:
        codes = {signal.SIGINT: ExitCode.INTERRUPTED, signal.SIGHUP: ExitCode.HUNG_UP}
        self.exit_code = codes.get(signum, ExitCode.TERMINATED)
        self.signum = signum
        super().__init__("interrupted")

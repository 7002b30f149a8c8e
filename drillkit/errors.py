"""The one exception family drillkit raises for the user, and the exit codes it maps to."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
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
    pass


class ProgressFileError(DrillkitError):
    pass


class Interrupted(DrillkitError):
    """Ctrl-C or SIGTERM arrived; cleanup already ran."""

    def __init__(self, signum: int) -> None:
        self.exit_code = ExitCode.INTERRUPTED if signum == 2 else ExitCode.TERMINATED
        super().__init__("interrupted; the check was stopped and its schema dropped")

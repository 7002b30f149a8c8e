"""What a check run produces. Built in the child process, sent to the CLI as JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

# "error": the checker (drillkit or the pack) failed, not the learner; never recorded as an attempt.
CheckStatus = Literal["passed", "failed", "skipped", "error"]

# The check every drill starts with, reported by the run itself rather than by a pack.
FIRST_CHECK = "your file runs without errors"


@dataclass
class CheckResult:
    """One line of a report; a failure carries why, expected, actual and a hint (like check50)."""

    name: str
    status: CheckStatus
    rationale: str | None = None
    expected: str | None = None
    actual: str | None = None
    help: str | None = None
    sql: str | None = None
    note: str | None = None
    key: str | None = None  # the check function's name: what a pack's hints point at


@dataclass
class RunOutcome:
    results: list[CheckResult]
    output: str = ""
    output_truncated: bool = False
    statements: list[str] = field(default_factory=list)
    check_statements: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunOutcome:
        return cls(
            results=[CheckResult(**r) for r in data["results"]],
            output=data.get("output", ""),
            output_truncated=bool(data.get("output_truncated")),
            statements=list(data.get("statements", [])),
            check_statements=list(data.get("check_statements", [])),
        )


@dataclass
class CheckReport:
    """The whole answer to `drill check N`, as the renderer and `--json` see it."""

    drill: int
    slug: str
    title: str
    file: str
    results: list[CheckResult]
    output: str = ""
    output_truncated: bool = False
    untouched_starter: bool = False
    seconds: float = 0.0
    statements: list[str] = field(default_factory=list)  # sent while your file ran
    check_statements: list[str] = field(default_factory=list)  # sent while checks called your code
    pack: str = ""
    ref: str = ""  # how to name the drill in a command: "3", or "practice:upsert" from another pack

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.status == "passed" for r in self.results)

    @property
    def checker_failed(self) -> bool:
        """A check broke on its own: the run says nothing about the learner's answer."""
        return any(r.status == "error" for r in self.results)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        return data


def not_run(names: list[str], why: str = "your file has to run first") -> list[CheckResult]:
    """The drill's checks, skipped because the learner's file did not get through."""
    return [CheckResult(name, "skipped", rationale=why) for name in names]

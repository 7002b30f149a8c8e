"""What a check run produces. Built in the child process, sent to the CLI as JSON.

The child runs learner code, so what it sends is untrusted input: `RunOutcome.from_untrusted`
accepts only the exact shape the child writes, and says why anything else was refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, get_args

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
    def from_untrusted(cls, data: object, expected_checks: Sequence[str] | None) -> RunOutcome:
        """The child's report, checked field by field; raises UntrustedResult.

        `expected_checks`: the drill's check names the child sealed before learner code ran
        (None if it never got that far: then nothing may have passed). The output is not part
        of the report: the parent reads it from the output file itself.
        """
        if not isinstance(data, dict) or set(data) != CHILD_KEYS:
            raise UntrustedResult(f"the report has keys {_keys(data)}, not {sorted(CHILD_KEYS)}")
        results = [_check_result(item) for item in _list(data["results"], "results")]
        names = [r.name for r in results]
        # The worker's own failure before it could list the checks: nothing in it can pass.
        lone_error = names == [FIRST_CHECK] and results[0].status == "error"
        if expected_checks is not None and names != [FIRST_CHECK, *expected_checks] and not lone_error:
            raise UntrustedResult("the report does not list the drill's checks in order")
        passed = [r.name for r in results if r.status == "passed"]
        if passed and (expected_checks is None or results[0].status != "passed"):
            raise UntrustedResult(f"«{passed[0]}» passed although the run could not have reached it")
        return cls(
            results,
            statements=[_text(s, "statement") for s in _list(data["statements"], "statements")],
            check_statements=[_text(s, "statement") for s in _list(data["check_statements"], "statements")],
        )

    @classmethod
    def from_json(cls, data: object) -> RunOutcome:
        """What the check server sent (to_json's shape); raises UntrustedResult on anything else."""
        if not isinstance(data, dict) or set(data) != OUTCOME_KEYS:
            raise UntrustedResult(f"the outcome has keys {_keys(data)}")
        truncated = data["output_truncated"]
        if not isinstance(truncated, bool):
            raise UntrustedResult("output_truncated is not a boolean")
        return cls(
            [_check_result(item) for item in _list(data["results"], "results")],
            output=_text(data["output"], "output"),
            output_truncated=truncated,
            statements=[_text(s, "statement") for s in _list(data["statements"], "statements")],
            check_statements=[_text(s, "statement") for s in _list(data["check_statements"], "statements")],
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


def not_run(checks: Sequence[Any], why: str = "your file has to run first") -> list[CheckResult]:
    """The drill's checks (each a name, or a Check with its key), skipped because the
    learner's file did not get through; the key lets a known answer's header name them."""
    return [
        CheckResult(c, "skipped", rationale=why)
        if isinstance(c, str)
        else CheckResult(c.name, "skipped", rationale=why, key=c.key)
        for c in checks
    ]


class UntrustedResult(ValueError):
    """The child's report is not what drillkit's child writes: treated as tampering."""


# What the child sends; `output`/`output_truncated` are read by the parent from the file.
CHILD_KEYS = frozenset({"results", "statements", "check_statements"})
OUTCOME_KEYS = CHILD_KEYS | {"output", "output_truncated"}
_RESULT_FIELDS = {f.name for f in fields(CheckResult)}
_STATUSES = frozenset(get_args(CheckStatus))


def _keys(data: object) -> str:
    return str(sorted(map(str, data))[:10]) if isinstance(data, dict) else type(data).__name__


def _list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise UntrustedResult(f"{what} is a {type(value).__name__}, not a list")
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise UntrustedResult(f"a {what} is a {type(value).__name__}, not text")
    return value  # kept exact, lone surrogates included: the renderer escapes what it prints


def _check_result(item: object) -> CheckResult:
    if not isinstance(item, dict) or not {"name", "status"} <= set(item) <= _RESULT_FIELDS:
        raise UntrustedResult(f"a check result has keys {_keys(item)}")
    if not isinstance(item["status"], str) or item["status"] not in _STATUSES:
        raise UntrustedResult(f"unknown check status {str(item['status'])[:40]!r}")
    values = {
        key: None if value is None and key not in ("name", "status") else _text(value, key)
        for key, value in item.items()
    }
    return CheckResult(**values)

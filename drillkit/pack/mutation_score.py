"""The mutation score of a drill's checks: how many of the reference's mutants they reject.

Runner-agnostic: `score()` takes a `run(source) -> Outcome` callable that checks one mutant's
whole file however the caller likes (today: a temp file through `runner.check_file`), and
calls it from a bounded pool of threads. That suits a `run()` whose work happens in a child
process and a database, as a check's does; the threads only wait.

score = killed / (mutants - equivalent). A mutant is *killed* when a check fails on it, or
it crashes or times out (the checks reject it either way); it *survives* when every check
passes. A mutant the pack marks *equivalent* (`{id: reason}`: the edit leaves the answer
correct) counts on neither side; it is still run, because a check that rejects a correct
answer is a defect too (`equivalent_killed`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Literal

from drillkit.pack.mutants import Mutant, generate
from drillkit.results import FIRST_CHECK, CheckReport

Status = Literal["killed", "survived", "crashed", "timeout"]


@dataclass(frozen=True)
class Outcome:
    status: Status
    check: str | None = None  # the first check that failed, for "killed"

    @property
    def killed(self) -> bool:
        return self.status != "survived"


def outcome_of(report: CheckReport) -> Outcome:
    """A `drill check` report as a mutant's outcome."""
    if report.passed:
        return Outcome("survived")
    failed = next((r for r in report.results if r.status != "passed"), None)
    if failed is None:  # no results at all: nothing accepted the mutant
        return Outcome("crashed")
    if failed.name == FIRST_CHECK:
        # runner.py's wording for a run it stopped at the time limit.
        timed_out = (failed.rationale or "").startswith("your code was still running after")
        return Outcome("timeout" if timed_out else "crashed", failed.name)
    return Outcome("killed", failed.name)


@dataclass(frozen=True)
class MutantResult:
    mutant: Mutant
    outcome: Outcome
    equivalent: str | None = None  # the pack's reason, when it marks this mutant equivalent

    @property
    def survived(self) -> bool:
        """A wrong answer the checks let through (not counting ones marked equivalent)."""
        return not self.outcome.killed and self.equivalent is None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.mutant.id,
            "operator": self.mutant.operator,
            "description": self.mutant.description,
            "line": self.mutant.line,
            "status": self.outcome.status,
            "check": self.outcome.check,
            "equivalent": self.equivalent,
            "diff": self.mutant.diff,
        }


def _ratio(killed: int, counted: int) -> float | None:
    return killed / counted if counted else None  # no mutants: no score, rather than 100 %


@dataclass(frozen=True)
class DrillScore:
    drill: str
    results: tuple[MutantResult, ...]
    unknown_equivalent: tuple[str, ...] = ()  # marked equivalent, but no mutant has that id
    seconds: float = 0.0
    # Why the reference solution itself fails its checks: then no mutant is run (each would
    # "survive" or die for the reference's bug, not for the checks' strength).
    reference_fails: str | None = None

    @property
    def mutants(self) -> int:
        return len(self.results)

    @property
    def equivalent(self) -> int:
        return sum(r.equivalent is not None for r in self.results)

    @property
    def killed(self) -> int:
        return sum(r.outcome.killed and r.equivalent is None for r in self.results)

    @property
    def survivors(self) -> list[MutantResult]:
        return [r for r in self.results if r.survived]

    @property
    def equivalent_killed(self) -> list[MutantResult]:
        """Marked equivalent (still correct), yet a check rejects them: a check or a mark is wrong."""
        return [r for r in self.results if r.equivalent is not None and r.outcome.killed]

    @property
    def score(self) -> float | None:
        return _ratio(self.killed, self.mutants - self.equivalent)

    def to_json(self) -> dict[str, Any]:
        return {
            "drill": self.drill,
            "score": self.score,
            "mutants": self.mutants,
            "killed": self.killed,
            "survived": len(self.survivors),
            "equivalent": self.equivalent,
            "survivors": [r.to_json() for r in self.survivors],
            "equivalent_killed": [r.to_json() for r in self.equivalent_killed],
            "unknown_equivalent": list(self.unknown_equivalent),
            "reference_fails": self.reference_fails,
            "seconds": round(self.seconds, 3),
            "results": [r.to_json() for r in self.results],
        }


@dataclass(frozen=True)
class MutationReport:
    """Several drills' scores (a pack's), and the total over all their mutants."""

    drills: tuple[DrillScore, ...]

    @property
    def mutants(self) -> int:
        return sum(d.mutants for d in self.drills)

    @property
    def equivalent(self) -> int:
        return sum(d.equivalent for d in self.drills)

    @property
    def killed(self) -> int:
        return sum(d.killed for d in self.drills)

    @property
    def survived(self) -> int:
        return sum(len(d.survivors) for d in self.drills)

    @property
    def score(self) -> float | None:
        return _ratio(self.killed, self.mutants - self.equivalent)

    def below(self, threshold: float) -> list[DrillScore]:
        """The drills that fail `threshold`: a score under it, or a reference that fails."""
        return [
            d
            for d in self.drills
            if d.reference_fails is not None or (d.score is not None and d.score < threshold)
        ]

    def passed(self, threshold: float) -> bool:
        """Every drill and the whole pack at `threshold` or above (no mutants: nothing to fail)."""
        return not self.below(threshold) and (self.score is None or self.score >= threshold)

    def to_json(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "mutants": self.mutants,
            "killed": self.killed,
            "survived": self.survived,
            "equivalent": self.equivalent,
            "seconds": round(sum(d.seconds for d in self.drills), 3),
            "drills": [d.to_json() for d in self.drills],
        }


def score(
    mutants: Iterable[Mutant],
    run: Callable[[str], Outcome],
    *,
    equivalent: Mapping[str, str] | None = None,
    workers: int | None = None,
    drill: str = "",
    on_result: Callable[[MutantResult], None] | None = None,
) -> DrillScore:
    """Run every mutant through `run` (at most `workers` at once) and score the drill.

    `run` raising is not a kill: it means the machinery failed (the database went away), so
    the exception propagates once the runs already started have ended; the rest never start.
    `on_result` is called (on the calling thread) as each mutant's outcome comes in.
    """
    mutants = list(mutants)
    equivalent = dict(equivalent or {})
    workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
    started = time.monotonic()
    outcomes: dict[int, Outcome] = {}

    def record(index: int, outcome: Outcome) -> None:
        outcomes[index] = outcome
        if on_result is not None:
            on_result(MutantResult(mutants[index], outcome, equivalent.get(mutants[index].id)))

    if workers == 1:  # in the calling thread: the runner's own signal handling stays in force
        for index, mutant in enumerate(mutants):
            record(index, run(mutant.source))
    else:
        _run_pool(mutants, run, workers, record)
    results = tuple(MutantResult(m, outcomes[i], equivalent.get(m.id)) for i, m in enumerate(mutants))
    known = {m.id for m in mutants}
    return DrillScore(
        drill=drill,
        results=results,
        unknown_equivalent=tuple(sorted(set(equivalent) - known)),
        seconds=time.monotonic() - started,
    )


def _run_pool(
    mutants: list[Mutant],
    run: Callable[[str], Outcome],
    workers: int,
    record: Callable[[int, Outcome], None],
) -> None:
    # Submitting only `workers` at a time (not all up front) means an error or Ctrl-C stops
    # new runs at once; the running ones finish and clean up after themselves.
    # A second Ctrl-C while the running ones end is ignored, or it would leave their schemas;
    # none lands inside submit(), where it can leave a thread unknown to the pool's wait.
    from drillkit.run.interrupts import signals_as_interrupts, signals_held

    pending = iter(enumerate(mutants))
    running: dict[Future[Outcome], int] = {}
    threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mutant")
    with signals_as_interrupts(), threads as pool:

        def submit_next() -> None:
            for index, mutant in pending:
                with signals_held():
                    running[pool.submit(run, mutant.source)] = index
                return

        for _ in range(workers):
            submit_next()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index = running.pop(future)
                record(index, future.result())  # raises run()'s error: `with` waits for the rest
                submit_next()


def mutate_and_score(
    solution_text: str,
    run: Callable[[str], Outcome],
    equivalent: Mapping[str, str] | None = None,
    workers: int | None = None,
    *,
    drill: str = "",
    filename: str = "solution.py",
    on_result: Callable[[MutantResult], None] | None = None,
) -> DrillScore:
    """Mutate a reference solution and score the drill's checks on its mutants."""
    mutants = list(generate(solution_text, filename=filename))
    return score(mutants, run, equivalent=equivalent, workers=workers, drill=drill, on_result=on_result)

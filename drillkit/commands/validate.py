"""`drill validate [PATH]`: run a pack's format checks and every known answer through the checker."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from drillkit.errors import ConfigError
from drillkit.pack.model import Drill, Pack
from drillkit.pack.mutation_score import DrillScore, MutantResult, MutationReport, Outcome
from drillkit.pack.text import pack_file_text
from drillkit.pack.validate import Case, CaseResult, Validation, validate
from drillkit.paths import Paths
from drillkit.results import CheckReport


def pack_root(paths: Paths, target: str | None) -> Path:
    """A folder with a pack.yaml, or the id of a pack drillkit knows (default: the current
    folder if it is a pack, else the active pack)."""
    from drillkit.pack.catalog import active_id, find_source, installed_path

    if target is None:
        if Path("pack.yaml").is_file():
            return Path.cwd()
        target = active_id(paths)
    path = Path(target).expanduser()
    if path.is_dir():
        if not (path / "pack.yaml").exists():
            raise ConfigError(
                f"{path} is not a drill pack: it has no pack.yaml (`drill new {path}` makes one)"
            )
        return path.absolute()
    if os.sep in target or target.startswith("."):
        if path.exists():
            raise ConfigError(f"{target} is not a folder: a pack is the folder that holds pack.yaml")
        raise ConfigError(f"no such folder: {target}")
    source = find_source(paths, target)
    return source.path if source.path is not None else installed_path(source.id)


def validate_pack(
    paths: Paths,
    target: str | None,
    *,
    only: str | None = None,
    behaviour: bool = True,
    timeout: float = 30.0,
    workers: int | None = None,
    progress: Callable[[CaseResult], None] = lambda r: None,
) -> Validation:
    root = pack_root(paths, target)
    if not behaviour:
        return validate(root, None, only=only)
    from drillkit.checkserver.batch import BatchChecker
    from drillkit.db import control, idle

    with idle.in_use(paths.locks):  # the idle watchdog never stops the server under a run
        checker = BatchChecker(paths, control.resolve(paths))  # the check server: many files to check

        def check(case: Case) -> CheckReport:
            return checker.check(case.drill, case.file, timeout)

        with checker:
            return validate(
                root, check, only=only, workers=workers or max(2, os.cpu_count() or 2), progress=progress
            )


def mutation_report(
    paths: Paths,
    target: str | None,
    *,
    only: str | None = None,
    timeout: float = 10.0,
    workers: int | None = None,
    on_result: Callable[[MutantResult], None] = lambda r: None,
) -> tuple[Pack, MutationReport]:
    """Derive wrong answers from each reference solution and run the drill's checks on every one."""
    import tempfile

    from drillkit.checkserver.batch import BatchChecker
    from drillkit.db import control, idle
    from drillkit.pack.load import load_pack
    from drillkit.pack.mutation_score import mutate_and_score, outcome_of

    pack = load_pack(pack_root(paths, target))
    drills = pack.chosen(only)
    scores = []
    with (
        idle.in_use(paths.locks),
        tempfile.TemporaryDirectory(prefix="drillkit-mutants-") as tmp,
        BatchChecker(paths, control.resolve(paths)) as checker,
    ):
        for drill in drills:

            def run(source: str, drill: Drill = drill) -> Outcome:
                # Named after the mutant's text: unique per mutant, and threads never share a file.
                digest = hashlib.sha1(source.encode()).hexdigest()[:12]
                path = Path(tmp) / f"{drill.slug}_{digest}.py"
                path.write_text(source, encoding="utf-8")
                try:
                    return outcome_of(checker.check(drill, path, timeout))
                finally:
                    path.unlink(missing_ok=True)

            marks = {m: why for slug, m, why in pack.equivalent if slug == drill.slug}
            solution = pack_file_text(drill, drill.solution_path, "reference solution")
            broken = _reference_fails(checker.check(drill, drill.solution_path, timeout))
            if broken is not None:
                scores.append(DrillScore(drill=drill.slug, results=(), reference_fails=broken))
                continue
            scores.append(
                mutate_and_score(
                    solution,
                    run,
                    marks,
                    workers or max(2, os.cpu_count() or 2),
                    drill=drill.slug,
                    filename=drill.solution_path.name,
                    on_result=on_result,
                )
            )
    return pack, MutationReport(tuple(scores))


def _reference_fails(report: CheckReport) -> str | None:
    """Why the reference solution fails its own checks (the first check it fails), or None."""
    if report.passed:
        return None
    failed = next((r for r in report.results if r.status != "passed"), None)
    if failed is None:
        return "no check ran"
    return f"«{failed.name}»: {failed.rationale or failed.status}"

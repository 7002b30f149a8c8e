"""`drill validate [PATH]`: run a pack's format checks and every known answer through the checker."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from drillkit.errors import ConfigError
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
        if not (path / "pack.yaml").is_file():
            raise ConfigError(
                f"{path} is not a drill pack: it has no pack.yaml (`drill new {path}` makes one)"
            )
        return path.absolute()
    if os.sep in target or target.startswith("."):
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
        return validate(root, None)
    from drillkit.db import control, idle
    from drillkit.run.runner import check_file

    with idle.in_use(paths.locks):  # the idle watchdog never stops the server under a run
        db = control.resolve(paths)

        def check(case: Case) -> CheckReport:
            return check_file(case.drill, case.file, db, timeout=timeout)

        return validate(
            root, check, only=only, workers=workers or max(2, os.cpu_count() or 2), progress=progress
        )

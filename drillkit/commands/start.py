"""`drill start N`: write the starter into the workspace, never over an attempt."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drillkit import progress
from drillkit.attempts import remembered_attempt, workspace_file
from drillkit.errors import LearnerFileError
from drillkit.pack.model import Drill
from drillkit.pack.text import starter_text
from drillkit.paths import Paths
from drillkit.store import shown


@dataclass(frozen=True)
class Started:
    drill: Drill
    path: Path
    created: bool  # False: an attempt was already there and was left alone
    earlier: Path | None = None  # an attempt elsewhere (another workspace), left alone


def start_drill(paths: Paths, drill: Drill) -> Started:
    path = workspace_file(paths, drill)
    text = starter_text(drill)  # first: a pack file gone missing must leave no empty attempt
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # mkdir says so when the workspace (or a parent) is a file
        raise LearnerFileError(f"the workspace {shown(paths.workspace)} is not a directory") from None
    except OSError as exc:
        raise LearnerFileError(
            f"cannot create the workspace {shown(paths.workspace)}: {exc.strerror}"
        ) from None
    try:
        # "x" mode: never overwrite an attempt, even if two commands race.
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        if not path.is_file():  # a directory or a FIFO by that name is no attempt to keep
            raise LearnerFileError(f"{shown(path)} exists but is not a regular file; move it away") from None
        return Started(drill, path, created=False)
    except OSError as exc:
        raise LearnerFileError(f"cannot write {shown(path)}: {exc.strerror}") from None
    earlier = remembered_attempt(paths, drill)
    progress.update(paths.progress_file, lambda p: setattr(p.of(drill), "file", str(path)))
    return Started(drill, path, created=True, earlier=earlier if earlier != path else None)

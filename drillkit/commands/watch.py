"""`drill watch`: re-check on every save, and follow the learner from drill to drill."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from drillkit.attempts import attempt_path
from drillkit.commands.check import Checked, check_drill
from drillkit.commands.listing import list_drills
from drillkit.commands.start import start_drill
from drillkit.errors import LearnerFileError
from drillkit.pack.model import Drill, Pack
from drillkit.paths import Paths


@dataclass(frozen=True)
class Watching:
    drill: Drill
    path: Path
    moved_on: bool  # True: the previous drill passed and this one is next


@dataclass(frozen=True)
class FileProblem:
    message: str


@dataclass(frozen=True)
class AllDone:
    pass


Event = Watching | Checked | FileProblem | AllDone


def file_changes(folder: Path) -> Iterator[set[Path]]:
    """Sets of changed files as soon as a save settles; an empty set every half second,
    so a save made before the watcher was ready is still noticed."""
    import watchfiles

    for changes in watchfiles.watch(
        folder, debounce=200, step=30, rust_timeout=500, yield_on_timeout=True, raise_interrupt=True
    ):
        yield {Path(p).resolve() for _, p in changes}


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


def watch(
    paths: Paths,
    pack: Pack,
    drill: Drill | None,
    timeout: float,
    show: Callable[[Event], None],
    changes: Iterable[set[Path]] | None = None,
) -> None:
    """Check now and after every save. Without a drill, follow the first unfinished one."""
    follow = drill is None
    target = drill or list_drills(paths, pack).next_drill
    if target is None:
        show(AllDone())
        return
    _focus(paths, target, show, moved_on=False)
    stream = iter(changes if changes is not None else file_changes(paths.workspace))
    checked: tuple[int, int, int] | None = None
    pending = True  # check once at start, then whenever the file differs from what was checked
    while True:
        path = attempt_path(paths, target)
        if pending:
            checked = _signature(path)
            if _check(paths, target, timeout, show) and follow:
                nxt = list_drills(paths, pack).next_drill
                if nxt is None:
                    show(AllDone())
                    return
                target = nxt
                _focus(paths, target, show, moved_on=True)
                path = attempt_path(paths, target)
                checked = _signature(path)  # a fresh starter: wait for the learner's save
        if next(stream, None) is None:
            return
        pending = _signature(path) != checked


def _focus(paths: Paths, drill: Drill, show: Callable[[Event], None], *, moved_on: bool) -> None:
    start_drill(paths, drill)  # never overwrites an attempt
    show(Watching(drill, attempt_path(paths, drill), moved_on))


def _check(paths: Paths, drill: Drill, timeout: float, show: Callable[[Event], None]) -> bool:
    try:
        checked = check_drill(paths, drill, None, timeout)
    except LearnerFileError as exc:  # deleted or renamed while we watch: wait for it
        show(FileProblem(str(exc)))
        return False
    show(checked)
    return checked.report.passed

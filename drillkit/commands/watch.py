"""`drill watch`: re-check on every save, and follow the learner from drill to drill."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from drillkit.attempts import attempt_path, is_untouched_starter
from drillkit.commands.check import Checked, check_drill
from drillkit.commands.listing import list_drills
from drillkit.commands.start import start_drill
from drillkit.errors import LearnerFileError
from drillkit.pack.model import Drill, Pack
from drillkit.paths import Paths


@dataclass(frozen=True)
class Watching:
    """A drill is in focus and no check has run on it yet: its task screen."""

    drill: Drill
    path: Path
    moved_on: bool  # True: the previous drill passed and this one is next
    created: bool = False  # its starter was written just now


@dataclass(frozen=True)
class Waiting:
    """After a check that did not end the watch: the same file is watched for the next save."""

    path: Path


@dataclass(frozen=True)
class FileProblem:
    message: str


@dataclass(frozen=True)
class AllDone:
    pass


Event = Watching | Waiting | Checked | FileProblem | AllDone


def file_changes(folder: Path) -> Iterator[set[Path]]:
    """Sets of changed files as soon as a save settles; an empty set every half second,
    so a save made before the watcher was ready is still noticed.

    A save is yielded once `step` ms pass without a new event, which watchfiles looks at every
    `step` ms: one to two steps after the save. 10 ms keeps that a small part of save → result
    (30 ms made it a third) and still groups an editor's write-then-rename into one check."""
    import watchfiles

    for changes in watchfiles.watch(
        folder, debounce=200, step=10, rust_timeout=500, yield_on_timeout=True, raise_interrupt=True
    ):
        yield {Path(p).resolve() for _, p in changes}


SETTLE_SECONDS = 0.15  # how long an emptied file may stay empty before it is checked as such


def _settle(path: Path) -> None:
    """An editor that saves in place truncates first, then writes: a file seen empty is
    given a moment to fill, so the half-done save is not checked (and counted) on its own."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        sig = _signature(path)
        if sig is not None and sig[1] > 0:
            return
        time.sleep(0.01)


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
    """Check now and after every save. Without a drill, follow the first unfinished one.

    A drill whose file is still the untouched starter is not checked at first: its task is
    shown instead (as after moving on), and the first save runs the first check.
    """
    follow = drill is None
    target = drill or list_drills(paths, pack).next_drill
    if target is None:
        show(AllDone())
        return
    path, checked, untouched = _focus(paths, target, show, moved_on=False)
    pending = not untouched
    stream = iter(changes if changes is not None else file_changes(paths.workspace))
    while True:
        if pending:
            _settle(path)
            checked = _signature(path)
            passed = _check(paths, target, timeout, show)
            nxt = list_drills(paths, pack).next_drill if passed and follow else target
            if nxt is None:
                show(AllDone())
                return
            if nxt is target:
                show(Waiting(path))
            else:
                target = nxt
                path, checked, _ = _focus(paths, target, show, moved_on=True)  # wait for a save
        if next(stream, None) is None:
            return
        path = attempt_path(paths, target)  # a review may have opened meanwhile
        pending = _signature(path) != checked


def _focus(
    paths: Paths, drill: Drill, show: Callable[[Event], None], *, moved_on: bool
) -> tuple[Path, tuple[int, int, int] | None, bool]:
    """Scaffold the drill if needed and show its task screen if there is nothing to check yet.

    Returns its file, that file's signature and whether it is the untouched starter. The
    signature is taken before anything is shown: a save made the moment the learner sees
    the screen must count as a change.
    """
    created = start_drill(paths, drill).created  # never overwrites an attempt
    path = attempt_path(paths, drill)
    signature = _signature(path)
    untouched = is_untouched_starter(path, drill)
    if moved_on or untouched:
        show(Watching(drill, path, moved_on, created))
    return path, signature, untouched


def _check(paths: Paths, drill: Drill, timeout: float, show: Callable[[Event], None]) -> bool:
    try:
        checked = check_drill(paths, drill, None, timeout)
    except LearnerFileError as exc:  # deleted or renamed while we watch: wait for it
        show(FileProblem(str(exc)))
        return False
    show(checked)
    return checked.report.passed

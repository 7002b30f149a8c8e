"""Hostile files and settings: each ends as one `drill: error:` line (exit 2) or a failed
check (exit 1), never a traceback, a hang or a flood; nothing is lost, nothing is left.

The CLI runs in-process (`drillkit.__main__.main`) where the process boundary is not the
point, and as a subprocess where it is (a hang, memory, what the terminal receives).
Read-only cases run drill as a non-root user: root ignores file modes.
"""

from __future__ import annotations

import io
import json
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import pytest
from rich.console import Console

from drillkit import progress, render, store
from drillkit.commands.check import Checked
from drillkit.db import server as database
from drillkit.errors import LearnerFileError, ProgressFileError
from drillkit.progress import DrillProgress, PackProgress
from drillkit.results import CheckReport, CheckResult
from drillkit.retention.schedule import CardState, ReviewState
from tests.conftest import (
    REPO,
    Learner,
    Result,
    builtin_pack,
    copy_within_reach,
    ensure_os_user,
    run_in_process,
)

SOLUTION = REPO / "solutions" / "sqlalchemy" / "select.py"
DRILL = builtin_pack().get("3")
GOOD_TIME = "2026-04-01T10:00:00.000000+00:00"


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("drill: error: "), stderr
    return lines[0]


def one_warning(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("warning: "), stderr
    return lines[0]


# --- the CLI in-process ---------------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> InProcess:
    for key in [k for k in os.environ if k.startswith("DRILL_") and k != "DRILL_DATABASE_URL"]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("DRILL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DRILL_PROGRESS", str(tmp_path / "progress.json"))
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)
    return InProcess()


class InProcess:
    """`drill ARGS` in this process (conftest.run_in_process), with the environment and
    folder as the test has set them with monkeypatch."""

    def __call__(self, *args: str) -> Result:
        return run_in_process(list(args), Path.cwd(), dict(os.environ), None)


# --- A. learner files -----------------------------------------------------------------


def _limit_memory() -> None:
    # A regression (reading /dev/zero to the end) must fail this test, not the machine.
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def _drill_bounded(learner: Learner, *args: str, timeout: float = 60) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "drillkit", *args],
        cwd=learner.cwd,
        env=learner.env,
        capture_output=True,
        text=True,
        timeout=timeout,  # a FIFO that hangs fails here
        stdin=subprocess.DEVNULL,
        preexec_fn=_limit_memory,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def _hostile_learner_file(kind: str, tmp_path: Path) -> Path:
    if kind == "fifo":
        path = tmp_path / "fifo.py"
        os.mkfifo(path)
        return path
    if kind == "symlink to /dev/zero":
        path = tmp_path / "zero.py"
        path.symlink_to("/dev/zero")
        return path
    if kind == "over 1 MiB":
        path = tmp_path / "big.py"
        path.write_bytes(b"x = 1\n" * (store.LEARNER_FILE_LIMIT // 6 + 1))
        return path
    if kind == "component over 255":
        return tmp_path / ("a" * 300 + ".py")
    if kind == "path over 4096":
        return Path("/" + "a/" * 2100 + "x.py")
    return Path(kind)


HOSTILE_FILES = [
    "/dev/zero",
    "symlink to /dev/zero",
    "fifo",
    "/proc/self/mem",
    "component over 255",
    "path over 4096",
    "over 1 MiB",
]


@pytest.mark.parametrize("kind", HOSTILE_FILES)
def test_hostile_learner_file_is_one_line_exit_2(learner: Learner, tmp_path: Path, kind: str) -> None:
    path = _hostile_learner_file(kind, tmp_path)
    started = time.monotonic()
    result = _drill_bounded(learner, "check", "3", "--file", str(path), "--timeout", "2")
    assert result.code == 2, result.stdout + result.stderr
    line = one_error_line(result.stderr)
    assert len(line) < 400  # a 4 KiB path is shortened, not echoed
    assert time.monotonic() - started < 30
    assert not Path(learner.env["DRILL_PROGRESS"]).exists()  # nothing was recorded


@pytest.mark.parametrize("kind", ["fifo", "over 1 MiB"])
def test_hostile_workspace_file_is_one_line_exit_2(learner: Learner, kind: str) -> None:
    (learner.workspace / DRILL.pack_id).mkdir(parents=True)
    made = _hostile_learner_file(kind, learner.workspace)
    made.rename(learner.workspace / DRILL.pack_id / DRILL.filename)
    for args in (("check", "3", "--timeout", "2"), ("reveal", "3", "--yes")):
        result = _drill_bounded(learner, *args)
        assert result.code == 2, (args, result.stdout, result.stderr)
        assert "03_select.py" in one_error_line(result.stderr)


def test_every_reader_of_the_learner_file_is_safe(tmp_path: Path) -> None:
    """The checker child, the untouched-starter and reference tests: none hangs on a FIFO."""
    from drillkit.attempts import is_untouched_starter
    from drillkit.commands.check import is_reference
    from drillkit.run.harness import _load_source

    drill = DRILL
    fifo = _hostile_learner_file("fifo", tmp_path)
    big = _hostile_learner_file("over 1 MiB", tmp_path)
    for path in (fifo, big, Path("/dev/zero")):
        code, failure = _load_source(path)
        assert code is None and failure is not None and failure.status == "failed"
        assert failure.rationale == "your file could not be read"
        assert not is_untouched_starter(path, drill)
        assert not is_reference(drill, path)
    with pytest.raises(LearnerFileError, match="not a regular file"):
        store.read_learner_file(fifo)


def test_start_keeps_no_fake_attempt_in_a_fifo(cli: InProcess, tmp_path: Path) -> None:
    (tmp_path / "drillwork" / DRILL.pack_id).mkdir(parents=True)
    os.mkfifo(tmp_path / "drillwork" / DRILL.pack_id / DRILL.filename)
    result = cli("start", "3")
    assert result.code == 2
    assert "not a regular file" in one_error_line(result.stderr)


# --- B. the progress file ---------------------------------------------------------------


def _valid_document() -> dict:
    card = CardState(due=GOOD_TIME, stability=3.0, difficulty=5.0, last_review=GOOD_TIME)
    mine = PackProgress(
        drills={DRILL.slug: DrillProgress(attempts=1, last_attempt=GOOD_TIME, last_result="failed")},
        cards={"orm": card},
        selfcheck={"select": GOOD_TIME},
    )
    doc = progress.Progress(packs={DRILL.pack_id: mine})
    return doc.to_json()


def _wrong_values() -> list[tuple[str, str, object]]:
    """(where, field, bad value): every field of every record in the schema, wrong."""
    cases: list[tuple[str, str, object]] = []
    for where, cls in (("drill", DrillProgress), ("review", ReviewState), ("card", CardState)):
        for f in fields(cls):
            is_list = f.default_factory is list  # type: ignore[comparison-overlap]
            cases.append(
                (where, f.name, {"an object": "is no list"} if is_list else ["a list is no field's type"])
            )
    cases += [
        ("drill", "last_attempt", 5),
        ("drill", "last_attempt", "yesterday"),
        ("drill", "last_attempt", "0001-01-01T00:00:00+14:00"),  # OverflowError to convert
        ("drill", "last_attempt", "2026-04-01T10:00:00"),  # no zone: accepted, see below
        ("drill", "hints_used", "many"),
        ("drill", "hints_used", -1),
        ("drill", "attempts", True),
        ("drill", "last_result", "maybe"),
        ("review", "step", 99),
        ("review", "slipped", "no"),
        ("review", "due", "next tuesday"),
        ("card", "stability", float("nan")),
        ("card", "stability", 0),
        ("card", "difficulty", 1e308),
        ("card", "fsrs_state", 7),
        ("card", "due", 12),
        ("selfcheck", "select", 5),
        ("top", "extra", {}),
        ("top", "packs", []),
        ("drills", "x", []),
        ("packs", DRILL.pack_id, []),
    ]
    return cases


def _broken(where: str, name: str, value: object) -> dict:
    doc = _valid_document()
    mine = doc["packs"][DRILL.pack_id]
    target = {
        "drill": mine["drills"][DRILL.slug],
        "review": mine["drills"][DRILL.slug]["review"],
        "card": mine["cards"]["orm"],
        "selfcheck": mine["selfcheck"],
        "top": doc,
        "drills": mine["drills"],
        "packs": doc["packs"],
    }[where]
    target[name] = value
    return doc


@pytest.mark.parametrize(("where", "name", "value"), _wrong_values(), ids=repr)
def test_wrong_typed_field_is_moved_aside_never_a_crash(
    cli: InProcess, tmp_path: Path, where: str, name: str, value: object
) -> None:
    path = tmp_path / "progress.json"
    text = json.dumps(_broken(where, name, value))
    path.write_text(text, encoding="utf-8")
    listed = cli("list")
    assert listed.code == 0, listed.stderr
    if (where, name, value) == ("drill", "last_attempt", "2026-04-01T10:00:00"):
        assert listed.stderr == ""  # a time without a zone is UTC, as everywhere in drillkit
        assert cli("hint", "3").code == 0
        return
    assert "moved to" in one_warning(listed.stderr)
    (backup,) = tmp_path.glob("progress.json.corrupt-*")
    assert backup.read_text(encoding="utf-8") == text  # nothing lost
    hinted = cli("hint", "3")
    assert hinted.code == 0 and hinted.stderr == ""
    assert progress.load(path).progress.of(DRILL).hints_used == 1


def test_deeply_nested_json_is_moved_aside_once(cli: InProcess, tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    first = cli("list")
    assert first.code == 0 and "nested too deeply" in one_warning(first.stderr)
    assert len(list(tmp_path.glob("progress.json.corrupt-*"))) == 1
    again = cli("list")
    assert again.code == 0 and again.stderr == ""
    assert progress.problem(path) is None


@pytest.mark.parametrize("command", [["list"], ["pack", "list"], ["pack", "use", "sqlalchemy"]])
def test_a_corrupt_pack_list_is_moved_aside_and_reported(
    cli: InProcess, tmp_path: Path, command: list[str]
) -> None:
    path = tmp_path / "packs.json"  # beside the progress file
    path.write_text("junk", encoding="utf-8")
    first = cli(*command)
    assert first.code == 0 and "moved to" in one_warning(first.stderr), first
    (backup,) = tmp_path.glob("packs.json.corrupt-*")
    assert backup.read_text(encoding="utf-8") == "junk"  # nothing lost
    again = cli(*command)
    assert again.code == 0 and again.stderr == ""


def test_doctor_names_a_deeply_nested_file_without_touching_it(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text("{" + '"a":{' * 100_000, encoding="utf-8")
    assert "nested too deeply" in (progress.problem(path) or "")
    assert path.exists() and not list(tmp_path.glob("*.corrupt-*"))


def test_oversized_progress_file_is_moved_aside(cli: InProcess, tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_bytes(b" " * (store.DOCUMENT_LIMIT + 1))
    result = cli("list")
    assert result.code == 0 and "larger than" in one_warning(result.stderr)
    (backup,) = tmp_path.glob("progress.json.corrupt-*")
    assert backup.stat().st_size == store.DOCUMENT_LIMIT + 1


def test_fifo_at_the_progress_path_does_not_hang(learner: Learner) -> None:
    fifo = Path(learner.env["DRILL_PROGRESS"])
    os.mkfifo(fifo)
    for args in (("list",), ("hint", "3")):
        result = _drill_bounded(learner, *args, timeout=30)
        assert result.code == 2
        assert "FIFO" in one_error_line(result.stderr)
    assert fifo.is_fifo()  # left where it was: not ours to move


def test_progress_symlink_to_dev_zero_is_refused(cli: InProcess, tmp_path: Path) -> None:
    (tmp_path / "progress.json").symlink_to("/dev/zero")
    for args in (("list",), ("hint", "3")):
        result = cli(*args)
        assert result.code == 2
        assert "not a regular file" in one_error_line(result.stderr)
    assert (tmp_path / "progress.json").is_symlink()


@pytest.mark.parametrize("where", ["/proc/nonexistent/progress.json", "/proc/self/progress.json"])
def test_progress_under_proc_is_one_line(cli: InProcess, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    monkeypatch.setenv("DRILL_PROGRESS", where)
    for args in (("list",), ("hint", "3")):
        result = cli(*args)
        assert result.code == 2
        assert "/proc" in one_error_line(result.stderr)


def test_unwritable_place_is_one_line_at_write_time(tmp_path: Path) -> None:
    """Past the path checks (a parent that vanished): the store itself reports, no traceback."""
    with pytest.raises(ProgressFileError, match="cannot write"):
        progress.update(Path("/proc/self/fdinfo/x/progress.json"), lambda p: None)


def test_failed_write_leaves_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "progress.json"
    progress.update(path, lambda p: setattr(p.of(DRILL), "attempts", 1))
    before = path.read_bytes()

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(ProgressFileError, match="No space left"):
        progress.update(path, lambda p: setattr(p.of(DRILL), "attempts", 2))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["progress.json", "progress.json.lock"]


@pytest.fixture
def full_disk() -> Iterator[Path]:
    """A real, tiny, full filesystem (root only: mount a 64 KiB tmpfs)."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    where = Path(tempfile.mkdtemp(prefix="drillkit-full-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(where)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)
        where.rmdir()


def _fill(folder: Path) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass  # full
    finally:
        os.close(fd)


def test_full_disk_keeps_the_file_and_leaves_no_temp_file(
    cli: InProcess, full_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = full_disk / "progress.json"
    monkeypatch.setenv("DRILL_PROGRESS", str(path))
    assert cli("hint", "3").code == 0
    before = path.read_bytes()
    _fill(full_disk)
    for args in (("hint", "3"), ("selfcheck", "--tick", "1")):
        result = cli(*args)
        assert result.code == 2
        assert "No space left" in one_error_line(result.stderr)
    assert path.read_bytes() == before
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler", "progress.json", "progress.json.lock"]


# --- E. read-only places, as a user whose file modes count ------------------------------

OTHER_USER = "drillkit-test"


@dataclass
class OtherUser:
    """Runs `python -m drillkit` as a non-root user (or as ourselves when we are not root)."""

    python: str
    pythonpath: str
    uid: int | None
    gid: int | None
    home: Path

    def drill(self, *args: str, **env: str) -> Result:
        proc = subprocess.run(
            [self.python, "-m", "drillkit", *args],
            cwd=self.home,
            env={
                "PATH": "/usr/bin:/bin",
                "HOME": str(self.home),
                "PYTHONPATH": self.pythonpath,
                "PYTHONDONTWRITEBYTECODE": "1",
                "NO_COLOR": "1",
                "COLUMNS": "120",
                **env,
            },
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
            user=self.uid,
            group=self.gid,
            extra_groups=[] if self.uid is not None else None,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def give(self, path: Path) -> None:
        if self.uid is not None:
            os.chown(path, self.uid, self.gid or -1)


def _probe(user: OtherUser) -> str | None:
    result = user.drill("--help")
    return None if result.code == 0 else result.stderr[-2000:]


@pytest.fixture(scope="session")
def other_user() -> Iterator[OtherUser]:
    base = Path(tempfile.mkdtemp(prefix="drillkit-other-user-"))
    try:  # a failed set-up (the probe below) leaves no folder behind either
        os.chmod(base, 0o755)
        site = sysconfig.get_paths()
        uid = gid = None
        if os.geteuid() == 0:
            entry = ensure_os_user(OTHER_USER, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin")
            uid, gid = entry.pw_uid, entry.pw_gid
        # The system Python: the default one may live under /root (mode 700).
        python = (
            "/usr/bin/python3" if uid is not None and Path("/usr/bin/python3").exists() else sys.executable
        )
        home = base / "home"
        home.mkdir()
        user = OtherUser(
            python, os.pathsep.join([str(REPO), site["purelib"], site["platlib"]]), uid, gid, home
        )
        user.give(home)
        problem = _probe(user)
        if problem is not None:
            # Our tree or venv is out of that user's reach (e.g. under /root): copy what drill needs.
            user.pythonpath = copy_within_reach(base / "copy")
            problem = _probe(user)
        assert problem is None, f"cannot run drill as {OTHER_USER}: {problem}"
        yield user
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def read_only_dir(other_user: OtherUser) -> Iterator[Path]:
    """A folder the other user can read but not write once sealed (we, root, still can)."""
    folder = Path(tempfile.mkdtemp(prefix="drillkit-ro-", dir=other_user.home))
    os.chmod(folder, 0o755)
    yield folder
    os.chmod(folder, 0o755)
    shutil.rmtree(folder, ignore_errors=True)


def _seal(folder: Path) -> None:
    for item in [folder, *folder.iterdir()]:
        os.chmod(item, 0o555 if item.is_dir() else 0o444)


def test_read_only_dir_with_corrupt_file_is_one_line(other_user: OtherUser, read_only_dir: Path) -> None:
    path = read_only_dir / "progress.json"
    path.write_text("{broken", encoding="utf-8")
    _seal(read_only_dir)
    env = {"DRILL_PROGRESS": str(path), "DRILL_HOME": str(other_user.home / "data")}
    for args in (("list",), ("hint", "3")):
        result = other_user.drill(*args, **env)
        assert result.code == 2, result.stdout + result.stderr
        assert "could not be moved aside" in one_error_line(result.stderr)
    assert path.read_text(encoding="utf-8") == "{broken"
    assert sorted(p.name for p in read_only_dir.iterdir()) == ["progress.json"]


def test_read_only_dir_with_good_file_reads_and_refuses_to_write(
    other_user: OtherUser, read_only_dir: Path
) -> None:
    path = read_only_dir / "progress.json"
    progress.update(path, lambda p: setattr(p.of(DRILL), "hints_used", 1))
    before = path.read_bytes()
    _seal(read_only_dir)
    env = {"DRILL_PROGRESS": str(path), "DRILL_HOME": str(other_user.home / "data")}
    listed = other_user.drill("list", "--json", **env)
    assert listed.code == 0 and listed.stderr == "", listed.stderr
    hinted = other_user.drill("hint", "3", **env)
    assert hinted.code == 2
    assert "cannot write" in one_error_line(hinted.stderr)
    assert path.read_bytes() == before
    assert sorted(p.name for p in read_only_dir.iterdir()) == ["progress.json", "progress.json.lock"]


def test_unreadable_learner_file_is_one_line(other_user: OtherUser, read_only_dir: Path) -> None:
    # the workspace file (`--file` has click's check too)
    secret = read_only_dir / DRILL.pack_id / DRILL.filename
    secret.parent.mkdir()
    secret.write_text("x = 1\n", encoding="utf-8")
    os.chmod(secret, 0o000)
    data = str(other_user.home / "data")
    for args in (("check", "3"), ("reveal", "3", "--yes")):
        result = other_user.drill(*args, DRILL_HOME=data, DRILL_WORKSPACE=str(read_only_dir))
        assert result.code == 2
        assert "Permission denied" in one_error_line(result.stderr)


# --- C. settings ----------------------------------------------------------------------


def test_drill_now_out_of_range_is_one_line(cli: InProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1969-12-31T23:59:59+00:00"):
        monkeypatch.setenv("DRILL_NOW", value)
        result = cli("list")
        assert result.code == 2
        assert "DRILL_NOW" in one_error_line(result.stderr)
    monkeypatch.setenv("DRILL_NOW", "x" * 100_000)
    result = cli("list")
    assert result.code == 2 and len(one_error_line(result.stderr)) < 300


def test_start_dir_on_a_file_is_one_line(cli: InProcess, tmp_path: Path) -> None:
    afile = tmp_path / "notes.txt"
    afile.write_text("mine", encoding="utf-8")
    result = cli("start", "3", "--dir", str(afile))
    assert result.code == 2
    line = one_error_line(result.stderr)
    assert "not a directory" in line and "Kept" not in line
    assert afile.read_text(encoding="utf-8") == "mine"


LONG = "/tmp/" + "x/" * 2100
LONG_NAME = "/tmp/" + "y" * 300
NOT_UTF8 = os.fsdecode(b"/tmp/drillkit-\xff\xfe")


def _hostile_settings(tmp_path: Path) -> list[tuple[str, str]]:
    afile = tmp_path / "afile"
    afile.write_text("mine", encoding="utf-8")
    folder = tmp_path / "afolder"
    folder.mkdir()
    cases = []
    for name in ("DRILL_HOME", "DRILL_WORKSPACE"):
        cases += [(name, str(afile)), (name, "/proc"), (name, "/proc/x/y")]
    cases += [("DRILL_PROGRESS", str(folder)), ("DRILL_PROGRESS", "/proc/self/status")]
    for name in ("DRILL_HOME", "DRILL_WORKSPACE", "DRILL_PROGRESS"):
        cases += [(name, LONG), (name, LONG_NAME), (name, NOT_UTF8)]
    return cases


def test_hostile_path_settings_are_one_line(
    cli: InProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _hostile_settings(tmp_path):
        monkeypatch.setenv(name, value)
        for args in (("list",), ("start", "3"), ("hint", "3"), ("progress",), ("db", "status")):
            result = cli(*args)
            assert result.code == 2, (name, value[:40], args, result.stdout[-300:])
            line = one_error_line(result.stderr)
            assert name in line and len(line) < 400, line
        monkeypatch.delenv(name)
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "mine"
    assert not Path(NOT_UTF8).exists()


def _needs_embedded(learner: Learner) -> None:
    if learner.env.get(database.URL_ENV):
        pytest.skip("the idle watchdog belongs to the embedded server")


@pytest.mark.parametrize("value", ["inf", "1e400", "nan", "-1", "9" * 100_000, os.fsdecode(b"\xff")])
def test_hostile_idle_minutes_is_one_line(learner: Learner, value: str) -> None:
    _needs_embedded(learner)
    result = learner.drill("check", "3", "--file", str(SOLUTION), DRILL_DB_IDLE_MINUTES=value)
    assert result.code == 2
    line = one_error_line(result.stderr)
    assert "DRILL_DB_IDLE_MINUTES" in line and len(line) < 300


def test_a_bad_idle_period_starts_no_server(learner: Learner, tmp_path: Path) -> None:
    """Refused before the embedded server starts (else it would run with no watchdog to stop
    it); `drill doctor` names the setting, and sends nobody to `drill db reset` for it."""
    _needs_embedded(learner)
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(tmp_path, 0o755)  # the embedded server runs as another user when root
    bad = {"DRILL_HOME": str(home), "DRILL_DB_IDLE_MINUTES": "abc"}
    try:
        result = learner.drill("check", "3", "--file", str(SOLUTION), **bad)
        assert result.code == 2 and "DRILL_DB_IDLE_MINUTES" in one_error_line(result.stderr)
        doctor = learner.drill("doctor", **bad)
        line = next(line for line in doctor.stdout.splitlines() if "DRILL_DB_IDLE_MINUTES" in line)
        assert "database" in line and "db reset" not in doctor.stdout, doctor.stdout
        assert not (home / "pgdata" / "postmaster.pid").exists()
    finally:
        learner.drill("db", "stop", DRILL_HOME=str(home))


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:secret@" + "h" * 100_000 + ":5432/db",
        "postgresql://u:secret@" + "h" * 100 + ":5432/db",  # a DNS label over 63 characters
        "postgresql://u:secret@localhost:5432/" + "d" * 100_000,
        "postgresql://u:secret@local\nhost/db",
        os.fsdecode(b"postgresql://u:secret@localhost/\xff"),
        "mysql://u:secret@localhost/db",
    ],
    ids=["long host", "long label", "long db", "newline", "not UTF-8", "scheme"],
)
def test_hostile_database_url_is_one_line(learner: Learner, url: str) -> None:
    result = learner.drill("check", "3", "--file", str(SOLUTION), DRILL_DATABASE_URL=url)
    assert result.code == 2
    line = one_error_line(result.stderr)
    assert "DRILL_DATABASE_URL" in line and len(line) < 400
    assert "secret" not in line


# --- D. what learner code prints --------------------------------------------------------

SURROGATE_FILE = SOLUTION.read_text(encoding="utf-8") + 'print("a\\ud800b \\x1b[2J")\n'


def test_lone_surrogate_in_output_is_shown_escaped(learner: Learner, tmp_path: Path) -> None:
    path = tmp_path / "surrogate.py"
    path.write_text(SURROGATE_FILE, encoding="utf-8")
    strict = {"PYTHONIOENCODING": "utf-8:strict"}  # what a UTF-8 terminal gets
    shown = learner.drill("check", "3", "--file", str(path), **strict)
    assert shown.code == 0, shown.stderr
    assert "Traceback" not in shown.stderr
    assert "a\\ud800b \\x1b[2J" in shown.stdout
    assert "\x1b" not in shown.stdout
    as_json = learner.drill("check", "3", "--file", str(path), "--json", **strict)
    assert as_json.code == 0 and "Traceback" not in as_json.stderr
    assert as_json.json["output"] == "a\ud800b \x1b[2J\n"  # escaped in the JSON text, kept exact


def test_bidi_and_c1_controls_in_learner_text_are_shown_escaped() -> None:
    """A right-to-left override reorders the rest of the line, and a C1 CSI starts an escape
    sequence on some terminals: printed text must not pose as the report."""
    shown = render.printable("ok \u202e)sdrawkcab( \u2067x\u2069 \x9b2J é")
    assert shown == "ok \\u202e)sdrawkcab( \\u2067x\\u2069 \\u009b2J é"


def test_report_never_fails_to_encode() -> None:
    """Whichever road learner text takes into the report (output, messages, SQL, the path)."""
    odd = "x\ud800y\udcff\x07\x1b[31m"
    report = CheckReport(
        drill=3,
        slug="select",
        title="Query with select()",
        file=f"/tmp/{odd}.py",
        results=[
            CheckResult("your file runs without errors", "passed"),
            CheckResult(
                "it holds the documents", "failed", rationale=odd, expected=odd, actual=odd, help=odd, sql=odd
            ),
        ],
        output=odd,
        statements=[f"SELECT '{odd}'"],
        check_statements=[f"SELECT '{odd}'"],
    )
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    console = Console(file=stream, width=100, force_terminal=False, highlight=False)
    render.report(console, Checked(report, None), sql=True)
    stream.flush()
    text = stream.buffer.getvalue().decode("utf-8")
    assert "x\\ud800y\\udcff" in text and "\x1b" not in text and "\x07" not in text


# --- the schema itself -------------------------------------------------------------------


def test_schema_table_must_name_every_field() -> None:
    with pytest.raises(TypeError, match="exactly its fields"):
        store.record(ReviewState, {"step": store.integer(-1)})


def test_valid_document_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text(json.dumps(_valid_document()), encoding="utf-8")
    loaded = progress.load(path)
    assert loaded.warning is None
    assert loaded.progress.to_json() == _valid_document()


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "300.5", "-1", "abc"])
def test_a_timeout_out_of_range_names_the_range(learner: Learner, value: str) -> None:
    """NaN once slipped past Typer's min/max to a message that named only the upper bound, and
    a word got a form validator's wording."""
    result = learner.drill("check", "3", "--file", str(SOLUTION), "--timeout", value)
    assert result.code == 2 and result.stdout == ""
    line = one_error_line(result.stderr)
    assert f"'--timeout': {value} is not a number of seconds from 0.1 to 300" in line, line


@pytest.mark.parametrize("value", ["0", "33", "x", "1.5"])
def test_validate_workers_out_of_range_names_the_range(learner: Learner, value: str) -> None:
    result = learner.drill("validate", "--workers", value, "--format-only")
    assert result.code == 2 and result.stdout == ""
    assert f"{value} is not a whole number of checks at once from 1 to 32" in one_error_line(result.stderr)


@pytest.mark.parametrize("name", ["DRILL_WORKSPACE", "DRILL_PROGRESS", "DRILL_HOME"])
def test_doctor_reports_an_unusable_place_as_a_finding(learner: Learner, tmp_path: Path, name: str) -> None:
    """Every other command refuses it in one line (exit 2); doctor, whose job is to say what is
    wrong, shows it as its ✗ line with the rest it can still look at (exit 1)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    place = blocker / "below" if name != "DRILL_WORKSPACE" else blocker
    result = learner.drill("doctor", **{name: str(place)})
    assert result.code == 1 and result.stderr == ""
    flat = " ".join(result.stdout.split())
    assert "✓ Python:" in flat and f"✗ settings: {name} " in flat and "1 problem found." in flat
    assert learner.drill("list", **{name: str(place)}).code == 2

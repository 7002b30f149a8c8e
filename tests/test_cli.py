"""The CLI as a learner meets it: real subprocesses, real Postgres, exit codes and messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from drillkit.pack.catalog import load_catalog
from tests.conftest import REPO, Learner

CATALOG = load_catalog()


def one_clear_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("drill", CATALOG.drills, ids=lambda d: d.filename)
def test_reference_solution_passes(learner: Learner, drill) -> None:
    result = learner.drill("check", str(drill.number), "--file", str(drill.solution_path))
    assert result.code == 0, result.stdout
    assert "All" in result.stdout and "checks passed" in result.stdout


@pytest.mark.parametrize("drill", CATALOG.drills, ids=lambda d: d.filename)
def test_untouched_starter_fails(learner: Learner, drill) -> None:
    assert learner.drill("start", str(drill.number)).code == 0
    result = learner.drill("check", str(drill.number), "--json")
    assert result.code == 1
    report = result.json
    assert report["passed"] is False
    assert report["untouched_starter"] is True
    assert any(r["status"] == "failed" and r["rationale"] for r in report["results"])


@pytest.mark.parametrize("ref", ["0", "8", "-1", "abc", "3.5", ""])
def test_unknown_drill_is_a_usage_error(learner: Learner, ref: str) -> None:
    for command in ("start", "check", "reveal"):
        result = learner.drill(command, ref)
        assert result.code == 2
        line = one_clear_line(result.stderr)
        assert "no drill" in line or f"No such option: {ref}" in line


def test_drill_by_slug(learner: Learner) -> None:
    result = learner.drill("check", "select", "--file", str(REPO / "solutions" / "03_select.py"))
    assert result.code == 0


def test_missing_file_is_a_usage_error(learner: Learner, tmp_path: Path) -> None:
    result = learner.drill("check", "3", "--file", str(tmp_path / "nope.py"))
    assert result.code == 2
    assert "no such file" in one_clear_line(result.stderr)


def test_directory_as_file_is_a_usage_error(learner: Learner, tmp_path: Path) -> None:
    result = learner.drill("check", "3", "--file", str(tmp_path))
    assert result.code == 2
    assert "is a directory" in one_clear_line(result.stderr)


def test_check_without_attempt_points_at_start(learner: Learner) -> None:
    result = learner.drill("check", "3")
    assert result.code == 2
    assert "drill start 3" in one_clear_line(result.stderr)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def first_failure(result) -> dict:
    assert result.code == 1, result.stdout + result.stderr
    report = result.json
    return next(r for r in report["results"] if r["status"] == "failed")


def test_syntax_error_is_a_failed_check(learner: Learner, tmp_path: Path) -> None:
    path = write(tmp_path, "broken.py", "from drillkit.sandbox import session\ndocs = [\n")
    failure = first_failure(learner.drill("check", "3", "--file", str(path), "--json"))
    assert failure["rationale"] == "Python cannot parse your file"
    assert "line 2" in failure["actual"]


def test_syntax_error_human_output_has_no_traceback(learner: Learner, tmp_path: Path) -> None:
    path = write(tmp_path, "broken.py", "def f(:\n")
    result = learner.drill("check", "3", "--file", str(path))
    assert result.code == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "cannot parse" in result.stdout


def test_infinite_loop_is_stopped(learner: Learner, tmp_path: Path) -> None:
    path = write(tmp_path, "loop.py", "while True:\n    pass\n")
    failure = first_failure(learner.drill("check", "3", "--file", str(path), "--timeout", "1", "--json"))
    assert "still running after 1 second and was stopped" in failure["rationale"]


def test_temp_files_of_a_stopped_run_are_removed(learner: Learner, tmp_path: Path) -> None:
    # A run killed on timeout never reaches its own cleanup: its temp files must still go.
    where = tmp_path / "where.txt"
    source = (
        "import pathlib, tempfile, time\n"
        "made = tempfile.mkdtemp(prefix='learner-leftover-')\n"
        f"pathlib.Path({str(where)!r}).write_text(made)\n"
        "time.sleep(60)\n"
    )
    path = write(tmp_path, "sleepy.py", source)
    failure = first_failure(learner.drill("check", "3", "--file", str(path), "--timeout", "2", "--json"))
    assert "was stopped" in failure["rationale"]
    made = Path(where.read_text())
    assert made.name.startswith("learner-leftover-")
    assert not made.exists()


def test_learner_exception_shows_only_their_frames(learner: Learner, tmp_path: Path) -> None:
    path = write(tmp_path, "oops.py", "def f():\n    return 1 / 0\n\nf()\n")
    failure = first_failure(learner.drill("check", "3", "--file", str(path), "--json"))
    assert "ZeroDivisionError" in failure["actual"]
    assert "oops.py, line 2" in failure["actual"]
    assert "drillkit" not in failure["actual"]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import sys\nsys.exit(3)\n", "sys.exit()"),
        ("import os\nos._exit(4)\n", "exit code 4"),
        ("raise KeyboardInterrupt\n", "KeyboardInterrupt"),
        ("x = input()\n", "EOFError"),
        ("from drillkit import runner\n", "may import only drillkit.sandbox"),
        ("import drillkit.progress\n", "may import only drillkit.sandbox"),
    ],
)
def test_hostile_endings_are_failed_checks(
    learner: Learner, tmp_path: Path, source: str, expected: str
) -> None:
    path = write(tmp_path, "end.py", source)
    failure = first_failure(learner.drill("check", "3", "--file", str(path), "--json"))
    assert expected in (failure["rationale"] + (failure["actual"] or ""))


def test_non_utf8_and_empty_files_are_failed_checks(learner: Learner, tmp_path: Path) -> None:
    binary = write(tmp_path, "bin.py", b"\xff\xfe\x00docs = 1\n")
    assert (
        "not UTF-8"
        in first_failure(learner.drill("check", "3", "--file", str(binary), "--json"))["rationale"]
    )
    empty = write(tmp_path, "empty.py", "")
    assert (
        "does not define"
        in first_failure(learner.drill("check", "3", "--file", str(empty), "--json"))["rationale"]
    )


def test_huge_output_is_bounded(learner: Learner, tmp_path: Path) -> None:
    path = write(tmp_path, "loud.py", "for i in range(200_000):\n    print('x' * 50)\n")
    result = learner.drill("check", "3", "--file", str(path), "--json")
    report = result.json
    assert report["output_truncated"] is True
    assert len(report["output"]) <= 64 * 1024


@pytest.mark.parametrize(
    "url",
    ["not-a-url", "postgresql://nobody@127.0.0.1:1/nothing", "postgresql://x@/db?host=/nonexistent"],
)
def test_unreachable_database_is_one_line_exit_2(learner: Learner, url: str) -> None:
    result = learner.drill(
        "check", "3", "--file", str(REPO / "solutions" / "03_select.py"), DRILL_DATABASE_URL=url
    )
    assert result.code == 2
    line = one_clear_line(result.stderr)
    assert "DRILL_DATABASE_URL" in line or "cannot connect to PostgreSQL" in line


def test_external_database_url_is_used(learner: Learner) -> None:
    from drillkit.db import server as database
    from drillkit.paths import resolve_paths

    url = database.resolve(resolve_paths(env={"DRILL_HOME": str(learner.home)})).libpq_url
    sqlalchemy_style = "postgresql+psycopg://" + url.split("://", 1)[1]
    result = learner.drill(
        "check", "3", "--file", str(REPO / "solutions" / "03_select.py"), DRILL_DATABASE_URL=sqlalchemy_style
    )
    assert result.code == 0, result.stdout + result.stderr


def test_start_never_overwrites(learner: Learner) -> None:
    assert learner.drill("start", "3").code == 0
    attempt = learner.workspace / "03_select.py"
    attempt.write_text("# my precious attempt\n", encoding="utf-8")
    result = learner.drill("start", "3")
    assert result.code == 0
    assert "Kept your existing attempt" in result.stdout
    assert attempt.read_text(encoding="utf-8") == "# my precious attempt\n"


def test_start_uses_dir_option(learner: Learner, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    assert learner.drill("start", "1", "--dir", str(target)).code == 0
    text = (target / "01_model.py").read_text(encoding="utf-8")
    assert text.startswith("# Drill 1 · Define a model")
    assert "drill check 1" in text


def test_status_moves_through_the_loop(learner: Learner) -> None:
    def status(n: int) -> str:
        rows = learner.drill("list", "--json").json["drills"]
        return next(r["status"] for r in rows if r["number"] == n)

    assert status(3) == "not started"
    learner.drill("start", "3")
    assert status(3) == "started"
    assert learner.drill("check", "3").code == 1
    assert status(3) == "started"  # checking the blank starter is not an attempt
    attempt = learner.workspace / "03_select.py"
    attempt.write_text(attempt.read_text(encoding="utf-8") + "docs = []\n", encoding="utf-8")
    assert learner.drill("check", "3").code == 1
    assert status(3) == "attempted"
    attempt = learner.workspace / "03_select.py"
    attempt.write_text(
        (REPO / "solutions" / "03_select.py").read_text(encoding="utf-8") + "# mine\n", encoding="utf-8"
    )
    assert learner.drill("check", "3").code == 0
    assert status(3) == "passed"
    assert learner.drill("reveal", "3").code == 0  # attempted: no confirmation needed
    assert status(3) == "passed"  # revealed after passing keeps the clean pass

    learner.drill("reveal", "4", "--yes")
    mine = learner.cwd / "mine_04.py"  # the learner types the revealed answer in
    typed = (REPO / "solutions" / "04_insert.py").read_text(encoding="utf-8") + "# typed in by me\n"
    mine.write_text(typed, encoding="utf-8")
    assert learner.drill("check", "4", "--file", str(mine)).code == 0
    assert status(4) == "passed after reveal"

    smoke = learner.drill("check", "5", "--file", str(REPO / "solutions" / "05_get_db.py"))
    assert smoke.code == 0 and "not counted in your progress" in smoke.stdout
    assert status(5) == "not started"  # checking the shipped answer proves nothing

    listing = learner.drill("list")
    assert "2/7 drills passed" in listing.stdout
    data = json.loads(Path(learner.env["DRILL_PROGRESS"]).read_text())
    assert data["version"] == 2 and data["drills"]["3"]["attempts"] == 2


def test_reveal_before_attempt_needs_yes(learner: Learner) -> None:
    result = learner.drill("reveal", "3")
    assert result.code == 2
    assert "--yes" in one_clear_line(result.stderr)
    shown = learner.drill("reveal", "3", "--yes")
    assert shown.code == 0
    assert "order_by" in shown.stdout and "why it is written this way" in shown.stdout


def test_reveal_shows_diff_against_attempt(learner: Learner) -> None:
    learner.drill("start", "3")
    attempt = learner.workspace / "03_select.py"
    attempt.write_text(attempt.read_text(encoding="utf-8") + "docs = []\n", encoding="utf-8")
    learner.drill("check", "3")
    result = learner.drill("reveal", "3", "--diff")
    assert result.code == 0
    assert "-docs = []" in result.stdout
    assert "+docs = session.scalars(stmt).all()" in result.stdout


def test_corrupt_progress_is_moved_aside_and_reported(learner: Learner) -> None:
    progress = Path(learner.env["DRILL_PROGRESS"])
    progress.write_text("{not json", encoding="utf-8")
    result = learner.drill("list")
    assert result.code == 0
    assert "moved to" in result.stderr
    backups = list(progress.parent.glob("progress.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_text(encoding="utf-8") == "{not json"


def test_future_progress_version_is_refused(learner: Learner) -> None:
    progress = Path(learner.env["DRILL_PROGRESS"])
    progress.write_text('{"version": 99, "drills": {}}', encoding="utf-8")
    result = learner.drill("list")
    assert result.code == 2
    assert "newer drillkit" in one_clear_line(result.stderr)
    assert progress.read_text(encoding="utf-8") == '{"version": 99, "drills": {}}'


def test_console_script_and_module_agree(learner: Learner) -> None:
    import subprocess
    import sys

    script = Path(sys.executable).parent / "drill"  # installed beside the venv's python
    assert script.exists(), "the `drill` console script was not installed"
    proc = subprocess.run(
        [script, "list", "--json"], env=learner.env, cwd=learner.cwd, capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == learner.drill("list", "--json").json


def test_a_copy_of_the_reference_is_not_counted(learner: Learner) -> None:
    """Installed from a wheel, the pack lives in site-packages: recognise the text, not the path."""
    copy = learner.cwd / "copied.py"
    copy.write_text((REPO / "solutions" / "06_update.py").read_text(encoding="utf-8"), encoding="utf-8")
    result = learner.drill("check", "6", "--file", str(copy))
    assert result.code == 0 and "not counted in your progress" in result.stdout
    rows = learner.drill("list", "--json").json["drills"]
    assert next(r for r in rows if r["number"] == 6)["status"] == "not started"


@pytest.mark.parametrize("args", [(), ("next",), ("progress", "--json"), ("list", "--json")])
def test_non_utf8_progress_is_moved_aside_and_reported_everywhere(learner: Learner, args: tuple) -> None:
    progress = Path(learner.env["DRILL_PROGRESS"])
    progress.write_bytes(b"\xff\xfe not json")
    result = learner.drill(*args)
    assert result.code == 0 and "Traceback" not in result.stderr
    assert "moved to" in result.stderr
    (backup,) = progress.parent.glob("progress.json.corrupt-*")
    assert backup.read_bytes() == b"\xff\xfe not json"

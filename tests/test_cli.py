"""The CLI as a learner meets it: real subprocesses, real Postgres, exit codes and messages."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import Learner, builtin_pack

PACK = builtin_pack()  # the active pack of a learner who never chose one
SELECT = PACK.get("select")  # the drill most tests check against: a query on seeded rows
N = str(SELECT.number)


def one_clear_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize("drill", PACK.drills, ids=lambda d: d.slug)
def test_reference_solution_passes(learner: Learner, drill) -> None:
    result = learner.drill("check", str(drill.number), "--file", str(drill.solution_path))
    assert result.code == 0, result.stdout
    assert "All" in result.stdout and "checks passed" in result.stdout


@pytest.mark.parametrize("drill", PACK.drills, ids=lambda d: d.slug)
def test_untouched_starter_fails(learner: Learner, drill) -> None:
    assert learner.drill("start", str(drill.number)).code == 0
    result = learner.drill("check", str(drill.number), "--json")
    assert result.code == 1
    report = result.json
    assert report["passed"] is False
    assert report["untouched_starter"] is True
    assert report["pack"] == PACK.id and report["slug"] == drill.slug
    assert any(r["status"] == "failed" and r["rationale"] for r in report["results"])
    assert not any(r["status"] == "error" for r in report["results"])  # the learner's miss, not ours
    for r in report["results"]:
        if r["status"] == "skipped":  # a skipped check says why
            assert r["rationale"], r
    # Checking the blank starter is not an attempt (start only remembered where the file is).
    entry = learner.progress["packs"][PACK.id]["drills"][drill.slug]
    assert entry["attempts"] == 0 and entry["last_attempt"] is None and entry["file"]


def answer_header(path: Path) -> dict[str, str]:
    """The `# expect:` / `# check:` / `# message:` lines a pack's known answer starts with."""
    fields = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"#\s*(expect|check|message):\s*(.+)", line)
        if not match:
            break
        fields[match.group(1)] = match.group(2).strip()
    return fields


def test_skipped_checks_run_unless_what_they_need_failed(learner: Learner) -> None:
    """One mistake does not hide the rest: only checks that need the failed one are skipped."""
    oldest_first = SELECT.answers_dir / "fail_oldest_first.py"  # right rows, wrong order
    expect = answer_header(oldest_first)
    report = learner.drill("check", N, "--file", str(oldest_first), "--json").json
    failed = [r for r in report["results"] if r["status"] == "failed"]
    skipped = [r for r in report["results"] if r["status"] == "skipped"]
    assert len(failed) == 1 and expect["check"].lower() in failed[0]["name"].lower(), failed
    assert failed[0]["key"]  # what a hint tied to this check points at
    assert skipped and all(r["rationale"] == f"needs «{failed[0]['name']}» to pass first" for r in skipped)
    # Checks declared after the failed one that do not need it still ran, and passed.
    after = report["results"][report["results"].index(failed[0]) + 1 :]
    assert any(r["status"] == "passed" for r in after), after


def test_a_skip_names_the_check_the_learner_sees(learner: Learner) -> None:
    model = PACK.get("model")
    unmapped = model.answers_dir / "fail_forgot_base.py"
    report = learner.drill("check", str(model.number), "--file", str(unmapped), "--json").json
    names = {r["name"] for r in report["results"] if r["status"] != "passed"}
    skipped = [r for r in report["results"] if r["status"] == "skipped"]
    assert skipped
    for r in skipped:
        needed = re.fullmatch(r"needs «(.+)» to pass first", r["rationale"])
        assert needed and needed.group(1) in names, r["rationale"]


UNKNOWN_REFS = ["0", str(len(PACK.drills) + 1), "-1", "abc", "3.5", "", f"{PACK.id}:nosuch", "nosuchpack:1"]


@pytest.mark.parametrize("ref", UNKNOWN_REFS)
def test_unknown_drill_is_a_usage_error(learner: Learner, ref: str) -> None:
    for command in ("start", "check", "reveal"):
        result = learner.drill(command, ref)
        assert result.code == 2
        line = one_clear_line(result.stderr)
        assert "no drill" in line or "no pack" in line or f"No such option: {ref}" in line


@pytest.mark.parametrize(
    "ref", [SELECT.slug, SELECT.ref, f"{SELECT.number:02d}", f"{PACK.id}:{SELECT.number}"]
)
def test_drill_by_slug_or_pack_ref(learner: Learner, ref: str) -> None:
    result = learner.drill("check", ref, "--file", str(SELECT.solution_path), "--json")
    assert result.code == 0
    assert result.json["slug"] == SELECT.slug and result.json["drill"] == SELECT.number


def test_missing_file_is_a_usage_error(learner: Learner, tmp_path: Path) -> None:
    result = learner.drill("check", N, "--file", str(tmp_path / "nope.py"))
    assert result.code == 2
    assert "no such file" in one_clear_line(result.stderr)


def test_directory_as_file_is_a_usage_error(learner: Learner, tmp_path: Path) -> None:
    result = learner.drill("check", N, "--file", str(tmp_path))
    assert result.code == 2
    assert "is a directory" in one_clear_line(result.stderr)


@pytest.mark.parametrize(
    ("args", "help_of"),
    [
        (["check", "3", "--file"], "drill check"),  # fails before the command's own context exists
        (["check", "3", "--bogus"], "drill check"),
        (["pack", "add"], "drill pack add"),
        (["db", "stop", "--now"], "drill db stop"),
        (["--bogus"], "drill"),
    ],
)
def test_a_usage_error_points_at_its_command_s_help(learner: Learner, args: list[str], help_of: str) -> None:
    result = learner.drill(*args)
    assert result.code == 2 and one_clear_line(result.stderr).endswith(f"(see `{help_of} --help`)")


def test_check_without_attempt_points_at_start(learner: Learner) -> None:
    result = learner.drill("check", N)
    assert result.code == 2
    line = one_clear_line(result.stderr)
    suggested = re.search(r"`drill (start \S+)`", line)
    assert suggested, line
    # The command it names works, and makes the file that check was looking for.
    assert learner.drill(*suggested.group(1).split()).code == 0
    assert learner.attempt(SELECT).exists()
    assert learner.drill("check", N, "--json").json["untouched_starter"] is True


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
    failure = first_failure(learner.drill("check", N, "--file", str(path), "--json"))
    assert failure["rationale"] == "Python cannot parse your file"
    assert "line 2" in failure["actual"]


def test_syntax_error_human_output_has_no_traceback(learner: Learner, tmp_path: Path) -> None:
    path = write(tmp_path, "broken.py", "def f(:\n")
    result = learner.drill("check", N, "--file", str(path))
    assert result.code == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert "cannot parse" in result.stdout


def test_a_traceback_quotes_the_line_that_ran_even_if_the_file_changed_since(
    learner: Learner, tmp_path: Path
) -> None:
    """In `drill watch` the learner may save again while the check runs: the error must show
    the line of the version that raised, not what is on disk by the time it is reported."""
    source = (
        "import pathlib\n"
        "pathlib.Path(__file__).write_text('# saved again\\n' * 5)\n"
        "raise RuntimeError('from the version that ran')\n"
    )
    path = write(tmp_path, "changing.py", source)
    failure = first_failure(learner.drill("check", N, "--file", str(path), "--json"))
    assert "changing.py, line 3" in failure["actual"], failure["actual"]
    assert "raise RuntimeError('from the version that ran')" in failure["actual"], failure["actual"]
    assert "saved again" not in failure["actual"]


def test_infinite_loop_is_stopped(learner: Learner, tmp_path: Path) -> None:
    path = write(tmp_path, "loop.py", "while True:\n    pass\n")
    failure = first_failure(learner.drill("check", N, "--file", str(path), "--timeout", "1", "--json"))
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
    failure = first_failure(learner.drill("check", N, "--file", str(path), "--json"))
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
    failure = first_failure(learner.drill("check", N, "--file", str(path), "--json"))
    assert expected in (failure["rationale"] + (failure["actual"] or ""))


def test_non_utf8_and_empty_files_are_failed_checks(learner: Learner, tmp_path: Path) -> None:
    binary = write(tmp_path, "bin.py", b"docs = []\nx = 'caf\xe9'\n")
    failure = first_failure(learner.drill("check", N, "--file", str(binary), "--json"))
    assert failure["rationale"] == "your file is not UTF-8 text"
    assert failure["actual"] == "line 2, byte 9 of the line: b'\\xe9' is not UTF-8"  # as an editor counts
    for blank in ("", "\n\n   \n"):
        empty = write(tmp_path, "empty.py", blank)
        failure = first_failure(learner.drill("check", N, "--file", str(empty), "--json"))
        assert failure["rationale"] == "your file is empty" and "drill start" in failure["help"]


def test_a_failure_about_many_rows_stays_short(learner: Learner) -> None:
    """A file that commits 30,000 rows, none titled as drill 4 asks: the failure shows a few
    (it listed every title, and the terminal took minutes to draw megabytes)."""
    drill = PACK.get("insert")
    path = drill.answers_dir / "fail_commits_thousands_of_rows_none_titled_as_asked.py"
    done = learner.drill("check", str(drill.number), "--file", str(path))
    assert done.code == 1 and "new rows titled" in done.stdout and ", ..." in done.stdout
    assert len(done.stdout) < 20_000, len(done.stdout)


def test_huge_output_is_bounded(learner: Learner, tmp_path: Path) -> None:
    path = write(tmp_path, "loud.py", "for i in range(200_000):\n    print('x' * 50)\n")
    result = learner.drill("check", N, "--file", str(path), "--json")
    report = result.json
    assert report["output_truncated"] is True
    assert len(report["output"]) <= 64 * 1024


@pytest.mark.parametrize(
    "url",
    ["not-a-url", "postgresql://nobody@127.0.0.1:1/nothing", "postgresql://x@/db?host=/nonexistent"],
)
def test_unreachable_database_is_one_line_exit_2(learner: Learner, url: str) -> None:
    result = learner.drill("check", N, "--file", str(SELECT.solution_path), DRILL_DATABASE_URL=url)
    assert result.code == 2
    line = one_clear_line(result.stderr)
    assert "DRILL_DATABASE_URL" in line or "cannot connect to PostgreSQL" in line


@pytest.mark.parametrize(
    "url",
    [
        "u:s3cret-pw@localhost/db",
        "mysql://u:s3cret-pw@localhost/db",
        "postgresql://u:s3cret-pw@x/y@1:1/d",
        "host=localhost password=s3cret-pw dbname=d",
        "postgresql://u@127.0.0.1:1/d?password=s3cret-pw",
    ],
)
def test_a_database_url_s_password_is_never_echoed(learner: Learner, url: str) -> None:
    """Not by the check's one line, nor by doctor's, whatever shape the URL has; and doctor
    counts the one mistake once."""
    result = learner.drill("check", N, "--file", str(SELECT.solution_path), DRILL_DATABASE_URL=url)
    doctor = learner.drill("doctor", DRILL_DATABASE_URL=url)
    assert result.code == 2 and "s3cret" not in result.stderr + result.stdout
    assert "s3cret" not in doctor.stdout + doctor.stderr
    assert "1 problem found" in doctor.stdout, doctor.stdout


def test_external_database_url_is_used(learner: Learner) -> None:
    from drillkit.db import server as database
    from drillkit.paths import resolve_paths

    url = database.resolve(resolve_paths(env={"DRILL_HOME": str(learner.home)})).libpq_url
    sqlalchemy_style = "postgresql+psycopg://" + url.split("://", 1)[1]
    result = learner.drill(
        "check", N, "--file", str(SELECT.solution_path), DRILL_DATABASE_URL=sqlalchemy_style
    )
    assert result.code == 0, result.stdout + result.stderr


def test_start_never_overwrites(learner: Learner) -> None:
    assert learner.drill("start", N).code == 0
    attempt = learner.attempt(SELECT)
    assert attempt == learner.workspace / PACK.id / SELECT.filename
    attempt.write_text("# my precious attempt\n", encoding="utf-8")
    result = learner.drill("start", N)
    assert result.code == 0
    assert "Kept your existing attempt" in result.stdout
    assert attempt.read_text(encoding="utf-8") == "# my precious attempt\n"


def test_start_uses_dir_option(learner: Learner, tmp_path: Path) -> None:
    first = PACK.drills[0]
    target = tmp_path / "elsewhere"
    assert learner.drill("start", str(first.number), "--dir", str(target)).code == 0
    text = (target / PACK.id / first.filename).read_text(encoding="utf-8")
    assert text.startswith(f"# Drill {first.number} · {first.title}  ({first.section_title}, pack {PACK.id})")
    assert f"drill check {first.number}" in text
    assert not learner.workspace.exists()


def test_an_attempt_from_drillkit_0_1_is_checked_where_it_is(learner: Learner) -> None:
    """0.1 wrote `drillwork/NN_slug.py`; upgrading must not lose or hide that attempt."""
    legacy = learner.workspace / SELECT.filename
    legacy.parent.mkdir(parents=True)
    legacy.write_text(
        f"# Drill {SELECT.number} · {SELECT.title}\n#\n"
        + SELECT.solution_path.read_text(encoding="utf-8")
        + "# typed in 0.1\n",
        encoding="utf-8",
    )
    started = learner.drill("start", N)
    assert started.code == 0 and "Kept your existing attempt" in started.stdout
    assert not learner.attempt(SELECT).exists()
    result = learner.drill("check", N, "--json")
    assert result.code == 0 and result.json["file"] == str(legacy.resolve())
    rows = learner.drill("list", "--json").json["drills"]
    assert next(r for r in rows if r["slug"] == SELECT.slug)["status"] == "passed"


def test_status_moves_through_the_loop(learner: Learner) -> None:
    select, insert, get_db = SELECT, PACK.get("insert"), PACK.get("get_db")

    def status(slug: str) -> str:
        rows = learner.drill("list", "--json").json["drills"]
        return next(r["status"] for r in rows if r["slug"] == slug)

    assert status(select.slug) == "not started"
    learner.drill("start", N)
    assert status(select.slug) == "started"
    assert learner.drill("check", N).code == 1
    assert status(select.slug) == "started"  # checking the blank starter is not an attempt
    attempt = learner.attempt(select)
    attempt.write_text(attempt.read_text(encoding="utf-8") + "docs = []\n", encoding="utf-8")
    assert learner.drill("check", N).code == 1
    assert status(select.slug) == "attempted"
    attempt.write_text(select.solution_path.read_text(encoding="utf-8") + "# mine\n", encoding="utf-8")
    assert learner.drill("check", N).code == 0
    assert status(select.slug) == "passed"
    assert learner.drill("reveal", N).code == 0  # attempted: no confirmation needed
    assert status(select.slug) == "passed"  # revealed after passing keeps the clean pass

    learner.drill("reveal", str(insert.number), "--yes")
    mine = learner.cwd / "mine_insert.py"  # the learner types the revealed answer in
    typed = insert.solution_path.read_text(encoding="utf-8") + "# typed in by me\n"
    mine.write_text(typed, encoding="utf-8")
    assert learner.drill("check", str(insert.number), "--file", str(mine)).code == 0
    assert status(insert.slug) == "passed after reveal"

    smoke = learner.drill("check", str(get_db.number), "--file", str(get_db.solution_path))
    assert smoke.code == 0 and "not counted in your progress" in smoke.stdout
    assert status(get_db.slug) == "not started"  # checking the shipped answer proves nothing

    listing = learner.drill("list")
    assert f"2/{len(PACK.drills)} drills passed" in listing.stdout
    data = json.loads(Path(learner.env["DRILL_PROGRESS"]).read_text())
    assert data["version"] == 3 and data["packs"][PACK.id]["drills"][select.slug]["attempts"] == 2
    assert get_db.slug not in data["packs"][PACK.id]["drills"]


def test_list_names_the_pack_first(learner: Learner) -> None:
    lines = learner.drill("list").stdout.splitlines()
    assert lines[0].startswith(f"Pack {PACK.id} · {PACK.title}")
    listing = learner.drill("list", "--json").json
    assert [r["slug"] for r in listing["drills"]] == [d.slug for d in PACK.drills]
    assert listing["total"] == len(PACK.drills)


def test_reveal_before_attempt_needs_yes(learner: Learner) -> None:
    result = learner.drill("reveal", N)
    assert result.code == 2
    assert "--yes" in one_clear_line(result.stderr)
    shown = learner.drill("reveal", N, "--yes")
    assert shown.code == 0
    assert "order_by" in shown.stdout and "why it is written this way" in shown.stdout


def test_reveal_shows_diff_against_attempt(learner: Learner) -> None:
    learner.drill("start", N)
    attempt = learner.attempt(SELECT)
    attempt.write_text(attempt.read_text(encoding="utf-8") + "docs = []\n", encoding="utf-8")
    learner.drill("check", N)
    result = learner.drill("reveal", N, "--diff")
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
    update = PACK.get("update")
    copy = learner.cwd / "copied.py"
    copy.write_text(update.solution_path.read_text(encoding="utf-8"), encoding="utf-8")
    result = learner.drill("check", str(update.number), "--file", str(copy))
    assert result.code == 0 and "not counted in your progress" in result.stdout
    rows = learner.drill("list", "--json").json["drills"]
    assert next(r for r in rows if r["slug"] == update.slug)["status"] == "not started"


@pytest.mark.parametrize("args", [(), ("next",), ("progress", "--json"), ("list", "--json")])
def test_non_utf8_progress_is_moved_aside_and_reported_everywhere(learner: Learner, args: tuple) -> None:
    progress = Path(learner.env["DRILL_PROGRESS"])
    progress.write_bytes(b"\xff\xfe not json")
    result = learner.drill(*args)
    assert result.code == 0 and "Traceback" not in result.stderr
    assert "moved to" in result.stderr
    (backup,) = progress.parent.glob("progress.json.corrupt-*")
    assert backup.read_bytes() == b"\xff\xfe not json"


def test_a_failure_s_text_is_capped_wherever_it_comes_from() -> None:
    from drillkit.check.framework import TEXT_LIMIT, Check, Fail, _result_of

    check = Check("lists everything", lambda ctx: None)
    result = _result_of(check, Fail("why", actual="x" * 1_000_000, expected="short"), None, ())
    assert result.expected == "short" and result.actual is not None
    assert result.actual.startswith("x" * TEXT_LIMIT) and result.actual.endswith("(996,000 more characters)")

"""The practice loop: dashboard, hints, reset, SQL trace, reveal, JSON output, watch."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.conftest import Learner, builtin_pack, run_schemas

PACK = builtin_pack()
SELECT = PACK.get("select")
N = str(SELECT.number)
DOCS_FOR_USER = PACK.get("docs_for_user")


def flat(text: str) -> str:
    """Output with the terminal's line wrapping undone, to look for a sentence in it."""
    return " ".join(text.split())


def test_bare_drill_and_next_show_the_dashboard(learner: Learner) -> None:
    first = PACK.drills[0]
    bare = learner.drill()
    assert bare.code == 0
    assert f"0/{len(PACK.drills)} passed" in bare.stdout
    assert f"Next: drill {first.number} · {first.title}" in bare.stdout
    assert f"drill start {first.number}" in bare.stdout
    learner.drill("start", str(first.number))
    assert f"drill check {first.number}" in learner.drill("next").stdout


def test_hints_unlock_one_at_a_time_and_are_recorded(learner: Learner) -> None:
    total = len(SELECT.hints)
    assert total >= 2
    general = [h for h in SELECT.hints if h.check is None]
    first = learner.drill("hint", N)
    assert f"Hint 1/{total}" in first.stdout and f"Hint 2/{total}" not in first.stdout
    if general:  # with no failed check to go by, a general hint comes first
        assert flat(general[0].text) in flat(first.stdout)
    second = learner.drill("hint", N)
    assert f"Hint 1/{total}" in second.stdout and f"Hint 2/{total}" in second.stdout
    from drillkit.commands.practice import hint_drill

    for shown in range(3, total + 1):  # the rest in-process: one new hint each time
        hinted = hint_drill(learner.paths, SELECT)
        assert hinted.new and len(hinted.shown) == shown
    last = learner.drill("hint", N)
    assert "every hint" in last.stdout
    # Every hint was shown once, and never the whole answer.
    for hint in SELECT.hints:
        assert flat(hint.text) in flat(last.stdout)
    assert "docs = session.scalars(stmt).all()" not in last.stdout
    entry = learner.progress["packs"][PACK.id]["drills"][SELECT.slug]
    assert sorted(entry["hints_shown"]) == list(range(total)) and entry["hints_used"] == total


def test_the_hint_fits_the_check_that_failed(learner: Learner) -> None:
    """After a failed check with a hint of its own, the report says so and `drill hint` gives
    that hint first. (The check runs in-process; the hint as the learner reads it, through the CLI.)"""
    from io import StringIO

    from rich.console import Console

    from drillkit import render
    from drillkit.commands.check import check_drill

    def report_text(checked) -> str:
        console = Console(file=StringIO(), width=120, no_color=True, highlight=False)
        render.report(console, checked)
        return flat(console.file.getvalue())

    answer = SELECT.answers_dir / "fail_oldest_first.py"  # right rows, wrong order
    checked = check_drill(learner.paths, SELECT, answer, timeout=30)
    failed = [r for r in checked.report.results if r.status == "failed"]
    assert len(failed) == 1 and failed[0].key
    tied = [h for h in SELECT.hints if h.check == failed[0].key]
    assert tied, "the pack ties a hint to this check"
    assert learner.progress["packs"][PACK.id]["drills"][SELECT.slug]["last_failed"] == [failed[0].key]
    assert checked.hint_waiting == failed[0].name
    assert f"A hint about «{failed[0].name}» is waiting: drill hint {N}" in report_text(checked)

    hint = learner.drill("hint", N)
    assert hint.code == 0
    assert f"Hint 1/{len(SELECT.hints)}: (about «{failed[0].name}») {flat(tied[0].text)}" in flat(hint.stdout)
    # Once every hint about it is shown, the report stops announcing one.
    for _ in tied[1:]:
        assert check_drill(learner.paths, SELECT, answer, timeout=30).hint_waiting == failed[0].name
        assert learner.drill("hint", N).code == 0
    again = check_drill(learner.paths, SELECT, answer, timeout=30)
    assert again.hint_waiting is None
    assert "is waiting" not in report_text(again) and f"Stuck? drill hint {N}" in report_text(again)


def test_reset_keeps_a_backup(learner: Learner) -> None:
    learner.drill("start", N)
    attempt = learner.attempt(SELECT)
    attempt.write_text("docs = 'my attempt'\n", encoding="utf-8")
    refused = learner.drill("reset", N)  # no terminal and no --yes: refuse, change nothing
    assert refused.code == 2 and attempt.read_text(encoding="utf-8") == "docs = 'my attempt'\n"
    result = learner.drill("reset", N, "--yes")
    assert result.code == 0
    (backup,) = (learner.workspace / SELECT.pack_id / "backups").glob(f"{SELECT.stem}-*.py")
    assert backup.read_text(encoding="utf-8") == "docs = 'my attempt'\n"
    assert backup.name in result.stdout
    assert attempt.read_text(encoding="utf-8").startswith(f"# Drill {N} · {SELECT.title}")


def test_reset_and_start_refuse_a_folder_in_the_attempts_place(learner: Learner) -> None:
    folder = learner.attempt(SELECT)
    (folder / "notes").mkdir(parents=True)
    for args in (("start", N), ("reset", N, "--yes")):
        result = learner.drill(*args)
        assert result.code == 2 and "not a regular file" in result.stderr, result
    assert (folder / "notes").is_dir() and not (learner.workspace / SELECT.pack_id / "backups").exists()


def test_sql_trace_of_the_reference_has_order_by(learner: Learner) -> None:
    result = learner.drill("check", N, "--file", str(SELECT.solution_path), "--sql")
    assert result.code == 0
    assert "SQL your file sent (1 statement)" in result.stdout
    assert "ORDER BY documents.created_at DESC" in result.stdout


def test_failure_shows_the_statement_that_explains_it(learner: Learner) -> None:
    result = learner.drill("check", N, "--file", str(SELECT.answers_dir / "fail_sorted_in_python.py"))
    assert result.code == 1
    assert "SQL your code sent" in result.stdout
    assert "FROM documents" in result.stdout
    assert f"drill hint {N}" in result.stdout


def test_n_plus_one_is_measured(learner: Learner) -> None:
    n = str(DOCS_FOR_USER.number)
    answers = DOCS_FOR_USER.answers_dir
    lazy = learner.drill(
        "check", n, "--file", str(answers / "fail_n_plus_one_one_query_per_row.py"), "--json"
    )
    failed = [r for r in lazy.json["results"] if r["status"] == "failed"]
    assert failed and "N+1" in failed[0]["rationale"]
    # Measured: the statement count with more rows beside the count with fewer.
    counts = re.search(r"(\d+) statements with (\d+) rows, (\d+) with (\d+) rows", failed[0]["actual"])
    assert counts, failed[0]["actual"]
    before, rows_before, after, rows_after = map(int, counts.groups())
    assert rows_after > rows_before and after > before
    # It names the cause this answer has (a statement per document) without writing the fix out.
    assert "a query in a loop" in failed[0]["help"] and "select" not in failed[0]["help"]
    eager = learner.drill("check", n, "--file", str(answers / "pass_selectinload_sorted.py"), "--json")
    assert eager.code == 0
    notes = [r["note"] for r in eager.json["results"] if r["note"]]
    assert any("sorts in the database and scales better" in n for n in notes)


def test_reveal_side_by_side_and_diff(learner: Learner) -> None:
    learner.drill("start", N)
    attempt = learner.attempt(SELECT)
    attempt.write_text(attempt.read_text(encoding="utf-8") + "docs = []\n", encoding="utf-8")
    learner.drill("check", N)
    side = learner.drill("reveal", N)
    assert "your attempt" in side.stdout and "reference" in side.stdout
    assert "docs = []" in side.stdout
    unified = learner.drill("reveal", N, "--diff")
    assert "-docs = []" in unified.stdout


LIST_SHAPE = {
    "pack": dict,
    "other_packs": list,
    "drills": list,
    "passed": int,
    "total": int,
    "next": (int, type(None)),
    "reviews_due": list,
    "cards_due": int,
    "cards_total": int,
    "selfcheck": list,
}
SKILL_SHAPE = {
    "number": int,
    "id": str,
    "text": str,
    "drills": list,
    "ticked": bool,
    "earned": bool,
    "why_not": (str, type(None)),
}
REVIEW_SHAPE = {"due": (str, type(None)), "is_due": bool, "rounds": int}
ROW_SHAPE = {
    "number": int,
    "slug": str,
    "section": str,
    "title": str,
    "status": str,
    "attempts": int,
    "last_attempt": (str, type(None)),
    "file": (str, type(None)),
    "review": dict,
}
CHECK_SHAPE = {
    "drill": int,
    "slug": str,
    "title": str,
    "file": str,
    "passed": bool,
    "results": list,
    "output": str,
    "output_truncated": bool,
    "untouched_starter": bool,
    "seconds": float,
    "statements": list,
    "check_statements": list,
    "review": (dict, type(None)),
    "pack": str,
    "ref": str,
}
RESULT_SHAPE = {
    "name": str,
    "status": str,
    "rationale": (str, type(None)),
    "expected": (str, type(None)),
    "actual": (str, type(None)),
    "help": (str, type(None)),
    "sql": (str, type(None)),
    "note": (str, type(None)),
    "key": (str, type(None)),
}


PROGRESS_EXTRA = {"activity": list, "upcoming": list}  # `drill progress --json` adds its picture


def assert_shape(data: dict, shape: dict) -> None:
    assert set(data) == set(shape), set(data) ^ set(shape)
    for key, kind in shape.items():
        assert isinstance(data[key], kind), (key, data[key])


def test_json_outputs_match_the_documented_shape(learner: Learner) -> None:
    for command in ("list", "progress"):
        listing = learner.drill(command, "--json").json
        assert_shape(listing, LIST_SHAPE if command == "list" else {**LIST_SHAPE, **PROGRESS_EXTRA})
        for skill in listing["selfcheck"]:
            assert_shape(skill, SKILL_SHAPE)
        for row in listing["drills"]:
            assert_shape(row, ROW_SHAPE)
            assert_shape(row["review"], REVIEW_SHAPE)
            assert row["status"] in ("not started", "started", "attempted", "passed", "passed after reveal")
    report = learner.drill("check", N, "--file", str(SELECT.solution_path), "--json").json
    assert_shape(report, CHECK_SHAPE)
    assert report["pack"] == PACK.id and report["slug"] == SELECT.slug
    for result in report["results"]:
        assert_shape(result, RESULT_SHAPE)
        assert result["status"] in ("passed", "failed", "skipped", "error")


class Watcher:
    """`drill watch` in the background, its output readable line by line."""

    def __init__(self, learner: Learner, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "drillkit", "watch", *args],
            cwd=learner.cwd,
            env=learner.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.seen):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"never saw {text!r} in:\n{''.join(self.seen)}"
            try:
                self.seen.append(self.lines.get(timeout=remaining))
            except queue.Empty:
                continue

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str]:
        self.proc.send_signal(sig)
        _, stderr = self.proc.communicate(timeout=30)
        return self.proc.returncode, stderr


def test_watch_rechecks_on_save_and_stops_cleanly(learner: Learner) -> None:
    watcher = Watcher(learner, N)
    try:
        watcher.wait_for("save it to check")  # the fresh starter: its task, nothing checked yet
        attempt = learner.attempt(SELECT)
        attempt.write_text(SELECT.solution_path.read_text(encoding="utf-8") + "# mine\n", encoding="utf-8")
        watcher.wait_for("checks passed in")
    finally:
        code, stderr = watcher.stop()
    assert code == 130 and "Traceback" not in stderr
    assert run_schemas(learner.home) == set()


def test_watch_follows_the_learner_to_the_next_drill(learner: Learner) -> None:
    first, second = PACK.drills[:2]
    watcher = Watcher(learner)
    try:
        watcher.wait_for(f"watching drillwork/{PACK.id}/{first.filename}")
        attempt = learner.attempt(first)
        attempt.write_text(first.solution_path.read_text(encoding="utf-8") + "# mine\n", encoding="utf-8")
        watcher.wait_for(f"On to drill {second.number}")
        assert learner.attempt(second).exists()
    finally:
        code, _ = watcher.stop()
    assert code == 130


@pytest.mark.parametrize(("signum", "expected"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_watch_stops_on_sigterm_and_sighup_with_their_codes(
    learner: Learner, signum: int, expected: int
) -> None:
    watcher = Watcher(learner, N)
    try:
        watcher.wait_for("save it to check")
        time.sleep(0.5)  # inside watchfiles' wait by now, which turns any signal into Ctrl-C
    finally:
        code, stderr = watcher.stop(signum)
    assert code == expected and "Traceback" not in stderr

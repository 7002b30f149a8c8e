"""The practice loop: dashboard, hints, reset, SQL trace, reveal, JSON output, watch."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from drillkit.db import server as database
from drillkit.paths import resolve_paths
from drillkit.run.space import connect, list_run_schemas
from tests.conftest import REPO, Learner

SOLUTIONS = REPO / "solutions"
ANSWERS = REPO / "tests" / "answers"


def test_bare_drill_and_next_show_the_dashboard(learner: Learner) -> None:
    bare = learner.drill()
    assert bare.code == 0
    assert "0/7 passed" in bare.stdout
    assert "Next: drill 1 · Define a model" in bare.stdout
    assert "drill start 1" in bare.stdout
    learner.drill("start", "1")
    assert "drill check 1" in learner.drill("next").stdout


def test_hints_unlock_one_at_a_time_and_are_recorded(learner: Learner) -> None:
    first = learner.drill("hint", "3")
    assert "Hint 1/3" in first.stdout and "Hint 2/3" not in first.stdout
    second = learner.drill("hint", "3")
    assert "Hint 1/3" in second.stdout and "Hint 2/3" in second.stdout
    learner.drill("hint", "3")
    last = learner.drill("hint", "3")
    assert "every hint" in last.stdout
    assert "docs = session.scalars(stmt).all()" not in last.stdout  # never the whole answer
    import json

    data = json.loads(Path(learner.env["DRILL_PROGRESS"]).read_text(encoding="utf-8"))
    assert data["drills"]["3"]["hints_used"] == 3


def test_reset_keeps_a_backup(learner: Learner) -> None:
    learner.drill("start", "3")
    attempt = learner.workspace / "03_select.py"
    attempt.write_text("docs = 'my attempt'\n", encoding="utf-8")
    refused = learner.drill("reset", "3")  # no terminal and no --yes: refuse, change nothing
    assert refused.code == 2 and attempt.read_text(encoding="utf-8") == "docs = 'my attempt'\n"
    result = learner.drill("reset", "3", "--yes")
    assert result.code == 0
    (backup,) = (learner.workspace / "backups").glob("03_select-*.py")
    assert backup.read_text(encoding="utf-8") == "docs = 'my attempt'\n"
    assert backup.name in result.stdout
    assert attempt.read_text(encoding="utf-8").startswith("# Drill 3")


def test_sql_trace_of_the_reference_has_order_by(learner: Learner) -> None:
    result = learner.drill("check", "3", "--file", str(SOLUTIONS / "03_select.py"), "--sql")
    assert result.code == 0
    assert "SQL your file sent (1 statement)" in result.stdout
    assert "ORDER BY documents.created_at DESC" in result.stdout


def test_failure_shows_the_statement_that_explains_it(learner: Learner) -> None:
    result = learner.drill("check", "3", "--file", str(ANSWERS / "d03" / "fail_sorted_in_python.py"))
    assert result.code == 1
    assert "SQL your code sent" in result.stdout
    assert "FROM documents" in result.stdout
    assert "drill hint 3" in result.stdout


def test_n_plus_one_is_measured(learner: Learner) -> None:
    lazy = learner.drill(
        "check", "7", "--file", str(ANSWERS / "d07" / "fail_n_plus_one_one_query_per_row.py"), "--json"
    )
    failed = [r for r in lazy.json["results"] if r["status"] == "failed"]
    assert failed and "N+1" in failed[0]["rationale"]
    assert "selectinload" in failed[0]["help"]
    eager = learner.drill(
        "check", "7", "--file", str(ANSWERS / "d07" / "pass_selectinload_sorted.py"), "--json"
    )
    assert eager.code == 0
    notes = [r["note"] for r in eager.json["results"] if r["note"]]
    assert any("sorts in the database and scales better" in n for n in notes)


def test_reveal_side_by_side_and_diff(learner: Learner) -> None:
    learner.drill("start", "3")
    attempt = learner.workspace / "03_select.py"
    attempt.write_text(attempt.read_text(encoding="utf-8") + "docs = []\n", encoding="utf-8")
    learner.drill("check", "3")
    side = learner.drill("reveal", "3")
    assert "your attempt" in side.stdout and "reference" in side.stdout
    assert "docs = []" in side.stdout
    unified = learner.drill("reveal", "3", "--diff")
    assert "-docs = []" in unified.stdout


LIST_SHAPE = {
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
    report = learner.drill("check", "3", "--file", str(SOLUTIONS / "03_select.py"), "--json").json
    assert_shape(report, CHECK_SHAPE)
    for result in report["results"]:
        assert_shape(result, RESULT_SHAPE)
        assert result["status"] in ("passed", "failed", "skipped")


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
    watcher = Watcher(learner, "3")
    try:
        watcher.wait_for("save it to check")  # the fresh starter: its task, nothing checked yet
        attempt = learner.workspace / "03_select.py"
        attempt.write_text(
            (SOLUTIONS / "03_select.py").read_text(encoding="utf-8") + "# mine\n", encoding="utf-8"
        )
        watcher.wait_for("checks passed in")
    finally:
        code, stderr = watcher.stop()
    assert code == 130 and "Traceback" not in stderr
    url = database.resolve(resolve_paths(env={"DRILL_HOME": str(learner.home)})).libpq_url
    with connect(url) as conn:
        assert [s for s in list_run_schemas(conn) if s.split("_")[3] == str(watcher.proc.pid)] == []


def test_watch_follows_the_learner_to_the_next_drill(learner: Learner) -> None:
    watcher = Watcher(learner)
    try:
        watcher.wait_for("watching drillwork/01_model.py")
        attempt = learner.workspace / "01_model.py"
        attempt.write_text(
            (SOLUTIONS / "01_model.py").read_text(encoding="utf-8") + "# mine\n", encoding="utf-8"
        )
        watcher.wait_for("On to drill 2")
        assert (learner.workspace / "02_relationship.py").exists()
    finally:
        code, _ = watcher.stop()
    assert code == 130


def test_watch_stops_on_sigterm_with_143(learner: Learner) -> None:
    watcher = Watcher(learner, "3")
    try:
        watcher.wait_for("save it to check")
    finally:
        code, stderr = watcher.stop(signal.SIGTERM)
    assert code == 143 and "Traceback" not in stderr

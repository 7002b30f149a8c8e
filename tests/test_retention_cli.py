"""Retention through the real CLI: cards, self-check, review, migration. DRILL_NOW pins the time."""

from __future__ import annotations

import json
from pathlib import Path

from drillkit.pack.catalog import load_catalog, starter_text
from tests.conftest import REPO, Learner
from tests.test_cli import one_clear_line
from tests.test_progress import V1_FILE

DAY0 = "2026-05-01T09:00:00+00:00"
SOLUTION_3 = (REPO / "solutions" / "03_select.py").read_text(encoding="utf-8") + "# typed by the learner\n"


def at(when: str) -> dict[str, str]:
    return {"DRILL_NOW": when}


def stored(learner: Learner) -> dict:
    return json.loads(Path(learner.env["DRILL_PROGRESS"]).read_text(encoding="utf-8"))


def test_cards_without_a_terminal_refuses_in_one_line(learner: Learner) -> None:
    result = learner.drill("cards", **at(DAY0))
    assert result.code == 2
    assert "--stdin" in one_clear_line(result.stderr)
    assert not Path(learner.env["DRILL_PROGRESS"]).exists()


def test_cards_with_piped_keys_schedules_and_list_shows_due(learner: Learner) -> None:
    # Two cards: flip, good; flip, again; then input ends (the rest stay due).
    result = learner.drill("cards", "--stdin", input="f3\nf1\n", **at(DAY0))
    assert result.code == 0, result.stderr
    assert "back in 2 days" in result.stdout and "back in 1 day" in result.stdout
    assert "Stopped after 2 of 6" in result.stdout
    cards = stored(learner)["cards"]
    assert cards["orm"]["due"] == "2026-05-03T09:00:00.000000+00:00"
    assert cards["primary-key"]["due"] == "2026-05-02T09:00:00.000000+00:00"

    def cards_due(when: str) -> int:
        return learner.drill("list", "--json", **at(when)).json["cards_due"]

    assert cards_due(DAY0) == 4
    assert cards_due("2026-05-02T09:00:00+00:00") == 5
    assert cards_due("2026-05-03T09:00:00+00:00") == 6
    assert "4 of 6 flashcards" in learner.drill("list", **at(DAY0)).stdout

    # Grade the rest: nothing is due, and then no terminal is needed to say so.
    assert learner.drill("cards", "--stdin", input="f4f4f4f4", **at(DAY0)).code == 0
    idle = learner.drill("cards", **at(DAY0))
    assert idle.code == 0 and "No flashcards are due" in idle.stdout and "in 1 day" in idle.stdout
    # --all crams every card; not-due grades move nothing.
    before = stored(learner)["cards"]
    crammed = learner.drill("cards", "--all", "--stdin", input="f1" * 6, **at(DAY0))
    assert crammed.code == 0 and "6 cards graded: 6 again" in crammed.stdout
    assert stored(learner)["cards"] == before


def test_selfcheck_persists_and_shows_in_list(learner: Learner) -> None:
    result = learner.drill("selfcheck", "--tick", "3", "--tick", "alembic", "--tick", "insert", **at(DAY0))
    assert result.code == 0
    assert set(stored(learner)["selfcheck"]) == {"select", "alembic", "insert"}

    # Drill 3 passed cleanly; drill 4 only after revealing the answer (typed in by the learner).
    three, four = learner.cwd / "03.py", learner.cwd / "04.py"
    three.write_text(SOLUTION_3, encoding="utf-8")
    four.write_text(
        (REPO / "solutions" / "04_insert.py").read_text(encoding="utf-8") + "# mine\n", encoding="utf-8"
    )
    assert learner.drill("check", "3", "--file", str(three), **at(DAY0)).code == 0
    assert learner.drill("reveal", "4", "--yes", **at(DAY0)).code == 0
    assert learner.drill("check", "4", "--file", four, **at("2026-05-01T09:05:00+00:00")).code == 0

    items = {i["id"]: i for i in learner.drill("list", "--json", **at(DAY0)).json["selfcheck"]}
    assert items["select"]["ticked"] and items["select"]["earned"]
    assert items["alembic"]["earned"]
    assert items["insert"]["ticked"] and not items["insert"]["earned"]
    assert "only after `reveal`" in items["insert"]["why_not"]
    assert not items["models"]["ticked"]
    listing = learner.drill("list", **at(DAY0)).stdout
    assert "Self-check 3/8 ticked, 2 earned" in listing
    assert "not yet earned: insert (passed after reveal: needs a clean `drill review 4`)" in listing

    assert learner.drill("selfcheck", "--untick", "select", **at(DAY0)).code == 0
    assert set(stored(learner)["selfcheck"]) == {"alembic", "insert"}
    bad = learner.drill("selfcheck", "--tick", "42")
    assert bad.code == 2 and "no self-check item" in one_clear_line(bad.stderr)


def test_review_cycle(learner: Learner) -> None:
    drill = load_catalog().get(3)
    assert learner.drill("start", "3").code == 0
    attempt = learner.workspace / "03_select.py"
    attempt.write_text(SOLUTION_3, encoding="utf-8")

    first = learner.drill("check", "3", "--json", **at(DAY0))
    assert first.code == 0
    assert first.json["review"] == {
        "event": "scheduled",
        "due": "2026-05-02T09:00:00.000000+00:00",
        "step": 0,
        "clean": False,
    }
    early = learner.drill("review", "3", **at("2026-05-01T15:00:00+00:00"))
    assert early.code == 2 and "not due for review until Sat 02 May" in one_clear_line(early.stderr)
    assert "No drill is due" in learner.drill("review", **at("2026-05-01T15:00:00+00:00")).stdout

    day1 = "2026-05-02T10:00:00+00:00"
    listing = learner.drill("list", "--json", **at(day1)).json
    assert listing["reviews_due"] == [3]
    assert "1 drill to review (3)" in learner.drill("list", **at(day1)).stdout

    # Checking the old attempt while the review is due does not count.
    pending = learner.drill("check", "3", "--json", **at(day1))
    assert pending.json["review"]["event"] == "pending"
    assert stored(learner)["drills"]["3"]["review"]["due"] == "2026-05-02T09:00:00.000000+00:00"

    started = learner.drill("review", **at(day1))
    assert started.code == 0, started.stderr
    fresh = learner.workspace / "review" / "03_select_review1.py"
    assert fresh.read_text(encoding="utf-8") == starter_text(drill)
    assert attempt.read_text(encoding="utf-8") == SOLUTION_3  # the earlier attempt, untouched

    # `drill check 3` now checks the review file. The blank starter is not an attempt (the
    # review stays as it was); a wrong answer fails and the review slips.
    blank = learner.drill("check", "3", "--json", **at(day1))
    assert blank.code == 1 and blank.json["review"] is None
    fresh.write_text(starter_text(drill) + "docs = []\n", encoding="utf-8")
    failed = learner.drill("check", "3", "--json", **at(day1))
    assert failed.code == 1
    assert failed.json["file"] == str(fresh.resolve())
    assert failed.json["review"]["event"] == "slipped"
    assert attempt.read_text(encoding="utf-8") == SOLUTION_3

    fresh.write_text(SOLUTION_3, encoding="utf-8")
    passed = learner.drill("check", "3", "--json", **at("2026-05-02T10:30:00+00:00"))
    assert passed.code == 0
    # Slipped on the first step: back in one day again, not three.
    assert passed.json["review"] == {
        "event": "passed",
        "due": "2026-05-03T10:30:00.000000+00:00",
        "step": 0,
        "clean": False,
    }

    # The next review is a new file; done cleanly, the gap grows to three days.
    day2 = "2026-05-03T11:00:00+00:00"
    assert learner.drill("review", "3", **at(day2)).code == 0
    second = learner.workspace / "review" / "03_select_review2.py"
    assert second.read_text(encoding="utf-8") == starter_text(drill)
    second.write_text(SOLUTION_3, encoding="utf-8")
    clean = learner.drill("check", "3", **at(day2))
    assert clean.code == 0 and "Review passed cleanly" in clean.stdout and "in 3 days" in clean.stdout
    review = stored(learner)["drills"]["3"]["review"]
    assert review["due"] == "2026-05-06T11:00:00.000000+00:00"
    assert review["rounds"] == 2 and review["clean_rounds"] == 1
    assert fresh.read_text(encoding="utf-8") == SOLUTION_3  # earlier reviews are kept too


def test_version_1_progress_file_works_and_is_upgraded(learner: Learner) -> None:
    path = Path(learner.env["DRILL_PROGRESS"])
    path.write_text(json.dumps(V1_FILE), encoding="utf-8")
    listing = learner.drill("list", "--json", **at("2026-04-03T00:00:00+00:00"))
    assert listing.code == 0 and listing.stderr == ""
    rows = {r["number"]: r for r in listing.json["drills"]}
    assert rows[3]["status"] == "passed" and rows[3]["attempts"] == 2
    assert listing.json["reviews_due"] == [3]  # first review: a day after its first pass
    assert json.loads(path.read_text(encoding="utf-8"))["version"] == 1  # reading never writes

    assert learner.drill("selfcheck", "--tick", "1", **at("2026-04-03T00:00:00+00:00")).code == 0
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 2
    assert data["drills"]["3"]["attempts"] == 2 and data["drills"]["4"]["hints_used"] == 1
    assert data["selfcheck"] == {"models": "2026-04-03T00:00:00.000000+00:00"}


def test_bad_drill_now_is_one_line(learner: Learner) -> None:
    result = learner.drill("list", DRILL_NOW="tomorrow-ish")
    assert result.code == 2 and "DRILL_NOW" in one_clear_line(result.stderr)

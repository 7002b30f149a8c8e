"""Retention through the real CLI: cards, self-check, review, migration. DRILL_NOW pins the time."""

from __future__ import annotations

import json
from pathlib import Path

from drillkit import clock
from drillkit.commands.listing import list_drills
from drillkit.pack.text import starter_text
from tests.conftest import Learner, builtin_pack
from tests.test_cli import one_clear_line
from tests.test_progress import V1_FILE, V2_FILE

PACK = builtin_pack()
CARDS = [c.id for c in PACK.deck.cards]
SKILLS = PACK.deck.skills
SELECT, INSERT = PACK.get("select"), PACK.get("insert")
DAY0 = "2026-05-01T09:00:00+00:00"
SOLUTION_3 = SELECT.solution_path.read_text(encoding="utf-8") + "# typed by the learner\n"


def at(when: str) -> dict[str, str]:
    return {"DRILL_NOW": when}


def stored(learner: Learner) -> dict:
    """This pack's share of the progress file."""
    data = learner.progress
    assert data["version"] == 3
    return data["packs"][PACK.id]


def skill_for(slug: str):
    """The self-check item that the drill `slug` alone proves."""
    return next(s for s in SKILLS if s.drills == (slug,))


def test_cards_without_a_terminal_refuses_in_one_line(learner: Learner) -> None:
    result = learner.drill("cards", **at(DAY0))
    assert result.code == 2
    assert "--stdin" in one_clear_line(result.stderr)
    assert not Path(learner.env["DRILL_PROGRESS"]).exists()


def test_cards_with_piped_keys_schedules_and_list_shows_due(learner: Learner) -> None:
    n = len(CARDS)
    # Two cards: flip, good; flip, again; then input ends (the rest stay due).
    result = learner.drill("cards", "--stdin", input="f3\nf1\n", **at(DAY0))
    assert result.code == 0, result.stderr
    assert "back in 2 days" in result.stdout and "back in 1 day" in result.stdout
    assert f"Stopped after 2 of {n}" in result.stdout
    cards = stored(learner)["cards"]
    assert set(cards) == set(CARDS[:2])  # new cards come in pack order
    assert cards[CARDS[0]]["due"] == "2026-05-03T09:00:00.000000+00:00"
    assert cards[CARDS[1]]["due"] == "2026-05-02T09:00:00.000000+00:00"

    def cards_due(when: str) -> int:  # what `drill list` counts, asked in-process
        return list_drills(learner.paths, PACK, now=clock.parse(when)).cards_due

    assert cards_due(DAY0) == n - 2
    assert cards_due("2026-05-02T09:00:00+00:00") == n - 1
    assert cards_due("2026-05-03T09:00:00+00:00") == n
    assert f"{n - 2} of {n} flashcards" in learner.drill("list", **at(DAY0)).stdout

    # Grade the rest: nothing is due, and then no terminal is needed to say so.
    assert learner.drill("cards", "--stdin", input="f4" * (n - 2), **at(DAY0)).code == 0
    idle = learner.drill("cards", **at(DAY0))
    assert idle.code == 0 and "No flashcards are due" in idle.stdout and "in 1 day" in idle.stdout
    # --all crams every card; not-due grades move nothing.
    before = stored(learner)["cards"]
    crammed = learner.drill("cards", "--all", "--stdin", input="f1" * n, **at(DAY0))
    assert crammed.code == 0 and f"{n} cards graded: {n} again" in crammed.stdout
    assert stored(learner)["cards"] == before


def test_selfcheck_persists_and_shows_in_list(learner: Learner) -> None:
    select, insert = skill_for(SELECT.slug), skill_for(INSERT.slug)
    claim = next(s for s in SKILLS if not s.drills)  # no drill behind it: the tick is the claim
    untouched = next(s for s in SKILLS if s not in (select, insert, claim))
    by_number = str(SKILLS.index(select) + 1)
    result = learner.drill(
        "selfcheck", "--tick", by_number, "--tick", claim.id, "--tick", insert.id, **at(DAY0)
    )
    assert result.code == 0
    assert set(stored(learner)["selfcheck"]) == {select.id, claim.id, insert.id}

    # select passed cleanly; insert only after revealing the answer (typed in by the learner).
    mine_select, mine_insert = learner.cwd / "mine_select.py", learner.cwd / "mine_insert.py"
    mine_select.write_text(SOLUTION_3, encoding="utf-8")
    mine_insert.write_text(INSERT.solution_path.read_text(encoding="utf-8") + "# mine\n", encoding="utf-8")
    assert learner.drill("check", SELECT.slug, "--file", str(mine_select), **at(DAY0)).code == 0
    assert learner.drill("reveal", str(INSERT.number), "--yes", **at(DAY0)).code == 0
    later = at("2026-05-01T09:05:00+00:00")
    assert learner.drill("check", str(INSERT.number), "--file", str(mine_insert), **later).code == 0

    items = {i["id"]: i for i in learner.drill("list", "--json", **at(DAY0)).json["selfcheck"]}
    assert [i["id"] for i in items.values()] == [s.id for s in SKILLS]
    assert items[select.id]["ticked"] and items[select.id]["earned"]
    assert items[claim.id]["earned"]
    assert items[insert.id]["ticked"] and not items[insert.id]["earned"]
    assert "only after `reveal`" in items[insert.id]["why_not"]
    assert not items[untouched.id]["ticked"]
    listing = learner.drill("list", **at(DAY0)).stdout
    assert f"Self-check 3/{len(SKILLS)} ticked, 2 earned" in listing
    reason = f"passed after reveal: needs a clean `drill review {INSERT.number}`"
    assert f"not yet earned: {insert.label} ({reason})" in listing

    assert learner.drill("selfcheck", "--untick", select.id, **at(DAY0)).code == 0
    assert set(stored(learner)["selfcheck"]) == {claim.id, insert.id}
    for wrong in (str(len(SKILLS) + 1), "nosuchitem"):
        bad = learner.drill("selfcheck", "--tick", wrong)
        assert bad.code == 2 and "no self-check item" in one_clear_line(bad.stderr)
    assert set(stored(learner)["selfcheck"]) == {claim.id, insert.id}


def test_review_cycle(learner: Learner) -> None:
    drill = SELECT
    n = str(drill.number)
    assert learner.drill("start", n).code == 0
    attempt = learner.attempt(drill)
    attempt.write_text(SOLUTION_3, encoding="utf-8")

    first = learner.drill("check", n, "--json", **at(DAY0))
    assert first.code == 0
    assert first.json["review"] == {
        "event": "scheduled",
        "due": "2026-05-02T09:00:00.000000+00:00",
        "step": 0,
        "clean": False,
    }
    early = learner.drill("review", n, **at("2026-05-01T15:00:00+00:00"))
    assert early.code == 2 and "not due for review until Sat 02 May" in one_clear_line(early.stderr)
    assert "No drill is due" in learner.drill("review", **at("2026-05-01T15:00:00+00:00")).stdout

    day1 = "2026-05-02T10:00:00+00:00"
    listing = learner.drill("list", "--json", **at(day1)).json
    assert listing["reviews_due"] == [drill.number]
    assert f"1 drill to review ({n})" in learner.drill("list", **at(day1)).stdout

    # Checking the old attempt while the review is due does not count.
    pending = learner.drill("check", n, "--json", **at(day1))
    assert pending.json["review"]["event"] == "pending"
    assert stored(learner)["drills"][drill.slug]["review"]["due"] == "2026-05-02T09:00:00.000000+00:00"

    started = learner.drill("review", **at(day1))
    assert started.code == 0, started.stderr
    fresh = learner.review(drill, 1)
    assert fresh.read_text(encoding="utf-8") == starter_text(drill)
    assert attempt.read_text(encoding="utf-8") == SOLUTION_3  # the earlier attempt, untouched

    # `drill check N` now checks the review file. The blank starter is not an attempt (the
    # review stays as it was); a wrong answer fails and the review slips.
    blank = learner.drill("check", n, "--json", **at(day1))
    assert blank.code == 1 and blank.json["review"] is None
    fresh.write_text(starter_text(drill) + "docs = []\n", encoding="utf-8")
    failed = learner.drill("check", n, "--json", **at(day1))
    assert failed.code == 1
    assert failed.json["file"] == str(fresh.resolve())
    assert failed.json["review"]["event"] == "slipped"
    assert attempt.read_text(encoding="utf-8") == SOLUTION_3

    fresh.write_text(SOLUTION_3, encoding="utf-8")
    passed = learner.drill("check", n, "--json", **at("2026-05-02T10:30:00+00:00"))
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
    assert learner.drill("review", n, **at(day2)).code == 0
    second = learner.review(drill, 2)
    assert second.read_text(encoding="utf-8") == starter_text(drill)
    second.write_text(SOLUTION_3, encoding="utf-8")
    clean = learner.drill("check", n, **at(day2))
    assert clean.code == 0 and "Review passed cleanly" in clean.stdout and "in 3 days" in clean.stdout
    review = stored(learner)["drills"][drill.slug]["review"]
    assert review["due"] == "2026-05-06T11:00:00.000000+00:00"
    assert review["rounds"] == 2 and review["clean_rounds"] == 1
    assert fresh.read_text(encoding="utf-8") == SOLUTION_3  # earlier reviews are kept too


def test_version_1_progress_file_works_and_is_upgraded(learner: Learner) -> None:
    path = Path(learner.env["DRILL_PROGRESS"])
    path.write_text(json.dumps(V1_FILE), encoding="utf-8")
    when = at("2026-04-03T00:00:00+00:00")
    listing = learner.drill("list", "--json", **when)
    assert listing.code == 0 and listing.stderr == ""
    rows = {r["slug"]: r for r in listing.json["drills"]}  # version 1's drills 3 and 4
    assert rows["select"]["status"] == "passed" and rows["select"]["attempts"] == 2
    assert rows["insert"]["status"] == "attempted"
    assert listing.json["reviews_due"] == [SELECT.number]  # first review: a day after its first pass
    assert json.loads(path.read_text(encoding="utf-8"))["version"] == 1  # reading never writes

    assert learner.drill("selfcheck", "--tick", "1", **when).code == 0
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 3 and set(data["packs"]) == {PACK.id}
    mine = data["packs"][PACK.id]
    assert mine["drills"]["select"]["attempts"] == 2
    assert mine["drills"]["insert"]["hints_used"] == 1 and mine["drills"]["insert"]["hints_shown"] == [0]
    assert mine["selfcheck"] == {SKILLS[0].id: "2026-04-03T00:00:00.000000+00:00"}


def test_version_2_progress_file_works_and_is_upgraded(learner: Learner) -> None:
    path = Path(learner.env["DRILL_PROGRESS"])
    path.write_text(json.dumps(V2_FILE), encoding="utf-8")
    when = at("2026-04-06T00:00:00+00:00")
    listing = learner.drill("list", "--json", **when)
    assert listing.code == 0 and listing.stderr == ""
    rows = {r["slug"]: r for r in listing.json["drills"]}
    assert rows["select"]["status"] == "passed" and rows["select"]["review"]["rounds"] == 1
    assert rows["docs_for_user"]["status"] == "attempted"
    assert listing.json["reviews_due"] == [SELECT.number]
    assert listing.json["cards_due"] == len(CARDS) - 1  # the graded card is not due until the 10th
    assert next(i for i in listing.json["selfcheck"] if i["id"] == "select")["earned"]
    assert json.loads(path.read_text(encoding="utf-8")) == V2_FILE  # reading never writes

    # The two hints shown under schema 2 count as shown: the next one is the third.
    hint = learner.drill("hint", str(SELECT.number), **when)
    assert hint.code == 0, hint.stderr
    assert f"Hint 3/{len(SELECT.hints)}" in hint.stdout and f"Hint 4/{len(SELECT.hints)}" not in hint.stdout
    mine = json.loads(path.read_text(encoding="utf-8"))["packs"][PACK.id]
    assert mine["drills"]["select"]["hints_shown"][:2] == [0, 1]
    assert len(mine["drills"]["select"]["hints_shown"]) == 3 and mine["drills"]["select"]["hints_used"] == 3
    assert mine["cards"] == V2_FILE["cards"] and mine["selfcheck"] == V2_FILE["selfcheck"]


def test_bad_drill_now_is_one_line(learner: Learner) -> None:
    result = learner.drill("list", DRILL_NOW="tomorrow-ish")
    assert result.code == 2 and "DRILL_NOW" in one_clear_line(result.stderr)

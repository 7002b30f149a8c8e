"""The learner's side, round 2: watch screens, relearning cards, `drill edit`, the progress
picture and the small things (did you mean, --version, fixes in error lines, dates, plurals)."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import subprocess
import sys
import tokenize
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from drillkit import progress, render
from drillkit.commands import edit as edit_cmd
from drillkit.commands.activity import UPCOMING_DAYS, summarize
from drillkit.commands.check import Checked
from drillkit.commands.retention import ReviewStarted, review_drill, selfcheck, toggle_skill
from drillkit.commands.watch import AllDone, Waiting, Watching, watch
from drillkit.errors import ConfigError, UnknownDrillError
from drillkit.pack.model import Drill
from drillkit.paths import Paths, resolve_paths
from drillkit.retention import schedule
from drillkit.retention.schedule import CardState
from drillkit.retention.sessions import QueuedCard, run_cards, run_selfcheck
from tests.conftest import REPO, Learner, builtin_pack
from tests.test_cli import one_clear_line
from tests.test_retention import RecordingView, keys, ticking_clock

PACK = builtin_pack()
DRILLS = PACK.drills
DECK = PACK.deck
SELECT = PACK.get("select")
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def console(width: int = 80) -> Console:
    return Console(width=width, file=io.StringIO(), force_terminal=False, highlight=False)


def text_of(con: Console) -> str:
    return con.file.getvalue()  # type: ignore[attr-defined]


def mine(drill: Drill) -> str:
    """The reference typed in by the learner: passes, and is counted."""
    return drill.solution_path.read_text(encoding="utf-8") + "# typed by me\n"


def attempt_file(paths: Paths, drill: Drill) -> Path:
    """Where `drill start` puts a drill's attempt: `<workspace>/<pack>/NN_slug.py`."""
    return paths.workspace / drill.pack_id / drill.filename


def write_attempt(paths: Paths, drill: Drill, text: str) -> None:
    path = attempt_file(paths, drill)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return resolve_paths(tmp_path / "drillwork", env={"DRILL_HOME": str(tmp_path / "home")})


@pytest.fixture
def db_paths(drill_home: Path, tmp_path: Path) -> Paths:
    """Paths whose home holds the test session's running server, for in-process checks."""
    return resolve_paths(
        tmp_path / "drillwork",
        env={"DRILL_HOME": str(drill_home), "DRILL_PROGRESS": str(tmp_path / "progress.json")},
    )


def passed(paths: Paths, *drills: Drill, when: datetime = T0) -> None:
    def change(p: progress.Progress) -> None:
        for drill in drills:
            entry = p.of(drill)
            entry.record_attempt(when.isoformat())
            entry.first_passed_at = when.isoformat()
            entry.review = schedule.first_pass(entry.review, when)

    progress.update(paths.progress_file, change)


def watched(paths: Paths, drill: Drill | None) -> tuple[list[object], str]:
    """Run `drill watch [N]` in-process with no saves: what it showed, and how it looked."""
    events: list[object] = []
    con = console()

    def show(event: object) -> None:
        events.append(event)
        render.watch_event(con, event)

    watch(paths, PACK, drill, timeout=30, show=show, changes=[])
    return events, text_of(con)


# --- drill watch -----------------------------------------------------------------------


def test_fresh_watch_shows_the_task_and_waits_for_a_save(paths: Paths) -> None:
    events, screen = watched(paths, None)
    assert [type(e) for e in events] == [Watching]  # the starter is not checked: nothing to check
    assert "Created " in screen and "watching" in screen
    first_words = " ".join(DRILLS[0].task.split()[:4])
    assert first_words in " ".join(screen.split())  # the task itself, not only "watching …"
    assert attempt_file(paths, DRILLS[0]).exists()


def test_watch_of_a_passed_drill_checks_it_first(db_paths: Paths) -> None:
    passed(db_paths, SELECT)
    write_attempt(db_paths, SELECT, mine(SELECT))
    events, screen = watched(db_paths, SELECT)
    assert [type(e) for e in events] == [Checked, Waiting]
    assert "checks passed" in screen and "save to check again" in screen


def test_last_pass_ends_the_watch_with_the_first_review_note(db_paths: Paths) -> None:
    *before, last = DRILLS
    passed(db_paths, *before)
    write_attempt(db_paths, last, mine(last))
    events, screen = watched(db_paths, None)
    assert [type(e) for e in events] == [Checked, AllDone]
    assert "save to check again" not in screen  # nothing is watched any more
    assert f"First review of drill {last.number}" in screen
    assert screen.rstrip().endswith("Nothing left to watch.")
    # A counted check lands in the history `drill progress` draws from.
    assert len(progress.load(db_paths.progress_file).progress.get(last).history) == 1


def test_a_save_seen_half_done_is_checked_once_done(db_paths: Paths, monkeypatch) -> None:
    """An editor that saves in place truncates, then writes: the watch sees the empty file
    first, waits for it to fill, and checks (and counts) only what the save wrote."""
    import threading

    from drillkit.commands import watch as watching

    monkeypatch.setattr(watching, "SETTLE_SECONDS", 5.0)  # the write below lands well within it
    write_attempt(db_paths, SELECT, mine(SELECT))
    path = attempt_file(db_paths, SELECT)
    events: list[object] = []

    def saves():
        yield set()  # the first check is done: now the learner saves
        path.write_text("", encoding="utf-8")  # truncated ...
        threading.Timer(0.05, lambda: path.write_text(mine(SELECT) + "# again\n", encoding="utf-8")).start()
        yield {path}  # ... and seen before the write lands

    watch(db_paths, PACK, SELECT, timeout=30, show=events.append, changes=saves())
    checks = [e for e in events if isinstance(e, Checked)]
    assert len(checks) == 2 and all(c.report.passed for c in checks), [c.report.results for c in checks]
    assert len(progress.load(db_paths.progress_file).progress.get(SELECT).history) == 2


# --- flashcards: again comes back ------------------------------------------------------


def test_again_comes_back_at_the_end_until_graded_better() -> None:
    first, second = DECK.cards[:2]
    recorded: list[tuple[str, CardState]] = []
    view = RecordingView()
    result = run_cards(
        [QueuedCard(first, None), QueuedCard(second, None)],
        read_key=keys("f", "1", "f", "3", "f", "1", "f", "3"),  # again, good, again (2nd look), good
        clock=ticking_clock(),
        view=view,
        record=lambda card_id, state: recorded.append((card_id, state)),
    )
    fronts = [e for e in view.events if e[0] in ("front", "once more")]
    assert fronts == [
        ("front", first.id),
        ("front", second.id),
        ("once more", first.id),
        ("once more", first.id),
    ]
    assert result.grades == {first.id: "again", second.id: "good"}  # the session's first verdicts
    assert result.repeats == 2 and not result.stopped_early and result.relearn_left == 0
    # Every look is a review FSRS hears about, at its own time; the last one decides the date.
    assert [card_id for card_id, _ in recorded] == [first.id, second.id, first.id, first.id]
    last = recorded[-1][1]
    assert last.reps == 3 and last.due_at() > datetime.fromisoformat(recorded[0][1].last_review)


def test_stopping_before_the_second_look_says_the_dates_are_saved() -> None:
    result = run_cards(
        [QueuedCard(DECK.cards[0], None)],
        read_key=keys("f", "1"),
        clock=ticking_clock(),
        view=RecordingView(),
        record=lambda *_: None,
    )
    assert result.relearn_left == 1 and not result.stopped_early
    con = console()
    render.cards_done(con, result, 1)
    said = " ".join(text_of(con).split())
    assert "the rest stay due" not in said and "the new dates are saved" in said


def test_crammed_again_comes_back_but_moves_nothing() -> None:
    state = schedule.grade_card(None, "good", T0)
    recorded: list[str] = []
    view = RecordingView()
    run_cards(
        [QueuedCard(DECK.cards[0], state, counts=False)],
        read_key=keys("f", "1", "f", "4"),
        clock=ticking_clock(),
        view=view,
        record=lambda card_id, _s: recorded.append(card_id),
    )
    assert ("once more", DECK.cards[0].id) in view.events and recorded == []


# --- drill edit ------------------------------------------------------------------------

EDITOR_SCRIPT = """
import sys
path = sys.argv[-1]
with open(path, "a", encoding="utf-8") as handle:
    handle.write("# edited with " + " ".join(sys.argv[1:-1]) + "\\n")
sys.exit(int(sys.argv[1]))
"""


def editor(tmp_path: Path, code: int, *words: str) -> str:
    script = tmp_path / "fake editor.py"  # a space in the path: the variable is split like a shell would
    script.write_text(EDITOR_SCRIPT, encoding="utf-8")
    return " ".join([sys.executable, f"'{script}'", str(code), *words])


def test_edit_opens_the_next_drill_in_visual_and_passes_its_exit_code_on(
    learner: Learner, tmp_path: Path
) -> None:
    result = learner.drill(
        "edit", VISUAL=editor(tmp_path, 3, "--wait"), EDITOR=editor(tmp_path, 0, "--not-this-one")
    )
    first = DRILLS[0]
    attempt = learner.attempt(first)
    assert result.code == 3, result.stderr
    assert "Created" in result.stdout
    text = attempt.read_text(encoding="utf-8")
    assert text.startswith(f"# Drill {first.number} ") and text.endswith("# edited with 3 --wait\n")

    again = learner.drill("edit", SELECT.slug, VISUAL="", EDITOR=editor(tmp_path, 0))
    assert again.code == 0 and f"drill check {SELECT.number}" in again.stdout
    assert learner.attempt(SELECT).read_text(encoding="utf-8").endswith("with 0\n")


def test_edit_without_an_editor_says_what_to_set(learner: Learner) -> None:
    second = DRILLS[1]
    result = learner.drill("edit", str(second.number), VISUAL="", EDITOR="")
    assert result.code == 2
    line = one_clear_line(result.stderr)
    assert "$VISUAL" in line and "$EDITOR" in line and f"{PACK.id}/{second.filename}" in line
    missing = learner.drill("edit", str(second.number), VISUAL="no-such-editor-anywhere")
    assert missing.code == 2 and "no-such-editor-anywhere" in one_clear_line(missing.stderr)


def test_edit_opens_an_open_review_rather_than_the_old_attempt(paths: Paths) -> None:
    passed(paths, *DRILLS)
    later = T0 + timedelta(days=2)
    started = review_drill(paths, SELECT, PACK, now=later)
    assert isinstance(started, ReviewStarted)
    target = edit_cmd.edit_target(paths, PACK, None, now=later)  # all passed: the open review
    assert target.path == started.path and not target.created
    assert edit_cmd.edit_target(paths, PACK, SELECT, now=later).path == started.path
    with pytest.raises(ConfigError, match="drill edit N"):
        edit_cmd.edit_target(paths, PACK, None, now=T0)  # nothing unfinished, nothing open
    assert edit_cmd.editor_command(Path("x.py"), {"VISUAL": "code --wait", "EDITOR": "vi"}) == [
        "code",
        "--wait",
        "x.py",
    ]


# --- the progress picture --------------------------------------------------------------


def test_history_is_capped_and_optional(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    stamps = [(T0 + timedelta(minutes=k)).isoformat() for k in range(250)]
    progress.update(path, lambda p: [p.of(SELECT).record_attempt(s) for s in stamps])
    entry = progress.load(path).progress.get(SELECT)
    assert entry.history == stamps[-progress.HISTORY_CAP :] and entry.attempts == 250

    def stored(data: dict) -> dict:
        return data["packs"][PACK.id]["drills"][SELECT.slug]

    data = json.loads(path.read_text(encoding="utf-8"))
    del stored(data)["history"]  # a drill never checked since the field existed
    path.write_text(json.dumps(data), encoding="utf-8")
    loaded = progress.load(path)
    assert loaded.warning is None and loaded.progress.get(SELECT).history == []
    progress.update(path, lambda p: None)
    assert "history" not in stored(json.loads(path.read_text(encoding="utf-8")))  # stays optional

    stored(data)["history"] = ["yesterday"]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert progress.load(path).warning  # a bad stamp is caught on load, like any other

    stored(data)["history"] = stamps[:201]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert progress.load(path).warning  # over the cap: not a file drillkit wrote


def test_history_of_a_schema_2_file_is_carried_over(tmp_path: Path) -> None:
    numbers = {slug: n for n, slug in PACK.progress_v2}
    path = tmp_path / "progress.json"
    stamps = [(T0 + timedelta(minutes=k)).isoformat() for k in range(250)]
    old = {"version": 2, "drills": {str(numbers[SELECT.slug]): {"attempts": 250, "history": stamps}}}
    path.write_text(json.dumps(old), encoding="utf-8")
    loaded = progress.load(path)
    assert loaded.warning is None
    assert loaded.progress.get(SELECT).history == stamps[-progress.HISTORY_CAP :]


def test_activity_counts_checks_per_day_and_what_comes_due() -> None:
    checked, old, due_soon = DRILLS[2], DRILLS[4], DRILLS[3]
    p = progress.Progress()
    for hours in (0, 1, 30):
        p.of(checked).record_attempt((T0 + timedelta(hours=hours)).isoformat())
    p.of(old).last_attempt = (T0 - timedelta(days=3)).isoformat()  # checked before history: none
    p.of(checked).review = schedule.first_pass(p.of(checked).review, T0 - timedelta(days=5))  # overdue
    p.of(due_soon).review = schedule.first_pass(p.of(due_soon).review, T0 + timedelta(days=2))  # in 3 days
    p.pack(PACK.id).cards[DECK.cards[0].id] = schedule.grade_card(None, "easy", T0)  # due in 8 days
    other = progress.Progress()  # another pack's checks are not this pack's practice
    other.packs["elsewhere"] = progress.PackProgress(drills=p.view(PACK.id).drills)
    assert summarize(other, PACK, T0).total_checks == 0
    now = T0 + timedelta(days=1, hours=10)
    act = summarize(p, PACK, now)
    by_day = {d.day.isoformat(): d.checks for d in act.checks}
    assert by_day["2026-05-01"] == 2 and by_day["2026-05-02"] == 1 and by_day["2026-04-28"] == 1
    assert act.checks[-1].day == now.date() and act.checks[0].day.weekday() == 0
    assert act.total_checks == 4 and act.active_days == 3
    assert len(act.upcoming) == UPCOMING_DAYS and act.upcoming[0].day == now.date()
    due = {d.day.isoformat(): (d.reviews, d.cards) for d in act.upcoming if d.reviews or d.cards}
    new_cards = len(DECK.cards) - 1
    assert due == {"2026-05-02": (1, new_cards), "2026-05-04": (1, 0), "2026-05-09": (0, 1)}


def test_progress_json_has_the_picture_as_data(learner: Learner) -> None:
    history = ["2026-05-01T09:00:00+00:00", "2026-05-01T10:00:00+00:00"]
    stored = {
        "version": 3,
        "packs": {PACK.id: {"drills": {SELECT.slug: {"attempts": 2, "history": history}}}},
    }
    Path(learner.env["DRILL_PROGRESS"]).write_text(json.dumps(stored), encoding="utf-8")
    data = learner.drill("progress", "--json", DRILL_NOW="2026-05-02T08:00:00+00:00").json
    assert data["pack"]["id"] == PACK.id and isinstance(data["other_packs"], list)
    assert {"date": "2026-05-01", "checks": 2} in data["activity"]
    assert data["activity"][-1] == {"date": "2026-05-02", "checks": 0}
    assert data["upcoming"][0] == {"date": "2026-05-02", "reviews": 0, "cards": len(DECK.cards)}
    assert len(data["upcoming"]) == 14
    shown = learner.drill("progress", DRILL_NOW="2026-05-02T08:00:00+00:00", COLUMNS="80")
    assert shown.code == 0 and "2 checks on 1 day" in shown.stdout and "flashcards" in shown.stdout


# --- the self-check redraws in place ---------------------------------------------------


def test_interactive_selfcheck_redraws_instead_of_reprinting(paths: Paths) -> None:
    con = Console(width=80, file=io.StringIO(), force_terminal=True, highlight=False)
    latest = [selfcheck(paths, PACK)]

    def toggle(n: int) -> None:
        latest[0] = toggle_skill(paths, PACK, n)

    with render.SelfCheckScreen(con) as screen:
        made = run_selfcheck(
            count=len(latest[0].rows),
            read_key=keys("1", "3", "q"),
            show=lambda: screen.show(latest[0]),
            toggle=toggle,
        )
    assert made == 2
    raw = text_of(con)
    frames = raw.count("Self-check")
    assert frames >= 3  # drawn, then again after each of the two toggles
    # Every frame after the first moves the cursor back up over the previous one, erasing it.
    assert raw.count("\x1b[1A\x1b[2K") >= (frames - 1) * len(latest[0].rows)
    ticked = set(progress.load(paths.progress_file).progress.view(PACK.id).selfcheck)
    assert ticked == {DECK.skills[0].id, DECK.skills[2].id}


# --- small things ----------------------------------------------------------------------


def test_unknown_slug_suggests_the_close_one(learner: Learner) -> None:
    result = learner.drill("check", "selct")
    assert result.code == 2
    assert f"did you mean `select` (drill {SELECT.number})?" in one_clear_line(result.stderr)
    with pytest.raises(UnknownDrillError, match="name one by number"):
        PACK.get("xyzzy")  # nothing close: the general hint


def test_version(learner: Learner) -> None:
    from importlib import metadata

    for flag in ("--version", "-V"):
        result = learner.drill(flag)
        assert result.code == 0 and result.stdout.strip() == f"drill {metadata.version('drillkit')}"


def test_unreachable_database_url_error_says_the_fix(learner: Learner) -> None:
    result = learner.drill(
        "check", str(SELECT.number), "--file", str(SELECT.solution_path),
        DRILL_DATABASE_URL="postgresql://nobody@127.0.0.1:1/nothing",
    )  # fmt: skip
    assert result.code == 2
    line = one_clear_line(result.stderr)
    assert "cannot connect" in line and "check DRILL_DATABASE_URL" in line and "unset it" in line


def test_db_status_calls_pgdata_the_server_folder(learner: Learner) -> None:
    result = learner.drill("db", "status")
    assert result.code == 0
    assert re.search(r"server folder: \S+/pgdata \(pgdata, inside the data dir \S+\)", result.stdout)
    assert "data dir:" not in result.stdout


def test_declined_reveal_says_where_to_write(learner: Learner) -> None:
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "drillkit", "reveal", str(SELECT.number)],
            cwd=learner.cwd,
            env=learner.env,
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(master, b"n\n")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == 0, err
    assert "Nothing revealed" in out and f"drillwork/{PACK.id}/{SELECT.filename}" in out
    assert f"drill start {SELECT.number}" in out
    assert "order_by" not in out


def source_files() -> Iterator[Path]:
    """drillkit's own code and the built-in packs' (their checks' messages reach the learner
    too); not the packs' known wrong answers, which are learner files."""
    yield from (REPO / "drillkit").rglob("*.py")
    for path in (REPO / "drills").rglob("*.py"):
        if "answers" not in path.relative_to(REPO / "drills").parts:
            yield path


LITERALS = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}  # 3.12 splits f-strings


def string_literals(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every string literal: where words a person reads are (`f(s)` in code is
    a call, not a plural)."""
    with path.open("rb") as handle:
        for token in tokenize.tokenize(handle.readline):
            if token.type in LITERALS:
                yield token.start[0], token.string


def test_no_parenthesised_plurals() -> None:
    found = [
        f"{path.relative_to(REPO)}:{n}"
        for path in source_files()
        for n, text in string_literals(path)
        if re.search(r"[a-z]\(s\)", text)
    ]
    assert found == []


def test_a_terminal_width_of_zero_is_taken_as_unknown(learner: Learner) -> None:
    """COLUMNS=0 is "unknown" to Python; to Rich it was a terminal with no room, so every
    command, its errors too, printed nothing (found by a trial)."""
    listing = learner.drill("list", COLUMNS="0")
    assert listing.code == 0 and "drills passed" in listing.stdout, listing.stdout
    unknown = learner.drill("check", "99", COLUMNS="0")
    assert unknown.code == 2 and unknown.stderr.startswith("drill: error:"), unknown.stderr


def test_list_still_imports_nothing_heavy(learner: Learner) -> None:
    """`drill list` runs on every glance: its new layout must not pull in Typer, Pygments,
    the emoji table (Text.from_markup's default), Live, the scheduler, or Rich's Table (with
    the fractions and decimal modules it brings: the drill table is drawn as lines of Text)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "drillkit", "list"],
        cwd=learner.cwd,
        env={**learner.env, "COLUMNS": "80"},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and "Due now" in proc.stdout  # the packed "due" line was drawn
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    heavy = {"typer", "pygments", "rich._emoji_codes", "rich.live", "rich.syntax", "fsrs", "difflib"}
    heavy |= {"rich.table", "fractions", "decimal"}
    assert imported & heavy == set()


def test_the_workspace_follows_the_learner(learner: Learner, tmp_path: Path) -> None:
    """Started in one folder, checked from another: the attempt progress remembers is used,
    and a second `drill start` elsewhere says where the first one is."""
    drill = PACK.get("3")
    assert learner.drill("start", "3").code == 0
    first = learner.attempt(drill)
    first.write_text(first.read_text(encoding="utf-8") + "docs = []\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    moved = Learner(learner.home, elsewhere, learner.env)
    checked = moved.drill("check", "3", "--json")
    assert checked.code == 1 and checked.json["file"] == str(first.resolve())
    # A workspace the learner names is the only place looked in: no other file stands in.
    named = moved.drill("check", "3", "--dir", str(elsewhere / "ws"))
    assert named.code == 2 and named.stdout == ""
    assert named.stderr.startswith(f"drill: error: no attempt at {elsewhere / 'ws' / 'sqlalchemy'}")
    assert "run `drill start 3` first" in named.stderr  # the active pack's drill: by its number
    again = moved.drill("start", "3")
    assert again.code == 0 and "earlier attempt" in " ".join(again.stdout.split())
    assert str(first.name) in again.stdout and moved.attempt(drill).is_file()
    assert moved.drill("check", "3", "--json").json["file"] == str(moved.attempt(drill).resolve())

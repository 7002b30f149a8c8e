"""What a learner sees on an 80x24 terminal and on a wide one, rendered to fixed-width consoles.

Invariants, not snapshots: no line wider than the terminal, every drill on one line, the
header on screen, wrapped text indented under itself, no word stranded by a hard break.
No database: every screen is drawn from results built in the test.
"""

from __future__ import annotations

import io
import itertools
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from drillkit import progress, render
from drillkit.commands.activity import WEEKS, activity
from drillkit.commands.check import Checked
from drillkit.commands.doctor import Finding
from drillkit.commands.listing import list_drills
from drillkit.commands.reveal import reveal_drill
from drillkit.commands.start import start_drill
from drillkit.paths import Paths, resolve_paths
from drillkit.results import CheckReport, CheckResult
from drillkit.retention import schedule
from tests.conftest import REPO, builtin_pack, run_in_process

NOW = datetime(2026, 11, 30, 10, 5, tzinfo=UTC)
PACK = builtin_pack()
DRILLS = PACK.drills
DECK = PACK.deck
DOCS_FOR_USER = PACK.get("docs_for_user")  # the build challenge: a function to write
WIDTHS = (80, 140)


def console(width: int) -> Console:
    return Console(width=width, file=io.StringIO(), force_terminal=False, highlight=False)


def lines_of(con: Console) -> list[str]:
    text = con.file.getvalue()  # type: ignore[attr-defined]
    return [line.rstrip() for line in text.splitlines()]


def assert_fits(lines: list[str], width: int) -> None:
    too_wide = [line for line in lines if len(line) > width]
    assert not too_wide, f"wider than {width}: {too_wide}"


@pytest.fixture
def paths(tmp_path: Path) -> Paths:
    return resolve_paths(tmp_path / "drillwork", env={"DRILL_HOME": str(tmp_path / "home")})


def busy_learner(paths: Paths) -> None:
    """Every status, long-overdue reviews, two-digit attempt counts, ticks not yet earned:
    the widest cells the listing can have."""
    old = NOW - timedelta(days=40)
    revealed = {DRILLS[len(DRILLS) // 2].slug, DRILLS[-1].slug}  # passed after reveal

    def change(p: progress.Progress) -> None:
        for n, drill in enumerate(DRILLS, start=1):
            if n == 1:
                continue  # not started
            entry = p.of(drill)
            for k in range(12 + n):
                entry.record_attempt((old + timedelta(hours=5 * k + n)).isoformat())
            if n >= 3:
                entry.first_passed_at = old.isoformat()
                entry.review = schedule.first_pass(entry.review, old + timedelta(days=n))
            if drill.slug in revealed:
                entry.revealed_at = (old - timedelta(days=1)).isoformat()
        for skill in DECK.skills:
            p.pack(PACK.id).selfcheck[skill.id] = old.isoformat()

    progress.update(paths.progress_file, change)
    start_drill(paths, DRILLS[1])  # started, never checked


# --- drill list ------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("busy", [False, True], ids=["new", "busy"])
def test_list_keeps_every_drill_on_one_line(paths: Paths, width: int, busy: bool) -> None:
    if busy:
        busy_learner(paths)
    con = console(width)
    render.listing(con, list_drills(paths, PACK, now=NOW))
    lines = lines_of(con)
    assert_fits(lines, width)
    assert len(lines) <= 23, "with the prompt, the whole listing fits a 24-row terminal"
    assert lines[0].startswith(f"Pack {PACK.id} · "), "the pack comes first"
    assert lines[1].split()[:2] == ["#", "section" if width >= 120 else "drill"]
    rows = lines[2 : 2 + len(DRILLS)]
    for drill, line in zip(DRILLS, rows, strict=True):
        assert line.split()[0] == str(drill.number) and drill.title in line, line
    if width >= 120:
        assert all(d.section_title in line for d, line in zip(DRILLS, rows, strict=True))


def test_narrow_list_cuts_titles_rather_than_wrapping(paths: Paths) -> None:
    con = console(50)
    render.listing(con, list_drills(paths, PACK, now=NOW))
    lines = lines_of(con)
    assert_fits(lines, 50)
    rows = lines[2 : 2 + len(DRILLS)]
    assert [line.split()[0] for line in rows] == [str(d.number) for d in DRILLS]


@pytest.mark.parametrize("width", WIDTHS)
def test_what_next_is_one_sentence_and_selfcheck_items_stay_whole(paths: Paths, width: int) -> None:
    busy_learner(paths)
    con = console(width)
    result = list_drills(paths, PACK, now=NOW)
    render.listing(con, result)
    lines = lines_of(con)
    (summary,) = [i for i, line in enumerate(lines) if "drills passed." in line]
    assert "Next:" in lines[summary]  # no break between the count and the next step
    for skill in DECK.skills:
        assert any(f"] {skill.label}" in line for line in lines), f"{skill.label!r} split across lines"
    start = next(i for i, line in enumerate(lines) if "not yet earned:" in line)
    waiting = lines[start : next(i for i, line in enumerate(lines) if "[x] earned" in line)]
    assert all(line.startswith("  ") for line in waiting)
    reasons = [f"{r.skill.label} ({r.short_why})" for r in result.skills if r.ticked and not r.earned]
    assert any("passed after reveal" in reason for reason in reasons), "the busy learner has some"
    for reason in reasons:  # each reason whole, on one line
        assert any(reason in line for line in waiting), (reason, waiting)


@pytest.mark.parametrize("width", [30, 40])
def test_on_a_narrow_terminal_no_selfcheck_item_is_split(paths: Paths, width: int) -> None:
    """The first item too: when the heading leaves no room for it, it starts the next line.
    (An item wider than the terminal itself cannot help wrapping.)"""
    con = console(width)
    result = list_drills(paths, PACK, now=NOW)
    render.listing(con, result)
    lines = lines_of(con)
    for skill in DECK.skills:
        assert any(f"] {skill.label}" in line for line in lines), f"{skill.label!r} split across lines"


# --- check reports and doctor ----------------------------------------------------------

LONG_NAME = (
    "the documents come back newest first, ordered by created_at descending in the SQL "
    "that Postgres ran, not sorted afterwards in Python"
)


SELECT = PACK.get("select")


def report(width: int, results: list[CheckResult], file: str | None = None) -> list[str]:
    file = file or f"drillwork/{PACK.id}/{SELECT.filename}"
    rep = CheckReport(SELECT.number, SELECT.slug, SELECT.title, file, results, seconds=0.4, pack=PACK.id)
    con = console(width)
    render.report(con, Checked(rep, None))
    return lines_of(con)


@pytest.mark.parametrize("width", WIDTHS)
def test_check_names_wrap_under_themselves(width: int) -> None:
    lines = report(
        width,
        [
            CheckResult("your file runs without errors", "passed"),
            CheckResult(LONG_NAME, "failed", rationale="oldest first " * 12, help="sort in SQL " * 10),
            CheckResult(LONG_NAME, "skipped"),
        ],
    )
    assert_fits(lines, width)
    body = lines[1 : lines.index("")]
    marks = [line for line in body if line[1:3] in ("✓ ", "✗ ", "– ")]
    details = [line for line in body if line.startswith("     ")]  # why / expected / got / hint
    continued = [line for line in body if line not in marks and line not in details]
    assert len(marks) == 3
    assert all(line.startswith("   ") and line[3] != " " for line in continued), continued
    assert bool(continued) == (width < len(LONG_NAME) + 3), "the long name wraps only when narrow"


def test_reference_solution_is_not_compared_with_itself() -> None:
    rep = CheckReport(SELECT.number, SELECT.slug, SELECT.title, str(SELECT.solution_path), [], pack=PACK.id)
    rep.results.append(CheckResult("your file runs without errors", "passed"))
    con = console(80)
    render.report(con, Checked(rep, None, recorded=False))
    text = " ".join(lines_of(con))
    assert "drill reveal" not in text
    assert "reference solution, not counted" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_doctor_findings_wrap_under_themselves_and_count_in_words(width: int) -> None:
    con = console(width)
    detail = "cannot connect to PostgreSQL at postgresql://nobody@127.0.0.1:1/nothing: " + "refused " * 15
    render.findings(con, [Finding("Python", True, "3.11.2"), Finding("database", False, detail, "x " * 60)])
    lines = lines_of(con)
    assert_fits(lines, width)
    assert all(line.startswith(" ") for line in lines if line and not line.endswith("found."))
    assert lines[-1] == "1 problem found."


# --- flashcards --------------------------------------------------------------------------


@pytest.mark.parametrize("width", (40, 80))
def test_card_answers_are_reflowed_without_orphan_words(width: int) -> None:
    screen = render.CardScreen(console(width), NOW)
    for card in DECK.cards:
        screen.back(card)
    lines = lines_of(screen.console)
    assert_fits(lines, width)
    inner = width - 4  # the panel's border and padding
    texts = [line[2:-2].rstrip() for line in lines if line.startswith("│")]
    for line, nxt in itertools.pairwise(texts):
        if not nxt or line.endswith(render.SENTENCE_ENDS):
            continue  # a paragraph or sentence ends here: a break the author meant
        first_word = nxt.split()[0]
        assert len(line) + 1 + len(first_word) > inner, f"{first_word!r} would have fit after {line!r}"


def test_reflow_keeps_deliberate_breaks() -> None:
    text = "id: Mapped[int] = mapped_column(primary_key=True)\nPostgres numbers it; no Column(...),\nno flag."
    assert render.reflow(text) == (
        "id: Mapped[int] = mapped_column(primary_key=True)\nPostgres numbers it; no Column(...), no flag."
    )


# --- reveal ------------------------------------------------------------------------------


def attempted(paths: Paths) -> None:
    path = start_drill(paths, DOCS_FOR_USER).path
    path.write_text(
        path.read_text(encoding="utf-8") + "def docs_for_user(session, user_id):\n    return []\n"
    )
    progress.update(paths.progress_file, lambda p: p.of(DOCS_FOR_USER).record_attempt(NOW.isoformat()))


@pytest.mark.parametrize("width", WIDTHS)
def test_reveal_is_side_by_side_only_when_wide(paths: Paths, width: int) -> None:
    attempted(paths)
    con = console(width)
    render.revealed(con, reveal_drill(paths, DOCS_FOR_USER, now=NOW), full=False, diff=False)
    lines = lines_of(con)
    assert_fits(lines, width)
    both = [line for line in lines if "your attempt" in line and "reference" in line]
    assert bool(both) == (width >= render.SIDE_BY_SIDE_WIDTH)


def test_reveal_diff_shows_the_reference_once(paths: Paths) -> None:
    attempted(paths)
    result = reveal_drill(paths, DOCS_FOR_USER, now=NOW)
    con = console(80)
    render.revealed(con, result, full=False, diff=True)
    text = con.file.getvalue()  # type: ignore[attr-defined]
    signature = next(line for line in result.answer.splitlines() if line.startswith("def "))
    assert text.count(signature) == 1 and f"+{signature}" in text


# --- drill progress ----------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_progress_picture_fits_a_small_terminal(paths: Paths, width: int) -> None:
    busy_learner(paths)
    con = console(width)
    act = activity(paths, PACK, now=NOW)
    render.progress_picture(con, list_drills(paths, PACK, now=NOW), act)
    lines = lines_of(con)
    assert_fits(lines, width)
    assert len(lines) <= 23
    rows = {line[:3]: line[4:].split() for line in lines if line[:4] in ("Mon ", "Wed ", "Fri ")}
    assert list(rows) == ["Mon", "Wed", "Fri"]
    for weekday, cells in zip((0, 2, 4), rows.values(), strict=True):
        assert len(cells) == WEEKS - (weekday > NOW.weekday()), "one column per week, up to today"
    labels = lines[-1].split()
    assert labels[0] == f"{NOW:%a}"[:2] and len(labels) == 14


# --- --help --------------------------------------------------------------------------------


def test_help_never_cuts_a_description() -> None:
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    commands = re.findall(r"^  (\w+)  ", run_help([], env), re.MULTILINE)
    assert {"list", "check", "edit", "progress"} <= set(commands)
    for args in ([], *([c] for c in commands)):
        text = run_help(args, env)
        assert "…" not in text and "..." not in text.replace("ARGS]...", ""), text
        assert_fits(text.splitlines(), 80)


def run_help(args: list[str], env: dict[str, str]) -> str:
    result = run_in_process([*args, "--help"], REPO, env, None)
    assert result.code == 0, result.stderr
    return result.stdout

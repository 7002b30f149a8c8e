"""Everything drillkit shows a person. Plain functions from results to Rich output."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.markup import escape
from rich.padding import Padding
from rich.text import Text

from drillkit import clock
from drillkit.pack.text import logical_lines
from drillkit.words import plural

if TYPE_CHECKING:  # annotations only: `drill list` should not pay for importing these
    from rich.syntax import Syntax
    from rich.table import Table  # imported where a table is drawn (not by `drill list`)

    from drillkit.commands.activity import Activity
    from drillkit.commands.check import Checked, ReviewNote
    from drillkit.commands.edit import EditTarget
    from drillkit.commands.listing import DrillRow, Listing, SkillRow
    from drillkit.commands.practice import Hinted, Reset
    from drillkit.commands.retention import CardQueue, NothingDue, ReviewStarted, SelfCheck
    from drillkit.commands.reveal import Revealed
    from drillkit.commands.start import Started
    from drillkit.pack.model import Drill, Flashcard
    from drillkit.results import CheckReport, CheckResult
    from drillkit.retention.schedule import CardState, Grade
    from drillkit.retention.sessions import CardSessionResult

SIDE_BY_SIDE_WIDTH = 120  # narrower terminals would cut code lines in two columns
MARKS = {"passed": ("✓", "green"), "failed": ("✗", "red"), "skipped": ("–", "dim"), "error": ("!", "magenta")}
STATUS_STYLE = {
    "not started": "dim",
    "started": "yellow",
    "attempted": "yellow",
    "passed": "green",
    "passed after reveal": "cyan",
}


def shown_path(path: Path | str) -> str:
    """Relative to the current directory when that is shorter: what a person would type."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return printable(str(path))
    return printable(rel if len(rel) < len(str(path)) else str(path))


def typed_path(path: Path | str) -> str:
    """shown_path, quoted for a shell when it needs to be: part of a command to paste."""
    import shlex

    return shlex.quote(shown_path(path))


# C0 controls (but tab and newline) and DEL: escape sequences from learner output must not
# drive the terminal. Carriage returns are left to Rich, which drops them.
_CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]}
# C1 controls (CSI is one, 0x9B) and the bidirectional overrides and isolates, which reorder
# what follows on the line: shown as escapes, so that printed text cannot pose as the report.
_CONTROLS |= {
    c: f"\\u{c:04x}"
    for c in [*range(0x80, 0xA0), 0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
}


def printable(text: str) -> str:
    """Text that can be printed on any terminal: a lone surrogate (from learner output or an
    undecodable file name) becomes a visible escape like \\ud800 instead of a
    UnicodeEncodeError, and control characters become \\x1b-style escapes."""
    text = text.translate(_CONTROLS)
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _printable_report(rep: CheckReport) -> CheckReport:
    """The report with every string that learner code could have shaped made printable."""
    from dataclasses import fields, replace

    def clean(value: object) -> object:
        return printable(value) if isinstance(value, str) else value

    results = [replace(r, **{f.name: clean(getattr(r, f.name)) for f in fields(r)}) for r in rep.results]
    return replace(
        rep,
        title=printable(rep.title),
        output=printable(rep.output),
        results=results,
        statements=[printable(s) for s in rep.statements],
        check_statements=[printable(s) for s in rep.check_statements],
    )


def warning(console: Console, text: str | None) -> None:
    if text:
        console.print(f"[yellow]warning:[/] {escape(text)}", soft_wrap=True)


def relative(when: datetime, now: datetime) -> str:
    """A due time as a person says it: "due now", "2 days overdue", "in 3 days"."""
    seconds = (when - now).total_seconds()
    if seconds <= 0:
        days = int(-seconds // 86400)
        return "due now" if days == 0 else f"due, {plural(days, 'day')} overdue"
    n, unit = _due_in(seconds)
    return f"in {plural(n, 'day')}" if unit == "d" else f"in {n} {'min' if unit == 'm' else 'h'}"


def _due_in(seconds: float) -> tuple[int, str]:
    """A time ahead, rounded in the largest unit that fits: (n, "m" | "h" | "d"). Rounded
    first, so a unit's last moments read as the next unit: a day less a second is 1 day."""
    if round(seconds / 60) < 60:
        return max(1, round(seconds / 60)), "m"
    if round(seconds / 3600) < 24:
        return round(seconds / 3600), "h"
    return round(seconds / 86400), "d"


day = clock.day  # "Mon 30 Nov": the one date format, shared with the commands' messages


def short_relative(when: datetime, now: datetime) -> str:
    """`relative` in a table cell: "due now", "3d overdue", "in 3d", "in 5h", "in 20m"."""
    seconds = (when - now).total_seconds()
    if seconds <= 0:
        days = int(-seconds // 86400)
        return "due now" if days == 0 else f"{days}d overdue"
    n, unit = _due_in(seconds)
    return f"in {n}{unit}"


def short_ago(stamp: str | None, now: datetime) -> str:
    """`ago` in a table cell: "2d ago", "5h ago", "3m ago", "now"."""
    if not stamp:
        return ""
    seconds = (now - clock.parse(stamp)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "now"


# The compact table's names for statuses too long for an 80-column row.
SHORT_STATUS = {"passed after reveal": "after reveal"}
GAP = 2  # columns between table cells: Rich's default padding of one on each side


def pack_line(result: Listing, width: int | None = None) -> Text:
    """The "Pack <id> · <title> · v<version>" line, with the other packs there are: on a
    narrow terminal the pointer to `drill pack list` goes first, then the end is cut."""
    pack = result.pack
    line = Text.assemble(("Pack ", "dim"), (pack.id, "bold"), f" · {printable(pack.title)} · v{pack.version}")
    if result.other_packs:
        others = ", ".join(result.other_packs)
        tail = f"   (also: {others} — drill pack list)"
        if width is not None and line.cell_len + len(tail) > width:
            tail = f"   (also: {others})"
        line.append(tail, style="dim")
    if width is not None and line.cell_len > width:
        line.truncate(width, overflow="ellipsis")
    return line


def listing(console: Console, result: Listing) -> None:
    console.print(pack_line(result, console.width))
    console.print(drill_table(result, console.width), no_wrap=True, overflow="ellipsis")
    total = len(result.rows)
    head = f"\n{result.passed}/{total} drills passed. "
    nxt = result.next_drill
    # One print for the whole line: two prints would each wrap on their own, leaving a
    # break in the middle of the sentence.
    if nxt is None:
        console.print(
            head + "[green]Every drill passed once.[/] Keep them fresh with reviews; "
            "`drill reveal N` compares with the reference."
        )
    else:
        verb = "check" if any(r.file and r.drill is nxt for r in result.rows) else "start"
        console.print(head + f"Next: [bold]drill {verb} {nxt.number}[/] — {escape(nxt.summary)}")
    due_now(console, result)
    console.print()
    selfcheck_table(console, result.skills, compact=True)


def drill_table(result: Listing, width: int) -> Text:
    """Every drill on one line: the full table when it fits, else a compact one without the
    section column and with short forms, whose titles are cut only if even that is too wide."""
    now = result.now
    full = [
        (
            Text(str(r.drill.number)),
            Text(r.drill.section_title),
            Text(r.drill.title),
            Text(str(r.status), style=STATUS_STYLE.get(str(r.status), "")),
            Text(str(r.attempts or "")),
            Text(ago(r.last_attempt, now)),
            _review_cell(r, relative(r.review.due_at(), now) if r.review.due else ""),
        )
        for r in result.rows
    ]
    headers = ("#", "section", "drill", "status", "checks", "last check", "review")
    if _table_width(headers, full) <= width:
        return _table(headers, full, right={0, 4})
    compact = [
        (
            Text(str(r.drill.number)),
            Text(r.drill.title),
            Text(SHORT_STATUS.get(str(r.status), str(r.status)), style=STATUS_STYLE.get(str(r.status), "")),
            Text(str(r.attempts or "")),
            Text(short_ago(r.last_attempt, now)),
            _review_cell(r, short_relative(r.review.due_at(), now) if r.review.due else ""),
        )
        for r in result.rows
    ]
    headers = ("#", "drill", "status", "checks", "last", "review")
    others = _table_width(headers[:1] + headers[2:], [row[:1] + row[2:] for row in compact])
    return _table(headers, compact, right={0, 3}, title_column=1, title_width=max(8, width - others - GAP))


def _review_cell(row: DrillRow, text: str) -> Text:
    return Text(text, style="bold yellow" if row.review_due else "dim")


def _table_width(headers: tuple[str, ...], rows: list[tuple[Text, ...]]) -> int:
    widths = [max([len(h), *(row[i].cell_len for row in rows)]) for i, h in enumerate(headers)]
    return sum(widths) + GAP * (len(widths) - 1)


def _table(
    headers: tuple[str, ...],
    rows: list[tuple[Text, ...]],
    *,
    right: set[int],
    title_column: int | None = None,
    title_width: int | None = None,
) -> Text:
    """Columns laid out as Rich's borderless Table would (a bold header, cells apart by GAP,
    none wrapped), as plain lines of Text: `drill list` runs on every glance, and rich.table
    (with the fractions and decimal modules it imports) would be a tenth of its time."""
    widths = [max([len(h), *(row[i].cell_len for row in rows)]) for i, h in enumerate(headers)]
    if title_column is not None and title_width is not None:
        widths[title_column] = min(widths[title_column], title_width)
    lines = [_row(tuple(Text(h) for h in headers), widths, right, style="bold")]
    lines += [_row(row, widths, right) for row in rows]
    return Text("\n").join(lines)  # printed unwrapped: a row too wide is cut with an ellipsis


def _row(cells: tuple[Text, ...], widths: list[int], right: set[int], style: str = "") -> Text:
    line = Text(style=style)
    for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
        cell = cell.copy()
        if cell.cell_len > width:
            cell.truncate(width, overflow="ellipsis")
        if i in right:
            cell.pad_left(width - cell.cell_len)
        else:
            cell.pad_right(width - cell.cell_len)
        if i:
            line.append(" " * GAP)
        line.append_text(cell)
    line.rstrip()  # no trailing blanks: the last cells are often empty
    return line


def due_now(console: Console, result: Listing) -> None:
    """The "what is due" lines of the dashboard."""
    parts = []
    reviews = result.reviews_due
    if reviews:
        numbers = ", ".join(str(r.drill.number) for r in reviews)
        parts.append(f"{plural(len(reviews), 'drill')} to review ({numbers}): [bold]drill review[/]")
    if result.cards_due:
        parts.append(f"{result.cards_due} of {result.cards_total} flashcards: [bold]drill cards[/]")
    if parts:
        # Wrapped between the parts, never inside a command.
        for line in packed(
            Text("Due now: ", style="yellow"),
            [Text.from_markup(p, emoji=False) for p in parts],
            console.width,
        ):
            console.print(line)
        return
    upcoming = result.next_review
    due = upcoming.review.due_at() if upcoming else None
    if upcoming and due:
        console.print(
            f"Nothing due. Next review: drill {upcoming.drill.number} "
            f"{relative(due, result.now)} ({day(due)})."
        )
    else:
        console.print("Nothing due. Flashcards are up to date; drills enter review after their first pass.")


LEGEND = "[x] earned · [~] ticked, not yet earned · [ ] not ticked"


def _mark(row: SkillRow) -> Text:
    if row.earned:
        return Text("[x]", style="green")
    if row.ticked:
        return Text("[~]", style="yellow")
    return Text("[ ]", style="dim")


def selfcheck_table(console: Console, rows: list[SkillRow], *, compact: bool = False) -> None:
    """The self-check: in full for `drill selfcheck`, a few packed lines of labels for `drill list`."""
    if not compact:
        console.print(selfcheck_full(rows))
        return
    items = [_mark(row) + Text(f" {row.skill.label}") for row in rows]
    for line in packed(_selfcheck_head(rows) + Text(": "), items, console.width):
        console.print(line)
    waiting = [
        Text(f"{r.skill.label} ({r.short_why})") for r in rows if r.ticked and not r.earned and r.short_why
    ]
    if waiting:
        for line in packed(Text("  not yet earned: "), waiting, console.width, indent=4):
            line.stylize("yellow")
            console.print(line)
    console.print(Text(f"  {LEGEND} — drill selfcheck", style="dim"))


def _selfcheck_head(rows: list[SkillRow]) -> Text:
    ticked = sum(1 for r in rows if r.ticked)
    earned = sum(1 for r in rows if r.earned)
    return Text.assemble(("Self-check", "bold"), f" {ticked}/{len(rows)} ticked, {earned} earned")


def packed(head: Text, items: list[Text], width: int, indent: int = 2) -> list[Text]:
    """`head` then the items separated by " · ", wrapped between items only (never inside
    one, which would strand a word), continuation lines indented."""
    lines = [head.copy()]
    empty = True  # no item on the current line yet
    for item in items:
        piece = item if empty else Text(" · ") + item
        if lines[-1].cell_len + piece.cell_len > width and (not empty or head.cell_len > indent):
            lines.append(Text(" " * indent) + item)  # the first item too, if the head leaves no room
        else:
            lines[-1] += piece
        empty = False
    return lines


def selfcheck_full(rows: list[SkillRow]) -> Group:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False, show_header=False)
    table.add_column(justify="right")
    table.add_column()
    table.add_column(overflow="fold")
    for row in rows:
        text = Text(row.skill.text)
        if row.ticked and not row.earned and row.why_not:
            text.append(f"\n    not yet earned: {row.why_not}", style="yellow")
        table.add_row(str(row.number), _mark(row), text)
    return Group(_selfcheck_head(rows), table)


def selfcheck(console: Console, result: SelfCheck, *, interactive: bool) -> None:
    console.print(selfcheck_view(result, interactive=interactive))


def selfcheck_view(result: SelfCheck, *, interactive: bool) -> Group:
    if interactive:
        footer = f"Press 1-{len(result.rows)} to tick or untick, Enter or q when done. {LEGEND}"
    else:
        footer = f"{LEGEND}. Tick with `drill selfcheck --tick N`, untick with `--untick N`."
    return Group(selfcheck_full(result.rows), Text(footer, style="dim"))


class SelfCheckScreen:
    """The interactive self-check: drawn once, then redrawn in place on every toggle."""

    def __init__(self, console: Console) -> None:
        from rich.live import Live  # deferred: only the interactive self-check needs it

        self.live = Live(console=console, auto_refresh=False, redirect_stdout=False, redirect_stderr=False)

    def __enter__(self) -> SelfCheckScreen:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    def show(self, result: SelfCheck) -> None:
        self.live.update(selfcheck_view(result, interactive=True), refresh=True)


def task_text(task: str) -> Text:
    return Text("\n".join(logical_lines(task)))


def ago(stamp: str | None, now: datetime | None = None) -> str:
    """`5 min ago` from an ISO timestamp; empty when there is none."""
    if not stamp:
        return ""
    seconds = ((now or datetime.now(UTC)) - clock.parse(stamp)).total_seconds()
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if unit == 'day' and n > 1 else ''} ago"
    return "just now"


def started(console: Console, result: Started) -> None:
    path = shown_path(result.path)
    n = result.drill.cli_ref
    if result.created:
        console.print(f"[green]Created[/] {escape(path)}")
        if result.earlier is not None:
            console.print(
                f"[dim]Your earlier attempt at {escape(shown_path(result.earlier))} is kept; "
                "checks now use this new file.[/]"
            )
    else:
        console.print(f"[yellow]Kept your existing attempt[/] at {escape(path)} (nothing was overwritten).")
    console.print(Padding(task_text(result.drill.task), (1, 2)))
    console.print(f"Write your answer in that file, then run: [bold]drill check {n}[/]")


def report(console: Console, checked: Checked, *, sql: bool = False, watching: bool = False) -> None:
    rep = _printable_report(checked.report)
    console.print(f"[bold]Drill {rep.drill} · {escape(rep.title)}[/]  [dim]{escape(shown_path(rep.file))}[/]")
    if rep.untouched_starter:
        console.print(
            "[yellow]This is still the untouched starter[/] (not counted as an attempt). Write your "
            "answer below the `# --- your answer below` line."
        )
    for result in rep.results:
        _result(console, result)
    if rep.output.strip():
        from rich.panel import Panel

        more = " (cut short)" if rep.output_truncated else ""
        console.print(
            Panel(
                Text(rep.output.rstrip()[-3000:]),
                title=f"your code printed{more}",
                title_align="left",
                border_style="dim",
            )
        )
    if sql:
        sql_trace(console, rep.statements, "SQL your file sent")
        if rep.check_statements:
            sql_trace(console, rep.check_statements, "SQL sent while the checks called your code")
    passed = sum(1 for r in rep.results if r.status == "passed")
    total = len(rep.results)
    if rep.checker_failed:
        console.print(
            "\n[bold magenta]! The checker itself failed[/] on a check marked ! above: that is a bug "
            "in drillkit or in the pack, not your mistake, and this run was not counted. Please report it."
        )
        return
    reference = not checked.recorded and not rep.untouched_starter
    if rep.passed and reference:
        # Comparing the reference with itself teaches nothing: no `drill reveal` pointer here.
        console.print(
            f"\n[bold green]✓ All {total} checks passed[/] in {rep.seconds:.1f}s — that was the pack's "
            "reference solution, not counted in your progress. "
            f"Your own attempt: [bold]drill start {rep.ref or rep.drill}[/]"
        )
        return
    if reference:
        console.print(
            "[dim]This file is the pack's reference solution, so the check is not counted in your "
            f"progress. Your own attempt: drill start {rep.ref or rep.drill}[/]"
        )
    if rep.passed:
        console.print(
            f"\n[bold green]✓ All {total} checks passed[/] in {rep.seconds:.1f}s. "
            f"Compare with the reference: [bold]drill reveal {rep.ref or rep.drill}[/]"
        )
    else:
        console.print(
            f"\n[bold red]✗ {passed} of {total} checks passed.[/] Fix the first ✗, then "
            + (
                "save the file to check again."
                if watching
                else f"run [bold]drill check {rep.ref or rep.drill}[/] again."
            )
            + (
                f" A hint about «{checked.hint_waiting}» is waiting: "
                f"[bold]drill hint {rep.ref or rep.drill}[/]"
                if checked.hint_waiting
                else f" Stuck? [bold]drill hint {rep.ref or rep.drill}[/]"
            )
        )


def sql_trace(console: Console, statements: list[str], title: str) -> None:
    count = len(statements)
    console.print(f"\n[bold]{title}[/] ({plural(count, 'statement')}):")
    for i, statement in enumerate(statements, start=1):
        console.print(Text(f"-- {i}", style="dim"))
        console.print(_syntax(statement.strip(), "sql"))


def review_note(console: Console, note: ReviewNote | None, drill: int, now: datetime) -> None:
    if note is None:
        return
    due = note.review.due_at()
    when = f"{relative(due, now)} ({day(due)})" if due else ""
    if note.event == "scheduled":
        console.print(f"First review of drill {drill} {when}: `drill review` will give you a blank starter.")
    elif note.event == "passed" and note.clean:
        console.print(f"[green]Review passed cleanly.[/] Next review {when}, a longer gap than last time.")
    elif note.event == "passed":
        console.print(
            f"[yellow]Review passed after a slip[/] (a failed check or a reveal). Next review {when}: "
            "a slip steps the gap back (never below 1 day)."
        )
    elif note.event == "slipped":
        console.print(
            f"[yellow]This review stays due[/] and its next gap will be shorter. "
            f"Fix it and run [bold]drill check {drill}[/] again."
        )
    else:
        console.print(
            f"[yellow]Drill {drill} is due for review.[/] Checking the old attempt does not count: "
            f"[bold]drill review {drill}[/] writes a blank starter to do it from memory."
        )


def review_started(console: Console, result: ReviewStarted, now: datetime) -> None:
    drill = result.drill
    path = escape(shown_path(result.path))
    overdue = relative(result.due_since, now)
    if result.created:
        console.print(
            f"[green]Review drill {drill.number}[/] · {escape(drill.title)} ({overdue}): wrote {path}"
        )
    else:
        console.print(
            f"[yellow]Your review of drill {drill.number} is already started[/] at {path} (kept as is)."
        )
    if result.attempt:
        console.print(
            f"Your earlier attempt {escape(shown_path(result.attempt))} is untouched; don't peek at it."
        )
    console.print(Padding(task_text(drill.task), (1, 2)))
    console.print(f"Write it from memory in that file, then run: [bold]drill check {drill.cli_ref}[/]")
    if result.also_due:
        rest = ", ".join(str(d.number) for d in result.also_due)
        console.print(f"[dim]Also due: drill {rest}. Run `drill review` again after this one.[/]")


def nothing_due(console: Console, result: NothingDue, now: datetime) -> None:
    if result.next_drill and result.next_due:
        console.print(
            f"No drill is due for review. Next: drill {result.next_drill.number} "
            f"{relative(result.next_due, now)} ({day(result.next_due)})."
        )
    else:
        console.print("No drill is scheduled for review yet: a drill enters review after its first pass.")


class CardScreen:
    """The terminal side of a flashcard session (implements sessions.CardView)."""

    def __init__(self, console: Console, now: datetime) -> None:
        from rich.panel import Panel

        self.console = console
        self.now = now
        self.panel = Panel

    def front(self, card: Flashcard, position: int, total: int, *, repeat: bool = False) -> None:
        title = f"card {position} of {total}" + (" · missed earlier, once more" if repeat else "")
        self.console.print()
        self.console.print(self.panel(Text(reflow(card.front)), title=title, title_align="left"))
        self.console.print("[dim]Say the answer out loud, then press any key to flip (q stops).[/]")

    def back(self, card: Flashcard) -> None:
        self.console.print(self.panel(Text(reflow(card.back)), border_style="cyan"))
        self.console.print(
            "How well did you know it?  [bold]1[/] again  [bold]2[/] hard  [bold]3[/] good  [bold]4[/] easy"
        )

    def unknown_key(self, key: str) -> None:
        self.console.print(f"[dim]{escape(repr(key))} is not a grade: press 1-4 (or a/h/g/e), q to stop.[/]")

    def graded(self, card: Flashcard, grade: Grade, next_state: CardState | None) -> None:
        later = " It comes back at the end of this session." if grade == "again" else ""
        if next_state is None:
            self.console.print(
                f"[dim]{grade} — crammed before it was due, so its schedule is unchanged.{later}[/]"
            )
        else:
            due = next_state.due_at()
            self.console.print(f"{grade} — back {relative(due, self.now)} ({day(due)}).{later}")


SENTENCE_ENDS = (".", ":", "!", "?", ")")


def reflow(text: str) -> str:
    """Join the lines a YAML block broke inside a sentence, so the terminal wraps them
    (a hard break would leave an orphan word on a narrow screen); keep a break after a
    finished sentence or a line of code before a capital: that one the author meant."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        joined = lines and lines[-1] and line
        if joined and not (lines[-1].endswith(SENTENCE_ENDS) and line[0].isupper()):
            lines[-1] += " " + line
        else:
            lines.append(line)
    return "\n".join(lines)


def cards_nothing_due(console: Console, queue: CardQueue, now: datetime) -> None:
    when = (
        f" The next one is due {relative(queue.next_due, now)} ({day(queue.next_due)})."
        if queue.next_due
        else ""
    )
    console.print(f"No flashcards are due.{when} `drill cards --all` crams them all anyway.")


def cards_done(console: Console, result: CardSessionResult, total: int) -> None:
    graded = len(result.grades)
    counts = {g: sum(1 for v in result.grades.values() if v == g) for g in ("again", "hard", "good", "easy")}
    summary = ", ".join(f"{n} {g}" for g, n in counts.items() if n)
    line = f"\n{plural(graded, 'card')} graded{': ' + summary if summary else ''}."
    if result.repeats:
        line += f" Missed cards came back {plural(result.repeats, 'time')}."
    if result.stopped_early:
        line += f" Stopped after {graded} of {total}; the rest stay due."
    elif result.relearn_left:
        line += (
            f" Stopped before {plural(result.relearn_left, 'missed card')} came back; "
            "the new dates are saved."
        )
    console.print(line)


def marked(mark: str, style: str, body: Text) -> Table:
    """` ✓ text` whose wrapped lines stay under the text, never back at column 0."""
    from rich.table import Table

    grid = Table.grid()
    grid.add_column(width=3, no_wrap=True)
    grid.add_column()
    grid.add_row(Text(f" {mark} ", style=style), body)
    return grid


def _result(console: Console, result: CheckResult) -> None:
    mark, style = MARKS[result.status]
    console.print(marked(mark, style, Text(result.name, style=style if result.status != "passed" else "")))
    if result.status == "skipped" and result.rationale:
        console.print(Padding(Text(f"skipped: {result.rationale}", style="dim"), (0, 0, 0, 5)))
    elif result.status in ("failed", "error"):
        from rich.table import Table

        rows = Table.grid(padding=(0, 2))
        rows.add_column(style="bold")
        rows.add_column()
        if result.rationale:
            rows.add_row("why", Text(result.rationale))
        if result.expected:
            rows.add_row("expected", Text(result.expected))
        if result.actual:
            rows.add_row("got", Text(result.actual))
        if result.help:
            rows.add_row("hint", Text(result.help, style="cyan"))
        parts: list = [rows]
        if result.sql:
            parts.append(Text("SQL your code sent:", style="bold"))
            parts.append(_syntax(result.sql, "sql"))
        console.print(Padding(Group(*parts), (0, 0, 0, 5)))
    elif result.note:
        console.print(Padding(Text(result.note, style="cyan"), (0, 0, 0, 5)))


def findings(console: Console, items: list) -> None:
    for item in items:
        mark, style = MARKS["passed" if item.ok else "failed"]
        console.print(marked(mark, style, Text.assemble((f"{item.name}: ", "bold"), item.detail)))
        if item.fix:
            console.print(Padding(Text(f"fix: {item.fix}", style="cyan"), (0, 0, 0, 5)))
    bad = sum(1 for i in items if not i.ok)
    console.print("\nAll good." if not bad else f"\n{plural(bad, 'problem')} found.")


def revealed(console: Console, result: Revealed, *, full: bool, diff: bool) -> None:
    drill = result.drill
    from rich.panel import Panel

    code = (result.solution if full else result.answer).rstrip()
    console.print(f"[bold]Drill {drill.number} · {escape(drill.title)}[/] — reference solution")
    mine = printable((result.attempt_answer or "").rstrip()) or "# (empty)"
    if result.attempt_answer is not None and diff:
        pass  # the diff below holds the reference's lines already: showing it first doubles it
    elif result.attempt_answer is not None and console.width >= SIDE_BY_SIDE_WIDTH:
        from rich.table import Table

        table = Table(expand=True, show_lines=False)
        name = printable(result.attempt.name) if result.attempt else ""
        table.add_column(f"your attempt ({escape(name)})", ratio=1)  # the full path could be cut
        table.add_column("reference", ratio=1)
        table.add_row(_code(mine), _code(code))
        console.print(table)
    elif result.attempt_answer is not None:
        # Too narrow for two columns of code: one above the other, nothing cut off.
        console.print(Panel(_code(mine), title="your attempt", title_align="left", border_style="dim"))
        console.print(Panel(_code(code), title="reference", title_align="left"))
    else:
        console.print(_code(code))
    if diff and result.attempt_answer is not None:
        if result.diff:
            console.print("[bold]Your attempt → the reference[/] (answer part only):")
            # No wrapping: a diff's lines must keep their +/- prefix to be usable when piped.
            console.print(_syntax(result.diff.rstrip(), "diff", wrap=False), soft_wrap=True)
        else:
            console.print("[green]Your answer part is identical to the reference.[/]")
    explanation = "\n".join(logical_lines(drill.explanation))  # rewrap to the terminal, not the YAML
    console.print(Panel(escape(explanation), title="why it is written this way", title_align="left"))
    if result.attempt is None:
        console.print(
            f"[dim]No attempt found; `drill start {drill.cli_ref}` and type it yourself — "
            "that is the rep that sticks.[/]"
        )


def editing(console: Console, target: EditTarget) -> None:
    if target.created:
        console.print(f"[green]Created[/] {escape(shown_path(target.path))}")


def reveal_declined(console: Console, path: Path, drill: Drill) -> None:
    n, where = drill.cli_ref, escape(shown_path(path))
    if path.exists():
        console.print(f"Nothing revealed. Write your attempt in {where}, then run [bold]drill check {n}[/]")
    else:
        console.print(
            f"Nothing revealed. [bold]drill start {n}[/] writes the starter to {where}; "
            f"write your attempt there, then run [bold]drill check {n}[/]"
        )


def _code(text: str) -> Syntax:
    return _syntax(text, "python")


def _syntax(text: str, lexer: str, *, wrap: bool = True) -> Syntax:
    from rich.syntax import Syntax  # deferred: Pygments is slow to import, and `list` never needs it

    return Syntax(text, lexer, background_color="default", word_wrap=wrap)


def hinted(console: Console, result: Hinted) -> None:
    drill = result.drill
    total = len(drill.hints)
    for i, hint in enumerate(result.shown, start=1):
        newest = i == len(result.shown) and result.new
        style = "bold" if newest else "dim"
        about = f"(about «{result.about}») " if newest and result.about else ""
        console.print(
            Text.assemble(
                (f"Hint {i}/{total}: ", style), (about, "dim"), Text(hint.text, style="" if newest else "dim")
            )
        )
    if result.exhausted:
        console.print(
            f"\nThat is every hint for drill {drill.cli_ref}. Try once more with "
            f"[bold]drill check {drill.cli_ref}[/]; "
            f"[bold]drill reveal {drill.cli_ref}[/] shows the reference."
        )
    else:
        console.print(f"\nStill stuck after trying? [bold]drill hint {drill.cli_ref}[/] gives the next one.")


def reset_done(console: Console, result: Reset) -> None:
    if result.backup:
        console.print(f"Your previous attempt is kept at [bold]{escape(shown_path(result.backup))}[/]")
    console.print(f"[green]Fresh starter[/] at {escape(shown_path(result.path))}")


def progress_bar(done: int, total: int, width: int = 28) -> Text:
    filled = round(width * done / total) if total else 0
    return Text.assemble(("━" * filled, "green"), ("━" * (width - filled), "dim"), f" {done}/{total} passed")


# Checks per day -> a cell of the heatmap; glyphs differ too, so it reads without colour.
HEAT = ((1, "░", "green"), (2, "▒", "green"), (4, "▓", "green"), (7, "█", "bold green"))
WEEKDAY_LABELS = ("Mon", "", "Wed", "", "Fri", "", "")
DAYS_A_WEEK = len(WEEKDAY_LABELS)


def _heat(checks: int) -> tuple[str, str]:
    cell = ("·", "dim")
    for low, glyph, style in HEAT:
        if checks >= low:
            cell = (glyph, style)
    return cell


def progress_picture(console: Console, result: Listing, act: Activity) -> None:
    """`drill progress`: the bar, then where practice happened and what comes due."""
    console.print(progress_bar(result.passed, len(result.rows)))
    for line in [Text(), *heatmap(act), Text(), *upcoming_chart(act)]:
        console.print(line, no_wrap=True, overflow="crop")


def heatmap(act: Activity) -> list[Text]:
    """A calendar of checks per day: a column per week, Monday on top, today last."""
    weeks = [act.checks[i : i + DAYS_A_WEEK] for i in range(0, len(act.checks), DAYS_A_WEEK)]
    legend = Text("less ", style="dim")
    for glyph, style in (("·", "dim"), *((g, s) for _low, g, s in HEAT)):
        legend.append(glyph + " ", style=style)
    legend.append("more", style="dim")
    title = Text.assemble(
        ("Practice", "bold"),
        f", last {len(weeks)} weeks: {plural(act.total_checks, 'check')} on "
        f"{plural(act.active_days, 'day')}   ",
    )
    lines = [title + legend]
    months = [" "] * (4 + 2 * len(weeks))
    free = 0  # first column a month label may start at without touching the previous one
    for w, week in enumerate(weeks):
        start = week[0].day
        if (w == 0 or start.month != weeks[w - 1][0].day.month) and 4 + 2 * w >= free:
            label = f"{start:%b}"
            months[4 + 2 * w : 4 + 2 * w + len(label)] = label
            free = 4 + 2 * w + len(label) + 1
    lines.append(Text("".join(months).rstrip(), style="dim"))
    for weekday, label in enumerate(WEEKDAY_LABELS):
        line = Text(f"{label:<4}", style="dim")
        for week in weeks:
            if weekday < len(week):
                glyph, style = _heat(week[weekday].checks)
                line.append(glyph, style=style)
            line.append(" ")
        lines.append(line)
    return lines


def upcoming_chart(act: Activity, height: int = 5) -> list[Text]:
    """Reviews and cards due per day for two weeks: a stacked bar per day, count on top."""
    days = act.upcoming
    first, last = days[0].day, days[-1].day
    title = Text.assemble(("Due", "bold"), f" {day(_midday(first))} – {day(_midday(last))}: ")
    top = max(d.reviews + d.cards for d in days)
    if top == 0:
        return [title + Text("nothing; reviews start after a drill's first pass.")]
    lines = [title + Text.assemble(("██", "yellow"), " drill reviews  ", ("▒▒", "cyan"), " flashcards")]
    rows = min(height, top)
    bars = []
    for d in days:
        total = d.reviews + d.cards
        tall = -(-total * rows // top) if total else 0  # ceiling: one review still shows
        low = max(1, round(d.reviews * tall / total)) if d.reviews else 0
        if d.cards and low == tall and tall > 1:
            low -= 1  # both kinds stay visible
        bars.append((total, tall, low))
    lines.append(Text("  " + "".join(f"{t:>2} " if t else "   " for t, _h, _l in bars).rstrip(), style="dim"))
    for level in range(rows, 0, -1):
        line = Text("  ")
        for _total, tall, low in bars:
            if tall >= level:
                line.append("██" if level <= low else "▒▒", style="yellow" if level <= low else "cyan")
            else:
                line.append("  ")
            line.append(" ")
        lines.append(line)
    lines.append(Text("  " + " ".join(f"{_midday(d.day):%a}"[:2] for d in days), style="dim"))
    return lines


def _midday(when: date) -> datetime:
    return datetime(when.year, when.month, when.day, 12, tzinfo=UTC)


def dashboard(console: Console, result: Listing) -> None:
    console.print(Text.assemble(("drillkit ", "bold"), progress_bar(result.passed, len(result.rows))))
    for row in result.reviews_due:
        console.print(
            f"[bold yellow]Review due:[/] drill {row.drill.number} · {escape(row.drill.title)} — "
            f"[bold]drill review {row.drill.number}[/]"
        )
    if result.cards_due:
        console.print(f"[bold yellow]{plural(result.cards_due, 'flashcard')} due[/] — [bold]drill cards[/]")
    nxt = result.next_drill
    if nxt is None:
        console.print("Every drill passed. [bold]drill list[/] shows them all; reveal any to compare.")
        return
    row = next(r for r in result.rows if r.drill is nxt)
    verb = "check" if row.file else "start"
    console.print(f"\nNext: [bold]drill {nxt.number} · {escape(nxt.title)}[/] ({escape(nxt.section_title)})")
    console.print(f"  {escape(nxt.summary)}")
    console.print(
        f"\nRun: [bold]drill {verb} {nxt.number}[/]   or   [bold]drill watch[/] to check on every save"
    )


def watch_event(console: Console, event: object) -> None:
    from drillkit.commands.check import Checked  # at run time only here: `drill list` never pays for it
    from drillkit.commands.watch import AllDone, FileProblem, Waiting, Watching

    if isinstance(event, Watching):
        drill = event.drill
        if event.moved_on:
            console.print(f"\n[bold green]On to drill {drill.number}:[/] {escape(drill.title)}")
        else:
            console.print(f"[bold]Drill {drill.number} · {escape(drill.title)}[/]")
        if event.created:
            console.print(f"[green]Created[/] {escape(shown_path(event.path))}")
        console.print(Padding(task_text(drill.task), (1, 2)))
        console.print(
            f"[dim]watching {escape(shown_path(event.path))} — write your answer and save it to check, "
            "Ctrl-C to stop[/]"
        )
    elif isinstance(event, Checked):
        if console.is_terminal:
            console.clear()
        console.rule(f"[dim]checked at {datetime.now():%H:%M:%S}[/]", style="dim")
        report(console, event, watching=True)
        review_note(console, event.review, event.report.drill, clock.now())
    elif isinstance(event, Waiting):
        path = escape(shown_path(event.path))
        console.print(f"[dim]watching {path} — save to check again, Ctrl-C to stop[/]")
    elif isinstance(event, FileProblem):
        console.print(f"[yellow]{escape(printable(event.message))}[/] — waiting for the file to come back")
    elif isinstance(event, AllDone):
        console.print("[bold green]Every drill passed.[/] Nothing left to watch.")


def packs(console: Console, rows: list) -> None:
    """`drill pack list`: one row a pack, the active one marked."""
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False)
    for name in ("", "id", "title", "version", "source", "drills", "passed"):
        table.add_column(name)
    for row in rows:
        pack = row.pack
        table.add_row(
            Text("*", style="bold green") if row.active else "",
            Text(row.id, style="bold" if row.active else ""),
            escape(pack.title) if pack else Text(row.problem or "cannot be loaded", style="red"),
            pack.version if pack else "",
            escape(row.origin if row.kind != "built-in" else "built-in"),
            str(len(pack.drills)) if pack else "",
            f"{row.passed}/{len(pack.drills)}" if pack else "",
        )
    console.print(table)
    console.print(
        "\n[dim]* active. Switch: drill pack use ID · one drill of another pack: drill check ID:SLUG[/]"
    )


def validation(console: Console, result: object) -> None:
    """`drill validate`: findings with file:line, then one line per failed case, then a summary."""
    from drillkit.pack.validate import Validation

    assert isinstance(result, Validation)
    for finding in result.findings:
        console.print(Text.assemble(("✗ ", "red"), str(finding)))
    bad = [r for r in result.results if not r.ok]
    # One drill's files failing alike (a broken checks.py, a fixture) are one line, not one each.
    alike: dict[tuple[str, str], list[object]] = {}
    for r in bad:
        alike.setdefault((r.case.drill.slug, r.detail), []).append(r)
    for (slug, detail), group in alike.items():
        if len(group) > 2:
            console.print(
                Text.assemble(("✗ ", "red"), (f"{slug}: {len(group)} files", "bold"), f" — {detail}")
            )
            continue
        for r in group:
            case = r.case  # type: ignore[attr-defined]
            label = f"{case.drill.slug}: {case.kind}" + (
                f" {case.file.name}" if case.kind == "answer" else ""
            )
            console.print(Text.assemble(("✗ ", "red"), (label, "bold"), f" — {r.detail}"))  # type: ignore[attr-defined]
    name = result.name
    runs = len(result.results)
    if result.clean:
        drills = len(result.pack.drills) if result.pack else 0
        which = (
            f"drill {result.drills[0].number} ({result.drills[0].slug})"
            if result.pack and len(result.drills) == 1 and drills > 1
            else plural(drills, "drill")
        )
        ran = (
            f"{plural(runs, 'file')} checked against Postgres, every one as labelled."
            if runs
            else "the format only (no file was run)."
        )
        console.print(f"[bold green]✓ pack {escape(name)} is valid[/]: {which}, {ran}")
    else:
        problems = len(result.findings) + len(bad)
        console.print(
            f"[bold red]✗ pack {escape(name)}: {problems} problem{'s' if problems != 1 else ''}[/] "
            f"({runs} files run)"
        )


def written(
    console: Console, files: list[Path], root: Path, then: str, changed: tuple[Path, ...] = ()
) -> None:
    """The files a scaffold made (+) and changed (~), then what to do next."""
    for f in files:
        console.print(f"  [green]+[/] {escape(shown_path(f))}")
    for f in changed:
        console.print(f"  [yellow]~[/] {escape(shown_path(f))}")
    console.print(then)


def mutation_report(console: Console, pack: object, report: object) -> None:
    """`drill validate --mutants`: a score per drill, each survivor with its diff, the total."""

    def pct(score: float | None) -> str:
        return "n/a" if score is None else f"{score:.0%}"

    threshold = pack.mutation_threshold  # type: ignore[attr-defined]
    below = report.below(threshold)  # type: ignore[attr-defined]
    for drill in report.drills:  # type: ignore[attr-defined]
        if drill.reference_fails is not None:
            console.print(
                f"[red]  n/a[/] {escape(drill.drill)}: the reference solution fails its own checks, "
                f"so no mutant was run: {escape(drill.reference_fails)}"
            )
            console.print("      fix the solution or the checks first: `drill validate` shows the run")
            continue
        marked = f", {drill.equivalent} marked equivalent" if drill.equivalent else ""
        style = "red" if drill.survivors or drill in below else "green"
        console.print(
            f"[{style}]{pct(drill.score):>5}[/] {escape(drill.drill)}: {drill.killed} of "
            f"{drill.mutants - drill.equivalent} wrong answers caught{marked}"
        )
        for r in drill.survivors:
            console.print(
                f"      [red]survived[/] {escape(r.mutant.id)} (line {r.mutant.line}): "
                f"{escape(r.mutant.description)}"
            )
            for line in r.mutant.diff.rstrip().splitlines():  # whole lines even when piped: the edit matters
                style = "red" if line.startswith("-") else "green" if line.startswith("+") else "dim"
                console.print(Text("        " + line, style=style), soft_wrap=True)
        for r in drill.equivalent_killed:
            console.print(
                f"      [yellow]marked equivalent, but a check rejects it:[/] {escape(r.mutant.id)}"
            )
        for mutant_id in drill.unknown_equivalent:
            console.print(
                f"      [yellow]marked equivalent, but no mutant has this id:[/] {escape(mutant_id)}"
            )
    total = report.score  # type: ignore[attr-defined]
    ok = report.passed(threshold)  # type: ignore[attr-defined]
    console.print(
        f"\n[bold {'green' if ok else 'red'}]mutation score {pct(total)}[/] for pack {escape(pack.id)} "  # type: ignore[attr-defined]
        f"({report.killed} of {report.mutants - report.equivalent} caught, "  # type: ignore[attr-defined]
        f"{report.equivalent} marked equivalent; threshold {threshold:.0%})"  # type: ignore[attr-defined]
    )
    if below:
        console.print(
            "[red]below the threshold:[/] "
            + ", ".join(
                escape(d.drill) + (" (its reference fails)" if d.reference_fails else f" ({pct(d.score)})")
                for d in below
            )
        )

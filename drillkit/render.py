"""Everything drillkit shows a person. Plain functions from results to Rich output."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console, Group
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from drillkit.catalog import logical_lines
from drillkit.core import Checked, Hinted, Listing, Reset, Revealed, Started
from drillkit.results import CheckResult

MARKS = {"passed": ("✓", "green"), "failed": ("✗", "red"), "skipped": ("–", "dim")}
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
        return str(path)
    return rel if len(rel) < len(str(path)) else str(path)


def warning(console: Console, text: str | None) -> None:
    if text:
        console.print(f"[yellow]warning:[/] {escape(text)}", soft_wrap=True)


def listing(console: Console, result: Listing) -> None:
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("#", justify="right")
    table.add_column("section")
    table.add_column("drill")
    table.add_column("status")
    table.add_column("checks", justify="right")
    table.add_column("last check")
    for row in result.rows:
        style = STATUS_STYLE.get(str(row.status), "")
        table.add_row(
            str(row.drill.number),
            row.drill.section_title,
            row.drill.title,
            Text(str(row.status), style=style),
            str(row.attempts or ""),
            ago(row.last_attempt),
        )
    console.print(table)
    total = len(result.rows)
    console.print(f"\n{result.passed}/{total} drills passed.", end=" ")
    nxt = result.next_drill
    if nxt is None:
        console.print("[green]All done.[/] `drill reveal N` compares any of them with the reference.")
    else:
        verb = "check" if any(r.file and r.drill is nxt for r in result.rows) else "start"
        console.print(f"Next: [bold]drill {verb} {nxt.number}[/] — {escape(nxt.summary)}")


def task_text(task: str) -> Text:
    return Text("\n".join(logical_lines(task)))


def ago(stamp: str | None, now: datetime | None = None) -> str:
    """`5 min ago` from an ISO timestamp; empty when there is none."""
    if not stamp:
        return ""
    seconds = ((now or datetime.now(UTC)) - datetime.fromisoformat(stamp)).total_seconds()
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{n} {unit}{'s' if unit == 'day' and n > 1 else ''} ago"
    return "just now"


def started(console: Console, result: Started) -> None:
    path = shown_path(result.path)
    n = result.drill.number
    if result.created:
        console.print(f"[green]Created[/] {escape(path)}")
    else:
        console.print(f"[yellow]Kept your existing attempt[/] at {escape(path)} (nothing was overwritten).")
    console.print(Padding(task_text(result.drill.task), (1, 2)))
    console.print(f"Write your answer in that file, then run: [bold]drill check {n}[/]")


def report(console: Console, checked: Checked, *, sql: bool = False) -> None:
    rep = checked.report
    console.print(f"[bold]Drill {rep.drill} · {escape(rep.title)}[/]  [dim]{escape(shown_path(rep.file))}[/]")
    if rep.untouched_starter:
        console.print(
            "[yellow]This is still the untouched starter.[/] Write your answer below the "
            "`# --- your answer below` line."
        )
    for result in rep.results:
        _result(console, result)
    if rep.output.strip():
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
    if rep.passed:
        console.print(
            f"\n[bold green]✓ All {total} checks passed[/] in {rep.seconds:.1f}s. "
            f"Compare with the reference: [bold]drill reveal {rep.drill}[/]"
        )
    else:
        console.print(
            f"\n[bold red]✗ {passed} of {total} checks passed.[/] Fix the first ✗ and run "
            f"[bold]drill check {rep.drill}[/] again. Stuck? [bold]drill hint {rep.drill}[/]"
        )


def sql_trace(console: Console, statements: list[str], title: str) -> None:
    count = len(statements)
    console.print(f"\n[bold]{title}[/] ({count} statement{'s' if count != 1 else ''}):")
    for i, statement in enumerate(statements, start=1):
        console.print(Text(f"-- {i}", style="dim"))
        console.print(Syntax(statement.strip(), "sql", word_wrap=True, background_color="default"))


def _result(console: Console, result: CheckResult) -> None:
    mark, style = MARKS[result.status]
    console.print(
        Text.assemble((f" {mark} ", style), (result.name, style if result.status != "passed" else ""))
    )
    if result.status == "failed":
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
            parts.append(Syntax(result.sql, "sql", word_wrap=True, background_color="default"))
        console.print(Padding(Group(*parts), (0, 0, 0, 5)))
    elif result.note:
        console.print(Padding(Text(result.note, style="cyan"), (0, 0, 0, 5)))


def findings(console: Console, items: list) -> None:
    for item in items:
        mark, style = MARKS["passed" if item.ok else "failed"]
        console.print(Text.assemble((f" {mark} ", style), (f"{item.name}: ", "bold"), item.detail))
        if item.fix:
            console.print(Text(f"     fix: {item.fix}", style="cyan"))
    bad = sum(1 for i in items if not i.ok)
    console.print("\nAll good." if not bad else f"\n{bad} problem(s) found.")


def revealed(console: Console, result: Revealed, *, full: bool, diff: bool) -> None:
    drill = result.drill
    code = (result.solution if full else result.answer).rstrip()
    console.print(f"[bold]Drill {drill.number} · {escape(drill.title)}[/] — reference solution")
    if result.attempt_answer is not None and not diff:
        table = Table(expand=True, show_lines=False)
        table.add_column(f"your attempt ({escape(shown_path(result.attempt))})", ratio=1)
        table.add_column("reference", ratio=1)
        table.add_row(_code(result.attempt_answer.rstrip() or "# (empty)"), _code(code))
        console.print(table)
    else:
        console.print(_code(code))
    if diff:
        if result.diff:
            console.print("[bold]Your attempt → the reference[/] (answer part only):")
            console.print(Syntax(result.diff.rstrip(), "diff", background_color="default"))
        elif result.attempt is not None:
            console.print("[green]Your answer part is identical to the reference.[/]")
    console.print(Panel(escape(drill.explanation), title="why it is written this way", title_align="left"))
    if result.attempt is None:
        console.print(
            f"[dim]No attempt found; `drill start {drill.number}` and type it yourself — "
            "that is the rep that sticks.[/]"
        )


def _code(text: str) -> Syntax:
    return Syntax(text, "python", background_color="default", word_wrap=True)


def hinted(console: Console, result: Hinted) -> None:
    drill = result.drill
    total = len(drill.hints)
    for i, hint in enumerate(result.shown, start=1):
        newest = i == len(result.shown) and result.new
        style = "bold" if newest else "dim"
        console.print(
            Text.assemble((f"Hint {i}/{total}: ", style), Text(hint, style="" if newest else "dim"))
        )
    if result.exhausted:
        console.print(
            f"\nThat is every hint for drill {drill.number}. Try once more with "
            f"[bold]drill check {drill.number}[/]; [bold]drill reveal {drill.number}[/] shows the reference."
        )
    else:
        console.print(f"\nStill stuck after trying? [bold]drill hint {drill.number}[/] gives the next one.")


def reset_done(console: Console, result: Reset) -> None:
    if result.backup:
        console.print(f"Your previous attempt is kept at [bold]{escape(shown_path(result.backup))}[/]")
    console.print(f"[green]Fresh starter[/] at {escape(shown_path(result.path))}")


def progress_bar(done: int, total: int, width: int = 28) -> Text:
    filled = round(width * done / total) if total else 0
    return Text.assemble(("━" * filled, "green"), ("━" * (width - filled), "dim"), f" {done}/{total} passed")


def dashboard(console: Console, result: Listing) -> None:
    console.print(Text.assemble(("drillkit ", "bold"), progress_bar(result.passed, len(result.rows))))
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
    from drillkit.watch import AllDone, FileProblem, Watching

    if isinstance(event, Watching):
        if event.moved_on:
            console.print(f"\n[bold green]On to drill {event.drill.number}:[/] {escape(event.drill.title)}")
            console.print(Padding(task_text(event.drill.task), (0, 2)))
        console.print(
            f"[dim]watching {escape(shown_path(event.path))} — save it to check again, Ctrl-C to stop[/]"
        )
    elif isinstance(event, Checked):
        if console.is_terminal:
            console.clear()
        console.rule(f"[dim]checked at {datetime.now():%H:%M:%S}[/]", style="dim")
        report(console, event)
        render_path = shown_path(event.report.file)
        console.print(f"[dim]watching {escape(render_path)} — save to check again, Ctrl-C to stop[/]")
    elif isinstance(event, FileProblem):
        console.print(f"[yellow]{escape(event.message)}[/] — waiting for the file to come back")
    elif isinstance(event, AllDone):
        console.print("[bold green]Every drill passed.[/] Nothing left to watch.")

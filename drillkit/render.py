"""Everything drillkit shows a person. Plain functions from results to Rich output."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from drillkit.catalog import logical_lines
from drillkit.core import Checked, Listing, Revealed, Started

if TYPE_CHECKING:
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
    for row in result.rows:
        style = STATUS_STYLE.get(str(row.status), "")
        table.add_row(
            str(row.drill.number),
            row.drill.section_title,
            row.drill.title,
            Text(str(row.status), style=style),
            str(row.attempts or ""),
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


def started(console: Console, result: Started) -> None:
    path = shown_path(result.path)
    n = result.drill.number
    if result.created:
        console.print(f"[green]Created[/] {escape(path)}")
    else:
        console.print(f"[yellow]Kept your existing attempt[/] at {escape(path)} (nothing was overwritten).")
    console.print(Padding(task_text(result.drill.task), (1, 2)))
    console.print(f"Write your answer in that file, then run: [bold]drill check {n}[/]")


def report(console: Console, checked: Checked) -> None:
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
            f"[bold]drill check {rep.drill}[/] again. Still stuck after trying? "
            f"[bold]drill reveal {rep.drill}[/]"
        )


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
            from rich.syntax import Syntax  # deferred: Pygments is slow to import

            parts.append(Text("SQL your code sent:", style="bold"))
            parts.append(Syntax(result.sql, "sql", word_wrap=True, background_color="default"))
        console.print(Padding(Group(*parts), (0, 0, 0, 5)))
    elif result.note:
        console.print(Padding(Text(result.note, style="cyan"), (0, 0, 0, 5)))


def revealed(console: Console, result: Revealed, *, full: bool) -> None:
    drill = result.drill
    from rich.syntax import Syntax

    console.print(f"[bold]Drill {drill.number} · {escape(drill.title)}[/] — reference solution")
    code = result.solution if full else result.answer
    console.print(Syntax(code.rstrip(), "python", line_numbers=False, background_color="default"))
    console.print(Panel(escape(drill.explanation), title="why it is written this way", title_align="left"))
    if result.diff:
        console.print("[bold]Your attempt → the reference[/] (answer part only):")
        console.print(Syntax(result.diff.rstrip(), "diff", background_color="default"))
    elif result.attempt is None:
        console.print(
            f"[dim]No attempt found; `drill start {drill.number}` and type it yourself — "
            "that is the rep that sticks.[/]"
        )

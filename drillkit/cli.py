"""The `drill` command line: parse, call a core function, render. Nothing else."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from drillkit import core, render
from drillkit.catalog import load_catalog
from drillkit.errors import ConfigError, ExitCode
from drillkit.paths import resolve_paths
from drillkit.runner import DEFAULT_TIMEOUT

app = typer.Typer(
    help="Type SQLAlchemy 2.0 yourself; check it against a real, disposable Postgres.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Manage the embedded PostgreSQL server.", no_args_is_help=True)
app.add_typer(db_app, name="db")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

DrillArg = Annotated[str, typer.Argument(help="Drill number (1-7) or slug.", show_default=False)]
DirOpt = Annotated[
    Path | None,
    typer.Option("--dir", help="Workspace folder (default: ./drillwork or $DRILL_WORKSPACE)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]


@app.callback(invoke_without_command=True)
def main_callback(ctx: typer.Context) -> None:
    """Bare `drill` shows the dashboard."""
    if ctx.invoked_subcommand is None:
        render.dashboard(out, core.list_drills(resolve_paths()))


@app.command("next")
def next_command(workspace: DirOpt = None) -> None:
    """Your progress and the next drill, with the command to run."""
    render.dashboard(out, core.list_drills(resolve_paths(workspace)))


def _json_rows(result: core.Listing) -> dict:
    rows = [
        {
            "number": r.drill.number,
            "slug": r.drill.slug,
            "section": r.drill.section,
            "title": r.drill.title,
            "status": r.status,
            "attempts": r.attempts,
            "last_attempt": r.last_attempt,
            "file": str(r.file) if r.file else None,
        }
        for r in result.rows
    ]
    nxt = result.next_drill
    return {
        "drills": rows,
        "passed": result.passed,
        "total": len(rows),
        "next": nxt.number if nxt else None,
    }


@app.command("list")
def list_command(workspace: DirOpt = None, as_json: JsonOpt = False) -> None:
    """All drills with their status, and what to do next."""
    result = core.list_drills(resolve_paths(workspace))
    if as_json:
        print(json.dumps(_json_rows(result), indent=2))
        return
    render.warning(err, result.warning)
    render.listing(out, result)


@app.command()
def start(drill: DrillArg, workspace: DirOpt = None) -> None:
    """Write the starter file for a drill into your workspace (never overwrites)."""
    paths = resolve_paths(workspace)
    render.started(out, core.start_drill(paths, load_catalog().get(drill)))


@app.command()
def check(
    drill: DrillArg,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="Check this file instead of the workspace one."),
    ] = None,
    workspace: DirOpt = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds your code may run before it is stopped.", min=0.1)
    ] = DEFAULT_TIMEOUT,
    as_json: JsonOpt = False,
    sql: Annotated[bool, typer.Option("--sql", help="Show every SQL statement your code sent.")] = False,
) -> None:
    """Run your file against a fresh Postgres schema and report each check."""
    paths = resolve_paths(workspace)
    checked = core.check_drill(paths, load_catalog().get(drill), file, timeout)
    if as_json:
        print(json.dumps(checked.report.to_json(), indent=2))
    else:
        render.warning(err, checked.warning)
        render.report(out, checked, sql=sql)
    raise typer.Exit(ExitCode.OK if checked.report.passed else ExitCode.CHECK_FAILED)


@app.command()
def reveal(
    drill: DrillArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Don't ask, even before an attempt.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Show the whole file, given models too.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="A unified diff instead of side by side.")] = False,
    workspace: DirOpt = None,
) -> None:
    """Show the reference solution, its explanation, and how your attempt differs."""
    paths = resolve_paths(workspace)
    target = load_catalog().get(drill)
    if not yes and core.needs_confirmation(paths, target):
        if not sys.stdin.isatty():
            raise ConfigError(
                f"you have not checked an attempt at drill {target.number} yet; "
                "try it first, or pass --yes to reveal anyway"
            )
        out.print(
            f"You have not checked an attempt at drill {target.number} yet. Typing it yourself "
            "first is what makes it stick."
        )
        if not typer.confirm("Reveal the solution anyway?", default=False):
            raise typer.Exit(ExitCode.OK)
    result = core.reveal_drill(paths, target)
    render.warning(err, result.warning)
    render.revealed(out, result, full=full, diff=diff)


@app.command()
def hint(drill: DrillArg) -> None:
    """One more hint for a drill (never the whole answer)."""
    result = core.hint_drill(resolve_paths(), load_catalog().get(drill))
    render.warning(err, result.warning)
    render.hinted(out, result)


@app.command()
def reset(
    drill: DrillArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Don't ask.")] = False,
    workspace: DirOpt = None,
) -> None:
    """Start a drill over from the starter; your old attempt is kept as a backup."""
    paths = resolve_paths(workspace)
    target = load_catalog().get(drill)
    if not yes and core.workspace_file(paths, target).exists():
        _confirm(f"Replace {render.shown_path(core.workspace_file(paths, target))} with the starter?")
    render.reset_done(out, core.reset_drill(paths, target))


@app.command()
def watch(
    drill: Annotated[
        str | None, typer.Argument(help="Drill to watch; default: follow your next unfinished drill.")
    ] = None,
    workspace: DirOpt = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds your code may run before it is stopped.", min=0.1)
    ] = DEFAULT_TIMEOUT,
) -> None:
    """Check on every save; without N, move on to the next drill after each pass."""
    import signal

    from drillkit.errors import Interrupted
    from drillkit.watch import watch as run_watch

    def on_term(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    signal.signal(signal.SIGTERM, on_term)
    catalog = load_catalog()
    target = catalog.get(drill) if drill is not None else None
    try:
        run_watch(resolve_paths(workspace), catalog, target, timeout, lambda e: render.watch_event(out, e))
    except KeyboardInterrupt:
        raise Interrupted(signal.SIGINT) from None


@app.command("progress")
def progress_command(workspace: DirOpt = None, as_json: JsonOpt = False) -> None:
    """Your progress in one line (or as JSON for scripts and classrooms)."""
    result = core.list_drills(resolve_paths(workspace))
    if as_json:
        print(json.dumps(_json_rows(result), indent=2))
        return
    out.print(render.progress_bar(result.passed, len(result.rows)))


def _confirm(question: str) -> None:
    if not sys.stdin.isatty():
        raise ConfigError(f"{question} Not a terminal, so not asking: pass --yes")
    if not typer.confirm(question, default=False):
        raise typer.Exit(ExitCode.OK)


@app.command()
def doctor(workspace: DirOpt = None) -> None:
    """Check Python, packages, the database and your files; say how to fix what is wrong."""
    from drillkit.doctor import diagnose

    findings = diagnose(resolve_paths(workspace))
    render.findings(out, findings)
    raise typer.Exit(ExitCode.OK if all(f.ok for f in findings) else ExitCode.CHECK_FAILED)


@db_app.command("status")
def db_status() -> None:
    """Show where the embedded server lives and whether it runs."""
    import os

    from drillkit import database

    paths = resolve_paths()
    if os.environ.get(database.URL_ENV):
        out.print(f"Using {database.URL_ENV} (the embedded server is not used).")
    status = database.embedded_status(paths)
    state = f"running (pid {status.pid})" if status.pid else "stopped"
    out.print(f"embedded server: {state}\ndata dir: {status.pgdata}")


@db_app.command("reset")
def db_reset(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Don't ask.")] = False,
) -> None:
    """Stop the embedded server and delete its data dir (your progress is kept)."""
    from drillkit import database

    paths = resolve_paths()
    if not yes:
        if not sys.stdin.isatty():
            raise ConfigError("`drill db reset` deletes the embedded server's data; pass --yes to confirm")
        if not typer.confirm(
            f"Delete {paths.pgdata}? Only disposable drill data lives there.", default=False
        ):
            raise typer.Exit(ExitCode.OK)
    database.reset_embedded(paths)
    out.print(f"deleted {paths.pgdata}; the next check starts a fresh server")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded server (the next check starts it again)."""
    from drillkit import database

    stopped = database.stop_embedded(resolve_paths())
    out.print("embedded server stopped" if stopped else "embedded server was not running")

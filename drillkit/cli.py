"""The `drill` command line: parse, call a core function, render. Nothing else."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from drillkit import core, fastpath, render
from drillkit.catalog import load_catalog
from drillkit.errors import ConfigError, ExitCode
from drillkit.paths import resolve_paths
from drillkit.runner import DEFAULT_TIMEOUT

app = typer.Typer(
    help="Type SQLAlchemy 2.0 yourself; check it against a real, disposable Postgres.",
    no_args_is_help=True,
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


@app.command("list")
def list_command(workspace: DirOpt = None, as_json: JsonOpt = False) -> None:
    """All drills with their status, and what to do next."""
    fastpath.list_command(workspace, as_json)  # also reached without Typer: see fastpath.py


@app.command()
def start(drill: DrillArg, workspace: DirOpt = None) -> None:
    """Write the starter file for a drill into your workspace (never overwrites)."""
    paths = resolve_paths(workspace)
    render.started(out, core.start_drill(paths, load_catalog(cache_dir=paths.cache).get(drill)))


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
) -> None:
    """Run your file against a fresh Postgres schema and report each check."""
    paths = resolve_paths(workspace)
    checked = core.check_drill(paths, load_catalog(cache_dir=paths.cache).get(drill), file, timeout)
    if as_json:
        print(json.dumps(checked.report.to_json(), indent=2))
    else:
        render.warning(err, checked.warning)
        render.report(out, checked)
    raise typer.Exit(ExitCode.OK if checked.report.passed else ExitCode.CHECK_FAILED)


@app.command()
def reveal(
    drill: DrillArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Don't ask, even before an attempt.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Show the whole file, given models too.")] = False,
    workspace: DirOpt = None,
) -> None:
    """Show the reference solution, its explanation, and how your attempt differs."""
    paths = resolve_paths(workspace)
    target = load_catalog(cache_dir=paths.cache).get(drill)
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
    render.revealed(out, result, full=full)


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


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded server (the next check starts it again)."""
    from drillkit import database

    stopped = database.stop_embedded(resolve_paths())
    out.print("embedded server stopped" if stopped else "embedded server was not running")

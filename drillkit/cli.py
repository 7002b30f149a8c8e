"""The `drill` command line: parse, call a core function, render. Nothing else."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer
from rich.console import Console
from rich.markup import escape

from drillkit import clock, fastpath, jsonout, render
from drillkit.attempts import workspace_file
from drillkit.commands import listing, practice, retention
from drillkit.commands import reveal as reveal_cmd
from drillkit.commands import start as start_cmd
from drillkit.errors import ConfigError, ExitCode
from drillkit.pack import catalog
from drillkit.pack.model import Drill, Pack
from drillkit.paths import Paths, resolve_paths
from drillkit.retention.sessions import ReadKey, run_selfcheck
from drillkit.run.limits_values import DEFAULT_TIMEOUT, MAX_TIMEOUT, MIN_TIMEOUT
from drillkit.words import plural

app = typer.Typer(
    help="Type SQLAlchemy 2.0 yourself; check it against a real, disposable Postgres.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Manage the embedded PostgreSQL server.", no_args_is_help=True)
app.add_typer(db_app, name="db")

# Made again at the start of every run (main_callback): a Console reads COLUMNS, NO_COLOR
# and the like when it is made, and one process may run several commands (the tests do).
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

DrillArg = Annotated[
    str, typer.Argument(help="Drill number or slug in the active pack, or PACK:SLUG.", show_default=False)
]
DirOpt = Annotated[
    Path | None,
    typer.Option("--dir", help="Workspace folder (default: ./drillwork or $DRILL_WORKSPACE)."),
]


def _in_range(value: object, convert: type[int] | type[float], low: float, high: float, what: str) -> Any:
    """`value` as a number from `low` to `high`, or the usage error that says so in drillkit's
    words. Parsed here, not with min=/max= or Typer's own types: those let NaN through to a
    message that names only the upper bound, and word "abc" like a form validator."""
    try:
        number = convert(value)  # type: ignore[arg-type]
    except ValueError:
        number = float("nan")  # out of every range
    if not low <= number <= high:
        shown = render.printable(str(value))  # what was typed, escapes and all, shown safely
        raise typer.BadParameter(f"{shown} is not {what} from {low:g} to {high:g}")
    return number


def _timeout_in_range(value: float | str) -> float:
    return _in_range(value, float, MIN_TIMEOUT, MAX_TIMEOUT, "a number of seconds")


def _workers(value: int | str) -> int:
    return _in_range(value, int, 1, 32, "a whole number of checks at once")


# Capped well below the age at which other runs sweep a schema as orphaned.
TimeoutOpt = Annotated[
    float,
    typer.Option(
        help=f"Seconds your code may run before it is stopped ({MIN_TIMEOUT:g} to {MAX_TIMEOUT:g}).",
        parser=_timeout_in_range,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output on stdout.")]


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", "-V", help="Print drillkit's version and exit.", is_eager=True)
    ] = False,
) -> None:
    """Bare `drill` shows the dashboard."""
    global out, err
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    if version:  # `drill --version` alone never gets here (see __main__); `drill -V list` does
        from drillkit import version as installed

        print(f"drill {installed()}")
        raise typer.Exit(ExitCode.OK)
    if ctx.invoked_subcommand is None:
        render.dashboard(out, _listing(resolve_paths()))


@app.command("next")
def next_command(workspace: DirOpt = None) -> None:
    """Your progress and the next drill, with the command to run."""
    render.dashboard(out, _listing(resolve_paths(workspace)))


@app.command("list")
def list_command(workspace: DirOpt = None, as_json: JsonOpt = False) -> None:
    """All drills with their status, and what to do next."""
    fastpath.list_command(workspace, as_json)  # also reached without Typer: see fastpath.py


@app.command()
def start(drill: DrillArg, workspace: DirOpt = None) -> None:
    """Write the starter file for a drill into your workspace (never overwrites)."""
    paths = resolve_paths(workspace)
    render.started(out, start_cmd.start_drill(paths, _drill(paths, drill)))


@app.command()
def check(
    drill: DrillArg,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="Check this file instead of the workspace one."),
    ] = None,
    workspace: DirOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
    as_json: JsonOpt = False,
    sql: Annotated[bool, typer.Option("--sql", help="Show every SQL statement your code sent.")] = False,
) -> None:
    """Run your file against a fresh Postgres schema and report each check."""
    # Also reached without Typer (see fastpath.py): one function prints for both roads.
    args = fastpath.CheckArgs(drill, file, workspace, timeout, as_json, sql)
    raise typer.Exit(fastpath.check_command(args))


@app.command()
def reveal(
    drill: DrillArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Don't ask, even before an attempt.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Show the whole file, given models too.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="A unified diff instead of side by side.")] = False,
    workspace: DirOpt = None,
) -> None:
    """Show the reference solution, its explanation, and how your attempt differs."""
    if full and diff:  # the diff is of the answers below the marker: --full would be ignored
        raise ConfigError(
            "--full shows the whole reference file and --diff only how the answers differ: pick one"
        )
    paths = resolve_paths(workspace)
    target = _drill(paths, drill)
    if not yes and reveal_cmd.needs_confirmation(paths, target):
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
            render.reveal_declined(out, reveal_cmd.attempt_to_write(paths, target), target)
            raise typer.Exit(ExitCode.OK)
    result = reveal_cmd.reveal_drill(paths, target)
    render.warning(err, result.warning)
    render.revealed(out, result, full=full, diff=diff)


@app.command()
def edit(
    drill: Annotated[
        str | None,
        typer.Argument(
            help="Drill number or slug, or PACK:SLUG (default: your next unfinished drill).",
            show_default=False,
        ),
    ] = None,
    workspace: DirOpt = None,
) -> None:
    """Open your current attempt in $VISUAL or $EDITOR (writing the starter first if needed)."""
    from drillkit.commands import edit as edit_cmd

    paths = resolve_paths(workspace)
    named = _drill(paths, drill) if drill else None
    pack = catalog.open_pack(paths, named.pack_id) if named else _pack(paths)
    target = edit_cmd.edit_target(paths, pack, named)
    render.editing(out, target)
    argv = edit_cmd.editor_command(target.path)
    code = edit_cmd.run_editor(argv)
    if code == 0:
        out.print(f"Saved? Check it: [bold]drill check {target.drill.number}[/]")
    raise typer.Exit(code)  # the editor's own status, as `git commit` passes it on


@app.command()
def hint(drill: DrillArg) -> None:
    """One more hint for a drill (never the whole answer)."""
    paths = resolve_paths()
    result = practice.hint_drill(paths, _drill(paths, drill))
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
    target = _drill(paths, drill)
    if not yes and workspace_file(paths, target).exists():
        _confirm(
            f"Replace {render.shown_path(workspace_file(paths, target))} with the starter?",
            "Kept your attempt as it is.",
        )
    render.reset_done(out, practice.reset_drill(paths, target))


@app.command()
def watch(
    drill: Annotated[
        str | None, typer.Argument(help="Drill to watch; default: follow your next unfinished drill.")
    ] = None,
    workspace: DirOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Check on every save; without N, move on to the next drill after each pass."""
    import signal

    from drillkit.commands.watch import watch as run_watch
    from drillkit.errors import Interrupted
    from drillkit.run.interrupts import INTERRUPTS

    received: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        # watchfiles turns any exception from a signal handler into KeyboardInterrupt: note which.
        received.append(signum)
        raise KeyboardInterrupt

    # Explicit handlers: started in the background by a script, Python inherits SIGINT ignored.
    for sig in INTERRUPTS:
        signal.signal(sig, on_signal)
    paths = resolve_paths(workspace)
    target = _drill(paths, drill) if drill is not None else None
    pack = catalog.open_pack(paths, target.pack_id) if target else _pack(paths)
    try:
        run_watch(paths, pack, target, timeout, lambda e: render.watch_event(out, e))
    except (KeyboardInterrupt, Interrupted) as exc:
        first = received[0] if received else signal.SIGINT
        code = exc.exit_code if isinstance(exc, Interrupted) else Interrupted(first).exit_code
        out.print("\nStopped watching.")  # the normal way out of watch, not an error
        raise typer.Exit(code) from None


@app.command("progress")
def progress_command(workspace: DirOpt = None, as_json: JsonOpt = False) -> None:
    """Your progress: practice days lately and what falls due in the next two weeks."""
    from drillkit.commands.activity import activity

    paths = resolve_paths(workspace)
    result = _listing(paths)
    act = activity(paths, result.pack, now=result.now)
    if as_json:
        print(json.dumps(jsonout.progress(result, act), indent=2))
        return
    render.progress_picture(out, result, act)


def _listing(paths: Paths) -> listing.Listing:
    """The listing, with a moved-aside progress file reported on stderr whatever the output."""
    result = listing.list_drills(paths)
    render.warning(err, result.warning)
    return result


def _drill(paths: Paths, ref: str) -> Drill:
    """`N`, a slug, or `pack:slug` (parsed YAML is reused while the pack is unchanged)."""
    return catalog.resolve_drill(paths, ref)


def _pack(paths: Paths) -> Pack:
    return catalog.active_pack(paths)


def _confirm(question: str, declined: str) -> None:
    if not sys.stdin.isatty():
        raise ConfigError(f"{question} Not a terminal, so not asking: pass --yes")
    if not typer.confirm(question, default=False):
        out.print(declined)
        raise typer.Exit(ExitCode.OK)


@app.command()
def doctor(workspace: DirOpt = None) -> None:
    """Check Python, packages, the database and your files; say how to fix what is wrong."""
    from drillkit.commands.doctor import diagnose, diagnose_unusable_paths

    try:
        paths = resolve_paths(workspace)
    except ConfigError as exc:  # what doctor is for: a ✗ line saying so, not a usage error
        findings = diagnose_unusable_paths(exc)
    else:
        findings = diagnose(paths)
    render.findings(out, findings)
    raise typer.Exit(ExitCode.OK if all(f.ok for f in findings) else ExitCode.CHECK_FAILED)


@app.command()
def review(
    drill: Annotated[
        str | None,
        typer.Argument(help="Drill number or slug (default: the most overdue).", show_default=False),
    ] = None,
    workspace: DirOpt = None,
) -> None:
    """Redo a due drill from a blank starter; your earlier attempt is kept."""
    paths = resolve_paths(workspace)
    target = _drill(paths, drill) if drill else None
    pack = catalog.open_pack(paths, target.pack_id) if target else _pack(paths)
    now = clock.now()
    result = retention.review_drill(paths, target, pack, now=now)
    if isinstance(result, retention.NothingDue):
        render.nothing_due(out, result, now)
    else:
        render.review_started(out, result, now)


@app.command()
def cards(
    all_cards: Annotated[
        bool, typer.Option("--all", help="Cram every card; only the due ones are rescheduled.")
    ] = False,
    from_stdin: Annotated[
        bool,
        typer.Option("--stdin", help="Read key presses from piped standard input (newlines ignored)."),
    ] = False,
) -> None:
    """Flashcards: say the answer, flip, grade yourself; FSRS decides when each comes back."""
    paths = resolve_paths()
    now = clock.now()
    queue = retention.card_queue(paths, _pack(paths), cram=all_cards, now=now)
    render.warning(err, queue.warning)
    if not queue.cards:
        render.cards_nothing_due(out, queue, now)
        return
    if from_stdin:
        read_key = _piped_keys(sys.stdin)
    elif sys.stdin.isatty():
        read_key = _terminal_key
    else:
        raise ConfigError(
            "drill cards reads key presses from a terminal; to script it, pipe keys in with --stdin "
            "(e.g. `echo f3f1 | drill cards --stdin`)"
        )
    result = retention.run_card_session(
        paths, queue, read_key=read_key, now=clock.now, view=render.CardScreen(out, now)
    )
    render.cards_done(out, result, len(queue.cards))


@app.command("selfcheck")
def selfcheck_command(
    tick: Annotated[
        list[str] | None, typer.Option("--tick", help="Tick item N (number or id); repeatable.")
    ] = None,
    untick: Annotated[
        list[str] | None, typer.Option("--untick", help="Untick item N (number or id); repeatable.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Tick what you can do without looking; a tick is earned once its drill is passed cleanly."""
    paths = resolve_paths()
    interactive = not (tick or untick or as_json) and sys.stdin.isatty()
    pack = _pack(paths)
    result = retention.selfcheck(paths, pack, tick=tick or [], untick=untick or [])
    render.warning(err, result.warning)
    if as_json:
        print(json.dumps({"items": jsonout.skills(result.rows)}, indent=2))
        return
    if not interactive:
        render.selfcheck(out, result, interactive=False)
        return
    latest = [result]  # the toggle callback swaps in the list as saved

    def toggle(number: int) -> None:
        latest[0] = retention.toggle_skill(paths, pack, number)

    with render.SelfCheckScreen(out) as screen:  # redrawn in place, not reprinted per key
        run_selfcheck(
            count=len(result.rows), read_key=_terminal_key, show=lambda: screen.show(latest[0]), toggle=toggle
        )


def _terminal_key() -> str:
    try:
        return typer.getchar()
    except (EOFError, KeyboardInterrupt):
        # Ctrl-D or Ctrl-C at a key prompt means "stop here": every grade so far is
        # already saved, so end like `q` does, with the summary, rather than abort.
        return ""


def _piped_keys(stream: TextIO) -> ReadKey:
    """One character per key press; newlines are skipped so `echo` and files work."""

    def read() -> str:
        while True:
            key = stream.read(1)
            if key not in ("\n", "\r"):
                return key  # "" at end of input ends the session

    return read


@db_app.command("status")
def db_status() -> None:
    """Show where the embedded server lives and whether it runs."""
    import os

    from drillkit.db import server as database

    paths = resolve_paths()
    if os.environ.get(database.URL_ENV):
        out.print(f"Using {database.URL_ENV} (the embedded server is not used).")
    status = database.embedded_status(paths)
    state = f"running (pid {status.pid})" if status.pid else "stopped"
    # "data dir" is DRILL_HOME, as in the README; pgdata is the server's own folder inside it.
    out.print(f"embedded server: {state}", soft_wrap=True)
    out.print(f"server folder: {status.pgdata} (pgdata, inside the data dir {paths.home})", soft_wrap=True)


@db_app.command("reset")
def db_reset(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Don't ask.")] = False,
) -> None:
    """Stop the embedded server and delete its folder, pgdata (your progress is kept)."""
    from drillkit.db import control

    paths = resolve_paths()
    if not yes:
        if not sys.stdin.isatty():
            raise ConfigError("`drill db reset` deletes the embedded server's data; pass --yes to confirm")
        if not typer.confirm(
            f"Delete {paths.pgdata}? Only disposable drill data lives there.", default=False
        ):
            raise typer.Exit(ExitCode.OK)
    control.reset(paths)
    out.print(f"deleted {paths.pgdata}; the next check starts a fresh server")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded server (the next check starts it again)."""
    from drillkit.db import control

    stopped = control.stop(resolve_paths())
    out.print("embedded server stopped" if stopped else "embedded server was not running")


pack_app = typer.Typer(
    help="The drill packs you can practise, and which one is active.", no_args_is_help=True
)
app.add_typer(pack_app, name="pack")


@pack_app.command("list")
def pack_list() -> None:
    """Every pack drillkit sees: built in, added, or installed with pip."""
    from drillkit.commands.packs import list_packs

    render.packs(out, list_packs(resolve_paths()))


@pack_app.command("add")
def pack_add(
    location: Annotated[str, typer.Argument(help="A pack folder, or a git URL (file://, https://, ...).")],
) -> None:
    """Add a pack from a folder (used in place) or a git URL (cloned into drillkit's data dir)."""
    from drillkit.commands.packs import add_pack

    added = add_pack(resolve_paths(), location)
    pack = added.pack
    verb = "Updated" if added.replaced else "Added"
    out.print(
        f"{verb} pack [bold]{pack.id}[/] · {pack.title} · v{pack.version} "
        f"({plural(len(pack.drills), 'drill')})" + (" — cloned" if added.cloned else "")
    )
    out.print(
        f"Practise it: [bold]drill pack use {pack.id}[/], or one drill: [bold]drill start {pack.id}:1[/]"
    )


@pack_app.command("remove")
def pack_remove(
    pack_id: Annotated[str, typer.Argument(help="The pack's id (see `drill pack list`).")],
) -> None:
    """Forget an added pack; your progress in it is kept for when you add it again."""
    from drillkit.commands.packs import remove_pack

    paths = resolve_paths()
    chosen = os.environ.get(catalog.PACK_ENV, "").strip()
    was_active = catalog.active_id(paths) == pack_id
    removed = remove_pack(paths, pack_id)
    out.print(f"Removed pack [bold]{removed.id}[/] ({escape(removed.source)}); your progress in it is kept.")
    if chosen == pack_id:  # the variable still names it: every command will say it is gone
        out.print(f"{catalog.PACK_ENV} still names it: unset it or name another pack.")
    elif was_active:  # the next `drill list` shows another pack's drills: say which
        out.print(f"It was the active pack: the active pack is now [bold]{catalog.active_id(paths)}[/].")


@pack_app.command("use")
def pack_use(pack_id: Annotated[str, typer.Argument(help="The pack's id (see `drill pack list`).")]) -> None:
    """Make a pack the active one: `drill list`, `drill check N` and the rest then mean its drills."""
    from drillkit.commands.packs import use_pack

    pack = use_pack(resolve_paths(), pack_id)
    out.print(
        f"Active pack: [bold]{pack.id}[/] · {pack.title} ({plural(len(pack.drills), 'drill')}). "
        "See [bold]drill list[/]"
    )


@app.command("new")
def new(
    path: Annotated[
        Path | None, typer.Argument(help="Folder for a new pack (with --drill: the pack to add to).")
    ] = None,
    drill_slug: Annotated[
        str | None, typer.Option("--drill", help="Add a drill with this slug to an existing pack.")
    ] = None,
    pack_path: Annotated[
        Path | None, typer.Option("--pack", help="The pack to add --drill to (default: .).")
    ] = None,
) -> None:
    """Scaffold a pack with one working example drill, or (--drill SLUG) one more drill in a pack."""
    from drillkit.pack.scaffold import new_drill, new_pack

    if drill_slug is not None:
        root = (pack_path or path or Path(".")).absolute()
        files, index = new_drill(root, drill_slug)
        then = f"Now edit them, then: [bold]drill validate {escape(render.typed_path(root))}[/]"
        render.written(out, files, root, then, changed=(index,))
        return
    if path is None:
        raise ConfigError(
            "name the folder for the new pack: drill new PATH (or add a drill: drill new --drill SLUG)"
        )
    files = new_pack(path)
    render.written(
        out,
        files,
        path,
        f"A pack with one example drill whose solution passes and starter fails. Check it: "
        f"[bold]drill validate {escape(render.typed_path(path))}[/]; add a drill: "
        f"[bold]drill new --drill SLUG --pack {escape(render.typed_path(path))}[/]",
    )


@app.command("validate")
def validate_command(
    target: Annotated[
        str | None, typer.Argument(help="A pack folder or a pack id (default: ., else the active pack).")
    ] = None,
    as_json: JsonOpt = False,
    junit: Annotated[Path | None, typer.Option("--junit", help="Also write a JUnit XML report here.")] = None,
    drill: Annotated[
        str | None, typer.Option("--drill", help="Only this drill's files (number or slug).")
    ] = None,
    format_only: Annotated[
        bool, typer.Option("--format-only", help="Only the YAML and file checks, no Postgres runs.")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(help="Checks run at once, 1 to 32 (default: cores).", parser=_workers)
    ] = None,
    mutants: Annotated[
        bool,
        typer.Option(
            "--mutants", help="Score the checks: run small wrong edits of each solution through them."
        ),
    ] = False,
) -> None:
    """Check a pack like an author must: schema (file:line), files, and every solution, starter and
    known answer run against Postgres. Exit 0 clean, 1 findings, 2 usage error."""
    from drillkit.commands.validate import mutation_report, validate_pack

    if mutants:
        pack, report = mutation_report(resolve_paths(), target, only=drill, workers=workers)
        if as_json:
            print(
                json.dumps(
                    {
                        "pack": pack.id,
                        "threshold": pack.mutation_threshold,
                        "passed": report.passed(pack.mutation_threshold),
                        **report.to_json(),
                    },
                    indent=2,
                )
            )
        else:
            render.mutation_report(out, pack, report)
        passed = report.passed(pack.mutation_threshold)
        raise typer.Exit(ExitCode.OK if passed else ExitCode.CHECK_FAILED)
    result = validate_pack(resolve_paths(), target, only=drill, behaviour=not format_only, workers=workers)
    if junit is not None:
        from drillkit.pack.validate import junit as junit_xml

        try:
            junit.write_text(junit_xml(result), encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write {junit}: {exc.strerror or exc}") from None
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        render.validation(out, result)
    raise typer.Exit(ExitCode.OK if result.clean else ExitCode.CHECK_FAILED)

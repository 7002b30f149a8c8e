"""`drill list` and `drill check`, answered before Typer is imported: they run on every glance
at the drills and on every save. (Typer imports pydantic: ~0.1 s, more than a warm check.)

Only the plain forms are recognised here (`list`, `--json`, `--dir PATH`, `--dir=PATH`; for
`check`, a drill and its documented options); anything else (`--help`, a typo, a new option,
a value out of range) returns None and goes through the full Typer CLI, which calls the
same `*_command` functions below, so both roads print the same thing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple


def parse_list(argv: list[str]) -> tuple[Path | None, bool] | None:
    """(workspace, as_json) for a plain `list` invocation, else None."""
    if not argv or argv[0] != "list":
        return None
    workspace: Path | None = None
    as_json = False
    rest = iter(argv[1:])
    for arg in rest:
        if arg == "--json":
            as_json = True
        elif arg == "--dir":
            value = next(rest, None)
            if value is None or value.startswith("-"):
                return None
            workspace = Path(value)
        elif arg.startswith("--dir=") and len(arg) > len("--dir="):
            workspace = Path(arg.removeprefix("--dir="))
        else:
            return None
    return workspace, as_json


class CheckArgs(NamedTuple):
    """A plain `drill check`'s arguments. (A NamedTuple: `drill list` imports this module,
    and a dataclass would cost it a millisecond to make.)"""

    drill: str
    file: Path | None = None
    workspace: Path | None = None
    timeout: float | None = None
    as_json: bool = False
    sql: bool = False


def parse_check(argv: list[str]) -> CheckArgs | None:
    """The arguments of a plain `check` invocation, else None (Typer parses, and explains)."""
    if not argv or argv[0] != "check":
        return None
    options: dict[str, object] = {}
    positional: list[str] = []
    names = {"--file": "file", "-f": "file", "--dir": "workspace", "--timeout": "timeout"}
    rest = iter(argv[1:])
    for arg in rest:
        name, eq, inline = arg.partition("=")
        if arg in ("--json", "--sql"):
            options["as_json" if arg == "--json" else "sql"] = True
        elif name in names and name.startswith("--") and eq and inline:
            options[names[name]] = inline
        elif arg in names:
            value = next(rest, None)
            if value is None or value.startswith("-"):
                return None
            options[names[arg]] = value
        elif not arg.startswith("-") and not positional:
            positional.append(arg)
        else:
            return None
    if len(positional) != 1:
        return None
    timeout = None
    if "timeout" in options:
        try:
            timeout = float(str(options["timeout"]))
        except ValueError:
            return None
        from drillkit.run.limits_values import MAX_TIMEOUT, MIN_TIMEOUT

        if not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT:  # also NaN
            return None
    return CheckArgs(
        positional[0],
        file=Path(str(options["file"])) if "file" in options else None,
        workspace=Path(str(options["workspace"])) if "workspace" in options else None,
        timeout=timeout,
        as_json=bool(options.get("as_json")),
        sql=bool(options.get("sql")),
    )


def check_command(args: CheckArgs) -> int:
    """Run the check, print the report; the exit code (0 passed, 1 failed)."""
    from drillkit import clock
    from drillkit.commands.check import check_drill
    from drillkit.errors import ExitCode
    from drillkit.pack.catalog import resolve_drill
    from drillkit.paths import resolve_paths
    from drillkit.run.limits_values import DEFAULT_TIMEOUT

    paths = resolve_paths(args.workspace)
    now = clock.now()
    timeout = DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    drill = resolve_drill(paths, args.drill)
    checked = check_drill(paths, drill, args.file, timeout, now=now, remembered=args.workspace is None)
    if args.as_json:  # for editors and tools, on every save: plain text, no Rich to import
        import json

        if checked.warning:  # a moved-aside progress file is reported whatever the output format
            print(f"warning: {checked.warning}", file=sys.stderr)
        review = checked.review.to_json() if checked.review else None
        print(json.dumps({**checked.report.to_json(), "review": review}, indent=2))
    else:
        from rich.console import Console

        from drillkit import render

        render.warning(Console(stderr=True, highlight=False), checked.warning)
        out = Console(highlight=False)
        render.report(out, checked, sql=args.sql)
        render.review_note(out, checked.review, checked.report.drill, now)
    return ExitCode.OK if checked.report.passed else ExitCode.CHECK_FAILED


def list_command(workspace: Path | None, as_json: bool) -> None:
    from drillkit.commands.listing import list_drills
    from drillkit.paths import resolve_paths

    paths = resolve_paths(workspace)
    result = list_drills(paths)
    if result.warning:  # a moved-aside progress file is reported whatever the output format
        print(f"warning: {result.warning}", file=sys.stderr)
    if as_json:
        import json

        from drillkit import jsonout

        print(json.dumps(jsonout.listing(result), indent=2))
        return
    from rich.console import Console

    from drillkit import render

    # emoji=False: the listing has no :codes:, and the emoji table is slow to load.
    render.listing(Console(highlight=False, emoji=False), result)

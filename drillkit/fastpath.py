"""`drill list`, answered before Typer is imported: it runs on every glance at the drills.

Only the plain forms are recognised here (`list`, `--json`, `--dir PATH`, `--dir=PATH`); anything
else (`--help`, a typo, a new option) returns None and goes through the full Typer CLI, which
calls the same `list_command` below, so both roads print the same thing.
"""

from __future__ import annotations

import sys
from pathlib import Path


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

"""Entry point for `drill` and `python -m drillkit`: the one place errors become exit codes."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.markup import escape

from drillkit.errors import DrillkitError


def main(argv: list[str] | None = None) -> None:
    import typer.main

    from drillkit.cli import app

    command = typer.main.get_command(app)
    try:
        command.main(args=argv, prog_name="drill", standalone_mode=True)
    except DrillkitError as exc:
        Console(stderr=True, highlight=False).print(f"[red]drill: error:[/] {escape(str(exc))}")
        sys.exit(int(exc.exit_code))


if __name__ == "__main__":
    main()

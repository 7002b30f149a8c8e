"""Entry point for `drill` and `python -m drillkit`: the one place errors become exit codes."""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

try:
    from drillkit.errors import DrillkitError, ExitCode
except KeyboardInterrupt:  # Ctrl-C as drill starts: nothing to clean up yet, nothing to say
    sys.exit(130)


def _say_error(message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False).print(f"[red]drill: error:[/] {escape(message)}", soft_wrap=True)


def _fail(message: str, code: int) -> None:
    _say_error(message)
    sys.exit(code)


def _click_class(name: str) -> type[Exception]:
    """Click's exception classes, whether Typer vendors click or depends on it."""
    import typer

    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


def main(argv: list[str] | None = None) -> None:
    try:
        import signal

        from drillkit.errors import Interrupted
        from drillkit.run.interrupts import redeliver_swallowed
    except KeyboardInterrupt:  # before any handler of ours: nothing to clean up yet
        sys.exit(ExitCode.INTERRUPTED)

    def on_term(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    # `drill list | head -1`: die quietly on a closed pipe, like any Unix tool.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    # SIGTERM unwinds like Ctrl-C, so `finally` blocks and atexit hooks run.
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)  # a closed terminal: clean up like SIGTERM, exit 129
    _ignore_zero_size()
    args = sys.argv[1:] if argv is None else argv
    done: SystemExit | None = None
    code: int | None = None  # the exit code of the first interrupt
    with redeliver_swallowed():
        # Once the command is done or interrupted, signals are ignored; one that comes before
        # they are (a second Ctrl-C, say) lands in this same try, and adds nothing.
        while True:
            try:
                if done is None and code is None:
                    _dispatch(args)
                    return  # (never: _dispatch exits)
                _ignore_interrupts()
                break
            except SystemExit as exc:
                # The work is done and reported: a late Ctrl-C must not turn success into a crash.
                done = done or exc
            except (KeyboardInterrupt, Interrupted, RuntimeError) as exc:
                first = _interrupt_code(exc)
                if first is None:
                    raise
                if done is None and code is None:
                    code = first
    if done is not None:
        raise done
    assert code is not None
    _interrupted(code)


def _ignore_interrupts() -> None:
    import signal

    from drillkit.run.interrupts import INTERRUPTS

    for sig in INTERRUPTS:
        signal.signal(sig, signal.SIG_IGN)


def _interrupt_code(exc: BaseException) -> int | None:
    """The exit code for an interrupt, None for anything else. Python 3.11 wraps one raised
    while a class is made (in a `__set_name__`) in a RuntimeError: what it wraps counts."""
    from drillkit.errors import Interrupted

    if isinstance(exc, RuntimeError):
        cause = exc.__cause__
        return _interrupt_code(cause) if isinstance(cause, KeyboardInterrupt | Interrupted) else None
    return exc.exit_code if isinstance(exc, Interrupted) else int(ExitCode.INTERRUPTED)


def _ignore_zero_size() -> None:
    """COLUMNS=0 (or LINES=0) means "unknown", as for shutil.get_terminal_size; Rich would
    take it as a terminal zero cells wide and print nothing at all, errors included."""
    import os

    for name in ("COLUMNS", "LINES"):
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) == 0:
            del os.environ[name]


def _interrupted(code: int) -> None:
    """Report and leave with 130/143. A KeyboardInterrupt that landed inside an import can
    leave CPython set to re-kill itself with SIGINT at exit (exit status -2 instead of 130),
    so clean up explicitly and leave with os._exit."""
    import atexit
    import os

    _say_error("interrupted (nothing was left behind)")
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()  # e.g. the prestarted checker child and its temp dir
    os._exit(code)


def _dispatch(args: list[str]) -> None:
    from drillkit import fastpath

    quick = fastpath.parse_list(args)
    if quick is not None:  # `drill list` is run often: answer it without importing Typer
        try:
            fastpath.list_command(*quick)
        except DrillkitError as exc:
            _fail(str(exc), int(exc.exit_code))
        sys.exit(ExitCode.OK)

    if args[:1] == ["check"] and not {"--help", "-h"} & set(args) and not _check_server_likely():
        from drillkit.run import child as checker

        checker.prestart()  # its imports run while we prepare the run (no server to ask)

    plain_check = fastpath.parse_check(args)
    if plain_check is not None:  # `drill check`, on every save: no Typer either
        try:
            code = fastpath.check_command(plain_check)
        except DrillkitError as exc:
            _fail(str(exc), int(exc.exit_code))
        sys.exit(code)

    if args in (["--version"], ["-V"]):  # answered without importing Typer, like `list`
        from drillkit import version

        print(f"drill {version()}")
        sys.exit(ExitCode.OK)

    usage_error, click_exception = _click_class("UsageError"), _click_class("ClickException")
    command = _command()
    try:
        # standalone_mode=False: usage errors reach us, so they print as one line too.
        code = command.main(args=args, prog_name="drill", standalone_mode=False)
    except DrillkitError as exc:
        _fail(str(exc), int(exc.exit_code))
    except usage_error as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            print(ctx.get_help())  # bare `drill db`: help, not an error
            sys.exit(ExitCode.OK)
        where = f"drill {ctx.command_path.split(' ', 1)[-1]}" if ctx and ctx.parent else _named(command, args)
        _fail(f"{exc.format_message()} (see `{where} --help`)", ExitCode.USAGE)  # type: ignore[attr-defined]
    except click_exception as exc:
        _fail(exc.format_message(), exc.exit_code)  # type: ignore[attr-defined]
    except Exception as exc:
        if type(exc).__name__ != "Abort":  # click's Abort: Ctrl-C at a prompt
            raise
        _fail("interrupted", ExitCode.INTERRUPTED)
    sys.exit(code if isinstance(code, int) else ExitCode.OK)


def _named(command: Any, args: list[str]) -> str:
    """The (sub)command `args` name, as far as they name one: an option missing its value
    fails before the command's own context exists, but its help is still the one to read."""
    words = ["drill"]
    for arg in args:
        command = getattr(command, "commands", {}).get(arg)
        if arg.startswith("-") or command is None:
            break
        words.append(arg)
    return " ".join(words)


_tree: Any = None  # the command tree, once built


def _command() -> Any:
    """The Click command tree of the Typer app, built once per process (~11 ms: Typer reads
    every command's signature and type hints), as an in-process caller runs many commands."""
    global _tree
    if _tree is None:
        import typer.main

        from drillkit.cli import app

        _tree = typer.main.get_command(app)
        _whole_summaries(_tree)
    return _tree


def _check_server_likely() -> bool:
    """A check server runs for this data dir, or this check will start one: no child of our
    own to prestart (`address.will_be_used`)."""
    from drillkit.checkserver.address import disabled, will_be_used
    from drillkit.paths import resolve_paths

    try:
        return not disabled() and will_be_used(resolve_paths().locks)
    except DrillkitError:
        return False  # the command itself reports a bad setting


def _whole_summaries(command: object) -> None:
    """Click cuts each summary in a command list to about 45 columns with "…"; give every
    command its whole first paragraph instead, which Click wraps under itself."""
    for sub in getattr(command, "commands", {}).values():
        if sub.short_help is None and sub.help:
            sub.short_help = " ".join(sub.help.split("\n\n")[0].split())
        _whole_summaries(sub)


if __name__ == "__main__":
    main()

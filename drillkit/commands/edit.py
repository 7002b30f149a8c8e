"""`drill edit [N]`: open the current attempt at a drill in the learner's own editor."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from drillkit import clock
from drillkit.attempts import attempt_path, open_review_file
from drillkit.commands.listing import list_drills
from drillkit.commands.start import start_drill
from drillkit.errors import ConfigError
from drillkit.pack.model import Drill, Pack
from drillkit.paths import Paths

EDITOR_VARS = ("VISUAL", "EDITOR")  # the order every Unix tool asks them in


@dataclass(frozen=True)
class EditTarget:
    drill: Drill
    path: Path
    created: bool  # the starter was written just now


def edit_target(paths: Paths, pack: Pack, drill: Drill | None, now: datetime | None = None) -> EditTarget:
    """The file `drill check N` would check, scaffolded if missing. Without N: the pack's next
    unfinished drill, else its most overdue review whose file is open."""
    now = now or clock.now()
    if drill is None:
        listing = list_drills(paths, pack, now=now)
        drill = listing.next_drill
        if drill is None:
            drill = next(
                (r.drill for r in listing.reviews_due if open_review_file(paths, r.drill, now)), None
            )
        if drill is None:
            raise ConfigError("every drill is passed and no review is open; name one: `drill edit N`")
    path = attempt_path(paths, drill, now)
    created = False
    if not path.exists():  # no open review file: this is the workspace file, not written yet
        started = start_drill(paths, drill)
        path, created = started.path, started.created
    return EditTarget(drill, path, created)


def editor_command(path: Path, env: Mapping[str, str] = os.environ) -> list[str]:
    """$VISUAL, else $EDITOR, split like a shell would (`code --wait` is two words)."""
    for name in EDITOR_VARS:
        value = env.get(name, "").strip()
        if not value:
            continue
        try:
            words = shlex.split(value)
        except ValueError as exc:
            raise ConfigError(f"${name}={value!r} cannot be split into a command: {exc}") from None
        if words:
            return [*words, str(path)]
    raise ConfigError(
        f"no editor: set $VISUAL or $EDITOR (e.g. `export EDITOR=nano`), or open {path} yourself"
    )


def run_editor(argv: list[str]) -> int:
    """Run the editor in the foreground and return its exit status (128+N if a signal ended it)."""
    # Ctrl-C in a terminal editor reaches our process group too: it is the editor's to handle.
    # A Python handler (not SIG_IGN) so the editor itself does not inherit the ignore.
    previous = signal.signal(signal.SIGINT, lambda signum, frame: None)
    try:
        code = subprocess.call(argv)
    except FileNotFoundError:
        raise ConfigError(f"editor {argv[0]!r} not found; fix $VISUAL or $EDITOR") from None
    except OSError as exc:
        raise ConfigError(f"cannot run editor {argv[0]!r}: {exc.strerror}; fix $VISUAL or $EDITOR") from None
    finally:
        signal.signal(signal.SIGINT, previous)
    return 128 - code if code < 0 else code

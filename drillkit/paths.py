"""Every filesystem location drillkit uses, resolved (and checked) in one place.

Environment overrides (documented in the README):
  DRILL_HOME       data dir holding progress.json and the embedded server (default: platformdirs)
  DRILL_PROGRESS   the progress file itself
  DRILL_WORKSPACE  the learner's workspace (default: ./drillwork)

A location that cannot work (not UTF-8, too long for the OS, a file where a folder belongs,
inside /proc) is refused here with one line naming the setting, rather than failing later
with an OSError halfway through a command.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, NamedTuple

from drillkit.errors import ConfigError
from drillkit.store import shown

PACKAGE_DIR = Path(__file__).resolve().parent

MAX_PATH_BYTES = 4095  # Linux PATH_MAX, less the terminating NUL
MAX_NAME_BYTES = 255  # NAME_MAX
# The progress file gets siblings named after it (`.lock`, `.corrupt-<time>-N`, `.<random>.tmp`).
MAX_PROGRESS_NAME_BYTES = 200
KERNEL_FILESYSTEMS = (Path("/proc"), Path("/sys"))


# A NamedTuple, not a frozen dataclass: `drill list` imports it (see drillkit/pack/model.py).
class Paths(NamedTuple):
    """Where drillkit keeps its data, the learner's progress and their drill files."""

    home: Path
    progress_file: Path
    pgdata: Path
    workspace: Path

    @property
    def locks(self) -> Path:
        return self.home / "locks"

    @property
    def cache(self) -> Path:
        return self.home / "cache"

    @property
    def packs_file(self) -> Path:
        """Which packs were added and which one is active: the learner's choices, kept beside
        their progress (so DRILL_PROGRESS moves both)."""
        return self.progress_file.with_name("packs.json")

    @property
    def pack_clones(self) -> Path:
        """Where packs added from a git URL are cloned."""
        return self.home / "packs"


def resolve_paths(workspace: Path | None = None, env: Mapping[str, str] = os.environ) -> Paths:
    if env.get("DRILL_HOME"):
        home = _checked(Path(env["DRILL_HOME"]).expanduser().absolute(), "DRILL_HOME", "dir")
    else:
        import platformdirs  # deferred: only needed when no override is set

        home = Path(platformdirs.user_data_dir("drillkit", appauthor=False)).absolute()
    if env.get("DRILL_PROGRESS"):
        progress = _checked(Path(env["DRILL_PROGRESS"]).expanduser().absolute(), "DRILL_PROGRESS", "file")
    else:
        progress = _checked(home / "progress.json", "the progress file", "file")
    if workspace is not None:
        label = "the workspace (--dir)"
    elif env.get("DRILL_WORKSPACE"):
        workspace, label = Path(env["DRILL_WORKSPACE"]), "DRILL_WORKSPACE"
    else:
        workspace, label = Path("drillwork"), "the workspace"
    return Paths(
        home=home,
        progress_file=progress,
        pgdata=home / "pgdata",
        workspace=_checked(workspace.expanduser().absolute(), label, "dir"),
    )


def _checked(path: Path, label: str, kind: Literal["dir", "file"]) -> Path:
    """`path` if drillkit can use it as a `kind` (it need not exist yet); else ConfigError."""

    def refuse(why: str) -> ConfigError:
        return ConfigError(f"{label} {shown(path)} {why}")

    try:
        size = len(str(path).encode("utf-8"))
    except UnicodeEncodeError:  # undecodable bytes from the environment arrive as surrogates
        raise refuse("is not valid UTF-8; use a path made of text") from None
    if size > MAX_PATH_BYTES:
        raise refuse(f"is {size} bytes long; paths can have at most {MAX_PATH_BYTES}")
    if any(len(part.encode("utf-8")) > MAX_NAME_BYTES for part in path.parts):
        raise refuse(f"has a name longer than {MAX_NAME_BYTES} bytes")
    if kind == "file" and len(path.name.encode("utf-8")) > MAX_PROGRESS_NAME_BYTES:
        raise refuse(f"has a file name longer than {MAX_PROGRESS_NAME_BYTES} bytes")
    real = Path(os.path.realpath(path))
    for kernel in KERNEL_FILESYSTEMS:
        if real == kernel or kernel in real.parents:
            raise refuse(f"is inside {kernel}, which holds no files of ours")
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return path  # created when first needed
        if exc.errno == errno.ENOTDIR:
            raise refuse("is below a file, not a folder") from None
        raise refuse(f"cannot be used: {exc.strerror}") from None
    if kind == "dir" and not stat.S_ISDIR(mode):
        raise refuse("is not a directory")
    if kind == "file" and stat.S_ISDIR(mode):
        raise refuse("is a directory, not a file")
    return path


def builtin_packs_dir() -> Path:
    """Where the shipped packs live (`drills/<id>/`): inside the wheel, or at the repo root."""
    bundled = PACKAGE_DIR / "_pack" / "drills"
    if bundled.is_dir():
        return bundled
    return PACKAGE_DIR.parent / "drills"

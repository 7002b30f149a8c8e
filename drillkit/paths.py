"""Every filesystem location drillkit uses, resolved in one place.

Environment overrides (documented in the README):
  DRILL_HOME       data dir holding progress.json and the embedded server (default: platformdirs)
  DRILL_PROGRESS   the progress file itself
  DRILL_WORKSPACE  the learner's workspace (default: ./drillwork)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Paths:
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
        home = Path(env["DRILL_HOME"]).expanduser()
    else:
        import platformdirs  # deferred: only needed when no override is set

        home = Path(platformdirs.user_data_dir("drillkit", appauthor=False))
    progress = Path(env["DRILL_PROGRESS"]).expanduser() if env.get("DRILL_PROGRESS") else None
    if workspace is None:
        workspace = Path(env.get("DRILL_WORKSPACE") or "drillwork")
    return Paths(
        home=home.absolute(),
        progress_file=(progress or home / "progress.json").absolute(),
        pgdata=(home / "pgdata").absolute(),
        workspace=workspace.expanduser().absolute(),
    )


def builtin_packs_dir() -> Path:
    """Where the shipped packs live (`drills/<id>/`): inside the wheel, or at the repo root."""
    bundled = PACKAGE_DIR / "_pack" / "drills"
    if bundled.is_dir():
        return bundled
    return PACKAGE_DIR.parent / "drills"

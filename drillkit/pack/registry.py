"""Which packs the learner added (`drill pack add`) and which one is active: `packs.json`,
beside the progress file.

Built-in packs and packs installed as Python distributions are found, not registered; this
file holds only what `drill pack add` added and the `drill pack use` choice. It is kept like
progress (store.VersionedFile): one declared schema, atomic writes under a lock, a corrupt
file moved aside and reported.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drillkit import store
from drillkit.errors import ConfigError

VERSION = 1


@dataclass(frozen=True)
class Added:
    id: str
    source: str  # what the learner passed: a path or a git URL
    path: str  # the pack folder (for a git URL: drillkit's clone of it)


@dataclass
class Registry:
    active: str | None = None
    packs: dict[str, Added] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "active": self.active,
            "packs": {k: {"source": a.source, "path": a.path} for k, a in sorted(self.packs.items())},
        }


ENTRY = store.obj({"source": store.text(4096), "path": store.text(4096)}, required={"source", "path"})
DOCUMENT = store.obj(
    {
        "version": store.integer(1),
        "active": store.optional(store.text()),
        "packs": store.mapping(store.text(), ENTRY),
    },
    required={"version"},
)


def _build(data: Any) -> Registry:
    checked = DOCUMENT(data, "the pack list")
    packs = {k: Added(k, v["source"], v["path"]) for k, v in checked.get("packs", {}).items()}
    return Registry(checked.get("active"), packs)


def _file(path: Path) -> store.VersionedFile[Registry]:
    return store.VersionedFile(
        path,
        what="pack list",
        version=VERSION,
        build=_build,
        dump=lambda r: r.to_json(),
        error=ConfigError,
        elsewhere="set DRILL_PROGRESS to keep your files elsewhere",
    )


def load(path: Path) -> Registry:
    loaded = _file(path).load()
    _say(loaded.warning)
    return loaded.document or Registry()


def update(path: Path, change: Callable[[Registry], None]) -> Registry:
    """Apply `change` under the lock and write the result atomically."""
    loaded = _file(path).change(change, Registry)
    assert loaded.document is not None
    _say(loaded.warning)
    return loaded.document


def _say(warning: str | None) -> None:
    """Said here, once: the load that moves a corrupt file aside is the only one that knows,
    and the callers that look for packs (every command) have nowhere else to put it."""
    if warning:
        print(f"warning: {warning}", file=sys.stderr)

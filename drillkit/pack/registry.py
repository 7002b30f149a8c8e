"""Which packs the learner added (`drill pack add`) and which one is active: `<data dir>/packs.json`.

Built-in packs and packs installed as Python distributions are found, not registered; this
file holds only what `drill pack add` added and the `drill pack use` choice. Written
atomically under a lock, like progress; a corrupt file is moved aside and reported.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    warning: str | None = None  # a corrupt file was moved aside

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "active": self.active,
            "packs": {k: {"source": a.source, "path": a.path} for k, a in sorted(self.packs.items())},
        }


def load(path: Path) -> Registry:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Registry()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"not a version {VERSION} pack registry")
        active = data.get("active")
        if active is not None and not isinstance(active, str):
            raise ValueError("active is not a pack id")
        packs = {}
        for key, entry in data.get("packs", {}).items():
            if not (isinstance(entry, dict) and isinstance(entry.get("source"), str)):
                raise ValueError(f"entry {key!r} has no source")
            if not isinstance(entry.get("path"), str):
                raise ValueError(f"entry {key!r} has no path")
            packs[str(key)] = Added(str(key), entry["source"], entry["path"])
        return Registry(active, packs)
    except (ValueError, TypeError, AttributeError, RecursionError) as exc:
        backup = path.with_name(f"{path.name}.corrupt-{os.getpid()}")
        try:
            os.replace(path, backup)
            where = f"it was moved to {backup}"
        except OSError:
            where = "it could not be moved aside"
        return Registry(
            warning=f"pack list {path} was unreadable ({exc}); {where}, added packs are forgotten"
        )


def update(path: Path, change) -> Registry:  # change: Callable[[Registry], None]
    """Apply `change` under a lock and write the result atomically."""
    import tempfile

    from filelock import FileLock

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock", timeout=30):
            registry = load(path)
            change(registry)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(registry.to_json(), handle, indent=2)
                    handle.write("\n")
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return registry

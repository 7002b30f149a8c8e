"""Read the pack's YAML files, reusing an earlier parse while a file is unchanged.

`drill list` runs on every glance: with the cache it never imports or runs the YAML parser.
"""

from __future__ import annotations

from contextlib import suppress
from pathlib import Path
from typing import Any

from drillkit.errors import ConfigError

CACHE_VERSION = 1


def read(source: Path, cache_dir: Path | None) -> Any:
    data = _cached(source, cache_dir) if cache_dir is not None else None
    if data is None:
        data = _parse(source)
        if cache_dir is not None:
            _store(source, cache_dir, data)
    return data


def _parse(source: Path) -> Any:
    import yaml  # deferred: only a changed (or first-read) pack pays for it

    try:
        return yaml.load(source.read_text(encoding="utf-8"), Loader=_loader())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {source}: {exc}") from None


def _cache_key(source: Path) -> str | None:
    try:
        stat = source.stat()
    except OSError:
        return None
    return f"{CACHE_VERSION}:{source}:{stat.st_mtime_ns}:{stat.st_size}"


def _cache_file(source: Path, cache_dir: Path) -> Path:
    return cache_dir / f"{source.stem}.json"


def _cached(source: Path, cache_dir: Path) -> Any:
    """The parsed pack stored by an earlier run, if drills.yaml has not changed since."""
    import json

    key = _cache_key(source)
    try:
        stored = json.loads(_cache_file(source, cache_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or key is None or stored.get("key") != key:
        return None
    return stored.get("data")


def _store(source: Path, cache_dir: Path, data: Any) -> None:
    """Best effort: a cache that cannot be written only costs the next run a YAML parse."""
    import json
    import os

    key = _cache_key(source)
    if key is None:
        return
    target = _cache_file(source, cache_dir)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"key": key, "data": data}), encoding="utf-8")
        os.replace(tmp, target)
    except (OSError, TypeError, ValueError):
        with suppress(OSError):
            tmp.unlink()


def _loader() -> type:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)

"""A pack's YAML files parsed once, and the parse reused while none of them changed.

`drill list` runs on every glance: with the cache it never imports or runs the YAML parser.
The cache file remembers which files it was built from (path, mtime, size), so an edit to
any of them (pack.yaml, a drill.yaml, the cards) is noticed with a few stat() calls.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

CACHE_VERSION = 2

Stamp = list[Any]  # [path, mtime_ns, size]


def stamp(path: Path) -> Stamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [str(path), st.st_mtime_ns, st.st_size]


def cached(root: Path, cache_dir: Path | None, parse: Callable[[], tuple[Any, list[Path]]]) -> Any:
    """`parse()` returns (data, files it read); its result is stored keyed by those files' stamps."""
    # Named after the folder itself (no hashlib: `drill list` would pay for importing it).
    name = re.sub(r"[^A-Za-z0-9]+", "_", str(root)).strip("_")[-120:]
    target = cache_dir / f"pack-{name}.json" if cache_dir else None
    if target is not None:
        hit = _read(target)
        if hit is not None:
            return hit
    data, files = parse()
    if target is not None:
        _store(target, data, files)
    return data


def _read(target: Path) -> Any:
    try:
        stored = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("version") != CACHE_VERSION:
        return None
    files = stored.get("files")
    if not isinstance(files, list) or not files:
        return None
    for entry in files:
        if not isinstance(entry, list) or len(entry) != 3 or stamp(Path(entry[0])) != entry:
            return None
    return stored.get("data")


def _store(target: Path, data: Any, files: list[Path]) -> None:
    """Best effort: a cache that cannot be written only costs the next run a YAML parse."""
    stamps = [stamp(f) for f in files]
    if any(s is None for s in stamps):
        return
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(
            json.dumps({"version": CACHE_VERSION, "files": stamps, "data": data}), encoding="utf-8"
        )
        os.replace(tmp, target)
    except (OSError, TypeError, ValueError):
        with suppress(OSError):
            tmp.unlink()

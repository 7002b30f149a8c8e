"""Finding packs: built-in, added with `drill pack add`, or installed as a Python distribution.

Every pack, the built-in ones included, is loaded by the same `load_pack`. A distribution
registers its pack under the `drillkit.packs` entry point group (the pytest-plugin way):

    [project.entry-points."drillkit.packs"]
    books = "drillkit_pack_books"        # a package whose folder holds pack.yaml

The entry point may also name a callable returning the pack folder, or a string path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from drillkit.errors import ConfigError, UnknownDrillError
from drillkit.pack.load import load_pack
from drillkit.pack.model import Drill, Pack
from drillkit.paths import Paths, builtin_packs_dir

ENTRY_POINT_GROUP = "drillkit.packs"
PACK_ENV = "DRILL_PACK"  # overrides the active pack for one command


# A NamedTuple, not a frozen dataclass: `drill list` imports it (see drillkit/pack/model.py).
class Source(NamedTuple):
    """Where a pack comes from (built in, added, installed), before it is loaded."""

    id: str
    kind: str  # "built-in", "added", "installed"
    origin: str  # shown to the learner: a path, a git URL, a distribution's entry point
    path: Path | None  # None for an entry point not loaded yet


def builtin_sources() -> list[Source]:
    root = builtin_packs_dir()
    try:
        lines = (root / "packs.txt").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    ids = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [Source(i, "built-in", "built-in", root / i) for i in ids]


def added_sources(paths: Paths) -> list[Source]:
    if not paths.packs_file.exists():  # nothing added yet: the common case, read on every `drill list`
        return []
    from drillkit.pack import registry  # only when the learner added packs

    reg = registry.load(paths.packs_file)
    return [Source(a.id, "added", a.source, Path(a.path)) for a in reg.packs.values()]


def installed_sources() -> list[Source]:
    from importlib.metadata import entry_points

    return [
        Source(ep.name, "installed", f"{ep.value} ({ep.dist.name if ep.dist else 'installed'})", None)
        for ep in entry_points(group=ENTRY_POINT_GROUP)
    ]


def all_sources(paths: Paths) -> list[Source]:
    """Every pack drillkit can see; the first of two with the same id wins (built-in first)."""
    seen: dict[str, Source] = {}
    for source in builtin_sources() + added_sources(paths) + installed_sources():
        seen.setdefault(source.id, source)
    return list(seen.values())


def installed_path(name: str) -> Path:
    """The pack folder an entry point names."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP, name=name):
        try:
            target = ep.load()
        except Exception as exc:  # a broken distribution must not take drillkit down
            raise ConfigError(f"the installed pack {name!r} ({ep.value}) cannot be loaded: {exc}") from None
        if isinstance(target, str | os.PathLike):
            return Path(target)
        if callable(target):
            return Path(target())
        if getattr(target, "__file__", None):
            return Path(target.__file__).parent
        raise ConfigError(f"the installed pack {name!r} ({ep.value}) names neither a package nor a path")
    raise ConfigError(f"no installed pack {name!r}")


def load_source(source: Source, cache_dir: Path | None) -> Pack:
    path = source.path if source.path is not None else installed_path(source.id)
    verify = _as_pack_add_would if source.kind == "added" else None
    pack = load_pack(path, source=source.origin, cache_dir=cache_dir, verify=verify)
    if pack.id != source.id:
        raise ConfigError(f"the pack at {path} calls itself {pack.id!r}, but is registered as {source.id!r}")
    return pack


def _as_pack_add_would(root: Path) -> None:
    """An added folder is edited in place: each time its YAML changed, the YAML is checked
    again as `drill pack add` checked it (a misspelt key would otherwise be read as one left
    out, and a drill would lose its hints without a word). None of its Python runs here."""
    from drillkit.pack.validate import format_problem

    _, problem = format_problem(root, yaml_only=True)
    if problem is not None:
        how = f"`drill validate {root}` lists them"
        raise ConfigError(f"the drill pack in {root} has a problem: {problem}; {how}")


def find_source(paths: Paths, pack_id: str) -> Source:
    for source in builtin_sources() + added_sources(paths):
        if source.id == pack_id:
            return source
    for source in installed_sources():
        if source.id == pack_id:
            return source
    known = ", ".join(s.id for s in all_sources(paths))
    raise UnknownDrillError(f"no pack {pack_id!r}; packs here: {known} (see `drill pack list`)")


def open_pack(paths: Paths, pack_id: str) -> Pack:
    return load_source(find_source(paths, pack_id), paths.cache)


def active_id(paths: Paths, env: Mapping[str, str] = os.environ) -> str:
    chosen = env.get(PACK_ENV, "").strip()
    if not chosen and paths.packs_file.exists():  # a `drill pack use` choice
        from drillkit.pack import registry

        chosen = registry.load(paths.packs_file).active or ""
    if chosen:
        return chosen
    builtin = builtin_sources()
    if not builtin:
        raise ConfigError(
            f"drillkit's built-in packs are missing from {builtin_packs_dir()}; reinstall drillkit"
        )
    return builtin[0].id


def active_pack(paths: Paths, env: Mapping[str, str] = os.environ) -> Pack:
    return open_pack(paths, active_id(paths, env))


def resolve_drill(paths: Paths, ref: str, env: Mapping[str, str] = os.environ) -> Drill:
    """`3`, `select` (in the active pack) or `practice:select`, `practice:3` (in any pack)."""
    text = ref.strip()
    if ":" in text:
        pack_id, _, rest = text.partition(":")
        if not pack_id.strip() or not rest.strip():
            raise UnknownDrillError(
                f"{text!r} needs a pack and a drill around the colon, as in practice:3 or practice:upsert"
            )
        pack = open_pack(paths, pack_id.strip())
        if pack.id == active_id(paths, env):
            return pack.get(rest)
        # `drill list` shows the active pack only: this one's drills are a switch away.
        drill = pack.get(rest, listed_by=f"`drill list` after `drill pack use {pack.id}`")
        return drill._replace(outside_active=True)
    return active_pack(paths, env).get(text)


def progress_v2_numbering() -> tuple[str, dict[int, str]] | None:
    """The built-in pack that progress schema 2 knew (the one declaring `progress_v2`), and its
    drill numbers then: what migrating an old progress file needs."""
    for source in builtin_sources():
        try:
            pack = load_source(source, None)
        except ConfigError:
            continue
        if pack.progress_v2:
            return pack.id, dict(pack.progress_v2)
    return None

"""`drill pack list / add / remove / use`: the packs a learner can drill, and which one is active."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from drillkit import progress
from drillkit.errors import ConfigError, DrillkitError
from drillkit.pack import catalog, registry
from drillkit.pack.load import load_pack
from drillkit.pack.model import Pack
from drillkit.paths import Paths


@dataclass(frozen=True)
class PackRow:
    id: str
    kind: str  # built-in, added, installed
    origin: str
    active: bool
    pack: Pack | None  # None: it could not be loaded (`problem` says why)
    problem: str | None
    passed: int


def list_packs(paths: Paths) -> list[PackRow]:
    active = catalog.active_id(paths)
    done = progress.load(paths.progress_file).progress
    rows = []
    for source in catalog.all_sources(paths):
        try:
            pack: Pack | None = catalog.load_source(source, paths.cache)
            problem = None
        except DrillkitError as exc:  # one broken pack must not hide the others
            pack, problem = None, str(exc)
        mine = done.view(source.id)
        passed = sum(1 for d in pack.drills if mine.get(d.slug).first_passed_at) if pack else 0
        rows.append(
            PackRow(source.id, source.kind, source.origin, source.id == active, pack, problem, passed)
        )
    return rows


GIT_URL = re.compile(r"^(git\+)?(file|https?|ssh|git)://|^[\w.-]+@[\w.-]+:|\.git/?$")


@dataclass(frozen=True)
class AddedPack:
    pack: Pack
    cloned: bool
    replaced: bool  # an earlier add of the same pack was updated


def add_pack(paths: Paths, location: str) -> AddedPack:
    """Register a pack folder (kept where it is: an author edits it in place) or clone a git URL."""
    folder = Path(location).expanduser()
    if folder.is_dir() and (folder / "pack.yaml").is_file():
        pack = _valid_pack(folder.absolute(), location)
        # Kept as the absolute path: `./books` means nothing from another folder.
        return _register(paths, pack, str(folder.resolve()), folder.resolve(), cloned=False)
    if GIT_URL.search(location) or (folder / ".git").exists():
        return _clone(paths, location)
    if folder.exists():
        raise ConfigError(f"{location} has no pack.yaml: not a drill pack")
    raise ConfigError(f"no such folder or git URL: {location}")


def _valid_pack(root: Path, location: str, *, cloned: bool = False) -> Pack:
    """The pack, if its files and YAML are in order (no missing file, no slug used twice):
    a learner never gets a drill that cannot start. Nothing of the pack's Python runs here
    (`drill validate` imports its checks; a learner's first check does)."""
    from drillkit.pack.validate import format_problem

    pack, problem = format_problem(root)
    if pack is None:
        problem = problem or "it cannot be loaded"
        if cloned:  # named from the pack's own folder, not the temporary clone's
            problem = problem.split("/", 1)[1] if "/" in problem else problem
        how = (
            "clone it and run `drill validate` in it to list them"
            if cloned
            else f"`drill validate {shlex.quote(location)}` lists them"
        )
        raise ConfigError(f"{location} is not a valid drill pack: {problem}; {how}")
    return pack


def _clone(paths: Paths, url: str) -> AddedPack:
    import tempfile

    if shutil.which("git") is None:
        raise ConfigError(
            "adding a pack from a git URL needs git; install it, or clone by hand and add the folder"
        )
    paths.pack_clones.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".clone-", dir=paths.pack_clones))
    try:
        done = subprocess.run(
            ["git", "clone", "--quiet", "--depth", "1", url.removeprefix("git+"), str(tmp / "pack")],
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            # git's own words: the `fatal:` line says why (not a repository, no such host, ...)
            lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
            fatal = [line.removeprefix("fatal: ") for line in lines if line.startswith("fatal:")]
            reason = "; ".join(line.rstrip(".") for line in fatal) or (
                lines[-1] if lines else "git clone failed"
            )
            raise ConfigError(f"cannot clone {url}: {reason}")
        pack = _valid_pack(tmp / "pack", url, cloned=True)
        target = paths.pack_clones / pack.id
        replaced = target.exists()
        if replaced:
            shutil.rmtree(target)
        (tmp / "pack").rename(target)
        return _register(paths, load_pack(target), url, target, cloned=True, replaced=replaced)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _register(
    paths: Paths, pack: Pack, source: str, folder: Path, *, cloned: bool, replaced: bool = False
) -> AddedPack:
    builtin = {s.id for s in catalog.builtin_sources()}
    if pack.id in builtin:
        raise ConfigError(
            f"pack {pack.id!r} has the id of a built-in pack; give yours another id in its pack.yaml"
        )
    before: list[bool] = []

    def change(reg: registry.Registry) -> None:
        before.append(pack.id in reg.packs)
        reg.packs[pack.id] = registry.Added(pack.id, source, str(folder))

    registry.update(paths.packs_file, change)
    return AddedPack(pack, cloned, replaced or before[0])


def remove_pack(paths: Paths, pack_id: str) -> registry.Added:
    """Forget an added pack (its clone is deleted); progress in it is kept for a later add."""
    if pack_id in {s.id for s in catalog.builtin_sources()}:
        raise ConfigError(
            f"{pack_id!r} is built into drillkit and cannot be removed (`drill pack use` another)"
        )
    removed: list[registry.Added] = []

    def change(reg: registry.Registry) -> None:
        entry = reg.packs.pop(pack_id, None)
        if entry is None:
            raise ConfigError(f"no added pack {pack_id!r} (see `drill pack list`)")
        removed.append(entry)
        if reg.active == pack_id:
            reg.active = None

    registry.update(paths.packs_file, change)
    clone = Path(removed[0].path)
    if clone.parent == paths.pack_clones:
        shutil.rmtree(clone, ignore_errors=True)
    return removed[0]


def use_pack(paths: Paths, pack_id: str) -> Pack:
    pack = catalog.open_pack(paths, pack_id)  # refuse what cannot be loaded

    def change(reg: registry.Registry) -> None:
        reg.active = pack.id

    registry.update(paths.packs_file, change)
    return pack

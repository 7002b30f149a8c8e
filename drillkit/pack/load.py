"""Read a pack folder into a `Pack`: pack.yaml, each drill's drill.yaml, the cards and self-check.

Loading is lenient about style and strict about shape: a pack that cannot be used raises
one ConfigError naming the file. `drill validate` (validate.py) is the strict, line-numbered
review an author runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from drillkit import __version__
from drillkit.errors import ConfigError
from drillkit.pack import cache
from drillkit.pack.model import FORMAT, Deck, Drill, Fixture, Flashcard, Hint, Pack, Skill
from drillkit.store import Unreadable, read_text_file


def read_yaml(path: Path) -> Any:
    import yaml  # deferred: only a changed (or first-read) pack pays for it

    from drillkit.pack.schema import ALIAS_PROBLEM, alias_line, yaml_problem

    try:
        text = read_text_file(path)
    except Unreadable as exc:
        raise ConfigError(f"{path} {exc}") from None
    try:
        line = alias_line(text)
        if line is not None:
            raise ConfigError(f"{path}:{line} {ALIAS_PROBLEM}")
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        line, said = yaml_problem(exc)
        raise ConfigError(f"{path}{f':{line}' if line else ''} is not valid YAML: {said}") from None


def raw_pack(root: Path) -> tuple[dict[str, Any], list[Path]]:
    """Every YAML file of the pack parsed, and the list of files read (for the cache)."""
    index = root / "pack.yaml"
    if not index.exists():  # one there but not a regular file (a FIFO) is read_yaml's to name
        raise ConfigError(f"{root} is not a drill pack: it has no pack.yaml")
    files = [index]
    pack = read_yaml(index)
    if not isinstance(pack, dict):
        raise ConfigError(f"{index} must be a mapping (id, title, drills, ...)")
    drills: dict[str, Any] = {}
    for entry in pack.get("drills") or []:
        slug = entry.get("slug") if isinstance(entry, dict) else None
        if isinstance(slug, str):
            path = root / slug / "drill.yaml"
            files.append(path)
            drills[slug] = read_yaml(path) if path.is_file() else None
    extra: dict[str, Any] = {}
    for name in ("cards", "selfcheck"):
        path = root / f"{name}.yaml"
        if path.is_file():
            files.append(path)
            extra[name] = read_yaml(path)
    return {"pack": pack, "drills": drills, **extra}, files


def load_pack(
    root: Path,
    *,
    source: str = "path",
    cache_dir: Path | None = None,
    verify: Callable[[Path], None] | None = None,
) -> Pack:
    """The pack in `root`. `verify` runs when its YAML is read anew (its files changed since
    the cache was written) and may refuse it with a ConfigError."""
    root = root.absolute()

    def parse() -> tuple[dict[str, Any], list[Path]]:
        parsed = raw_pack(root)  # a file that cannot be read or parsed is its own one line
        if verify is not None:
            verify(root)
        return parsed

    data = cache.cached(root, cache_dir, parse)
    try:
        return _build(root, source, data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(
            f"the drill pack in {root} is malformed ({type(exc).__name__}: {exc}); "
            f"run `drill validate {root}` for details"
        ) from None


def _build(root: Path, source: str, data: dict[str, Any]) -> Pack:
    meta = data["pack"]
    fmt = meta.get("format")
    if fmt != FORMAT:
        raise ConfigError(
            f"the pack in {root} uses pack format {fmt!r}; this drillkit reads format {FORMAT}"
            + (" (upgrade drillkit)" if isinstance(fmt, int) and fmt > FORMAT else "")
        )
    pack_id = str(meta["id"])
    requires = meta.get("requires")
    if requires and not version_satisfies(__version__, str(requires)):
        raise ConfigError(
            f"pack {pack_id!r} needs drillkit {requires}, this is drillkit {__version__} (upgrade drillkit)"
        )
    sections: dict[str, str] = {str(k): str(v) for k, v in (meta.get("sections") or {}).items()}
    fixtures = {
        str(name): _fixture(root, str(name), spec) for name, spec in (meta.get("fixtures") or {}).items()
    }
    solutions = root / str(meta.get("solutions") or "solutions")
    slugs = [str(entry["slug"]) for entry in meta["drills"]]
    twice = next((slug for slug in slugs if slugs.count(slug) > 1), None)
    if twice is not None:  # two drills would share one drill's files and progress
        raise ValueError(f"drill slug {twice!r} is used twice in pack.yaml")
    drills = []
    for number, entry in enumerate(meta["drills"], start=1):
        slug = str(entry["slug"])
        info = data["drills"][slug]
        if info is None:
            raise ValueError(f"drill {slug!r} has no {slug}/drill.yaml")
        section = str(entry.get("section") or "")
        fixture_name = str(entry.get("fixture") or "empty")
        if fixture_name not in fixtures and fixture_name != "empty":
            raise ValueError(
                f"drill {slug!r} names fixture {fixture_name!r}, which pack.yaml does not define"
            )
        drills.append(
            Drill(
                pack_id=pack_id,
                number=number,
                slug=slug,
                section=section,
                section_title=sections.get(section, section),
                title=str(info["title"]),
                fixture=fixtures.get(fixture_name, Fixture("empty")),
                summary=str(info.get("summary") or ""),
                task=str(info["task"]).rstrip(),
                leaves_behind=str(info.get("leaves_behind") or ""),
                explanation=str(info.get("explanation") or "").rstrip(),
                hints=tuple(_hint(h) for h in info.get("hints") or ()),
                folder=root / slug,
                solution_path=solutions / f"{slug}.py",
            )
        )
    return Pack(
        id=pack_id,
        title=str(meta.get("title") or pack_id),
        version=str(meta.get("version") or "0"),
        requires=str(requires) if requires else None,
        root=root,
        source=source,
        drills=tuple(drills),
        deck=_deck(data.get("cards"), data.get("selfcheck"), root),
        progress_v2=tuple(sorted((int(k), str(v)) for k, v in (meta.get("progress_v2") or {}).items())),
        equivalent=tuple(
            (str(slug), str(mutant), str(why))
            for slug, marks in (meta.get("equivalent") or {}).items()
            for mutant, why in (marks or {}).items()
        ),
        mutation_threshold=_percentage(meta.get("mutation_threshold", 90)),
    )


def _percentage(value: Any) -> float:
    """`90`, `"90%"` or `0.9` as a fraction."""
    number = float(str(value).rstrip("%"))
    return number / 100 if number > 1 else number


def _fixture(root: Path, name: str, spec: Any) -> Fixture:
    spec = spec or {}
    return Fixture(
        name,
        sql=root / spec["sql"] if spec.get("sql") else None,
        python=root / spec["python"] if spec.get("python") else None,
    )


def _hint(raw: Any) -> Hint:
    if isinstance(raw, dict):
        return Hint(str(raw["text"]).strip(), str(raw["check"]) if raw.get("check") else None)
    return Hint(str(raw).strip())


def _deck(cards_data: Any, skills_data: Any, root: Path) -> Deck:
    cards = tuple(
        Flashcard(id=str(c["id"]), front=str(c["front"]).strip(), back=str(c["back"]).strip())
        for c in (cards_data or {}).get("cards") or ()
    )
    skills = tuple(
        Skill(
            id=str(s["id"]),
            label=str(s.get("label") or s["id"]),
            text=str(s["text"]).strip(),
            drills=tuple(str(d) for d in s.get("drills") or ()),
        )
        for s in (skills_data or {}).get("items") or ()
    )
    for kind, ids in (("card", [c.id for c in cards]), ("self-check item", [s.id for s in skills])):
        if len(set(ids)) != len(ids):
            # Ids key the progress file: a duplicate would silently share one schedule.
            raise ConfigError(f"duplicate {kind} id in the pack in {root}")
    return Deck(cards, skills)


def version_satisfies(version: str, spec: str) -> bool:
    """A small PEP 440 subset: comma-separated clauses of >=, <=, >, <, ==, != on dotted numbers."""
    import operator
    import re

    ops = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq}
    ops["!="] = operator.ne

    def key(text: str) -> tuple[int, ...]:
        parts = [int(p) for p in re.findall(r"\d+", text)[:3]]
        return tuple(parts + [0] * (3 - len(parts)))

    for clause in spec.split(","):
        match = re.fullmatch(r"\s*(>=|<=|==|!=|>|<)?\s*v?([\d.]+)\s*", clause)
        if not match:
            raise ValueError(f"unreadable version requirement {spec!r}")
        if not ops[match.group(1) or ">="](key(version), key(match.group(2))):
            return False
    return True

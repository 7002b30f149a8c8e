"""The pack format's YAML files described once, and checked with `file:line` findings.

A tiny schema language over PyYAML's node tree (so every finding knows its line):
a spec is a type (`str`, `int`), a `List(spec)`, a `Map(key_spec, value_spec)`, a
`Record({key: spec}, required={...})`, or `OneOf(spec, spec)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ID = re.compile(r"^[a-z][a-z0-9_-]*$")
SLUG = re.compile(r"^[a-z][a-z0-9_]*$")  # a Python identifier: checks import `..common` through it


@dataclass(frozen=True)
class Finding:
    file: str
    line: int | None
    message: str
    drill: str | None = None  # the slug it concerns, when it concerns one

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Str:
    pattern: re.Pattern[str] | None = None
    what: str = "text"


@dataclass(frozen=True)
class Int:
    pass


@dataclass(frozen=True)
class List:
    item: Any


@dataclass(frozen=True)
class Map:
    key: Any
    value: Any


@dataclass(frozen=True)
class Record:
    fields: dict[str, Any]
    required: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class OneOf:
    options: tuple[Any, ...]


TEXT = Str()
FIXTURE = Record({"sql": TEXT, "python": TEXT})
PACK = Record(
    {
        "format": Int(),
        "id": Str(ID, "an id: lowercase letters, digits, - and _, starting with a letter"),
        "title": TEXT,
        "version": TEXT,
        "requires": TEXT,
        "solutions": TEXT,
        "sections": Map(Str(ID, "a section key"), TEXT),
        "fixtures": Map(Str(ID, "a fixture name"), OneOf((FIXTURE, type(None)))),
        "drills": List(
            Record(
                {
                    "slug": Str(SLUG, "a slug: lowercase letters, digits and _"),
                    "section": TEXT,
                    "fixture": TEXT,
                },
                frozenset({"slug"}),
            )
        ),
        # Only for the pack that shipped with drillkit 0.1: its drill numbers then, so progress
        # files of schema 2 (keyed by number) migrate to slugs.
        "progress_v2": Map(Int(), Str(SLUG, "a drill slug")),
        "equivalent": Map(Str(SLUG, "a drill slug"), Map(TEXT, TEXT)),
        "mutation_threshold": OneOf((Int(), Str(re.compile(r"^\d+(\.\d+)?%?$"), "a percentage"))),
    },
    frozenset({"format", "id", "title", "version", "drills"}),
)
HINT = OneOf((TEXT, Record({"text": TEXT, "check": TEXT}, frozenset({"text"}))))
DRILL = Record(
    {
        "title": TEXT,
        "summary": TEXT,
        "task": TEXT,
        "leaves_behind": TEXT,
        "explanation": TEXT,
        "hints": List(HINT),
    },
    frozenset({"title", "summary", "task", "leaves_behind", "explanation", "hints"}),
)
CARDS = Record(
    {
        "cards": List(
            Record(
                {"id": Str(ID, "a card id"), "front": TEXT, "back": TEXT, "drills": List(TEXT)},
                frozenset({"id", "front", "back"}),
            )
        )
    },
    frozenset({"cards"}),
)
SELFCHECK = Record(
    {
        "items": List(
            Record(
                {"id": Str(ID, "an item id"), "label": TEXT, "text": TEXT, "drills": List(TEXT)},
                frozenset({"id", "text"}),
            )
        )
    },
    frozenset({"items"}),
)


def yaml_problem(exc: Exception) -> tuple[int | None, str]:
    """PyYAML's error as a line number and one line: what it found, then what it was doing
    ("found character '\\t' that cannot start any token, while scanning for the next token")."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    parts = [getattr(exc, "problem", None), getattr(exc, "context", None)]
    said = ", ".join(str(p) for p in parts if p) or str(exc).splitlines()[0]
    return (mark.line + 1 if mark else None), said


# An alias (`*name`) repeats what its anchor names: nine levels of nine make 387 million
# values from a file of a few hundred bytes, and merge keys (`<<: *name`) copy as many pairs
# before any check could count them. Pack files have no need of them: refused, before loading.
ALIAS_PROBLEM = "uses a YAML alias (*name): write the value out in full"


def alias_line(text: str) -> int | None:
    """The line of the first alias in a YAML text (tokens only: nothing is built), or None."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for token in yaml.scan(text, Loader=loader):
        if isinstance(token, yaml.AliasToken):
            return token.start_mark.line + 1
    return None


def check_file(path: Path, spec: Any, shown: str) -> tuple[Any, list[Finding]]:
    """Parse `path` and check it against `spec`; the Python value (None if unreadable) and findings."""
    import yaml

    from drillkit.store import Unreadable, read_text_file

    try:
        text = read_text_file(path)
    except Unreadable as exc:
        return None, [Finding(shown, None, f"the file {exc}")]
    try:
        line = alias_line(text)
        if line is not None:
            return None, [Finding(shown, line, ALIAS_PROBLEM)]
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        line, said = yaml_problem(exc)
        return None, [Finding(shown, line, f"not valid YAML: {said}")]
    findings: list[Finding] = []
    if node is None:
        findings.append(Finding(shown, 1, "the file is empty"))
    else:
        _check(node, spec, shown, "", findings)
    return value, findings


def _scalar(node: Any) -> Any:
    import yaml

    return yaml.safe_load(yaml.serialize(node))


def _check(node: Any, spec: Any, shown: str, where: str, out: list[Finding]) -> None:
    import yaml

    line = node.start_mark.line + 1
    label = where or "the document"

    def bad(message: str) -> None:
        out.append(Finding(shown, line, f"{label}: {message}"))

    if isinstance(spec, OneOf):
        trial: list[Finding] = []
        for option in spec.options:
            trial = []
            if option is type(None):
                if isinstance(node, yaml.ScalarNode) and _scalar(node) is None:
                    return
                trial.append(Finding(shown, line, f"{label}: expected nothing"))
                continue
            _check(node, option, shown, where, trial)
            if not trial:
                return
        out.extend(trial)
        return
    if isinstance(spec, Str):
        value = _scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, str):
            bad(f"expected {spec.what}, got {_kind(node)}")
        elif spec.pattern is not None and not spec.pattern.match(value):
            bad(f"{value!r} is not {spec.what}")
        elif not value.strip():
            bad("is empty")
        return
    if isinstance(spec, Int):
        value = _scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(value, int) or isinstance(value, bool):
            bad(f"expected a whole number, got {_kind(node)}")
        return
    if isinstance(spec, List):
        if not isinstance(node, yaml.SequenceNode):
            bad(f"expected a list, got {_kind(node)}")
            return
        for i, item in enumerate(node.value):
            _check(item, spec.item, shown, f"{where}[{i}]", out)
        return
    if isinstance(spec, Map | Record):
        if not isinstance(node, yaml.MappingNode):
            bad(f"expected a mapping, got {_kind(node)}")
            return
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            inner = f"{where}.{key}" if where else str(key)
            if str(key) in seen:
                out.append(Finding(shown, key_node.start_mark.line + 1, f"{inner}: given twice"))
            seen.add(str(key))
            if isinstance(spec, Map):
                _check(key_node, spec.key, shown, f"{where} key {key!r}", out)
                _check(value_node, spec.value, shown, inner, out)
            elif key not in spec.fields:
                known = ", ".join(spec.fields)
                out.append(
                    Finding(shown, key_node.start_mark.line + 1, f"{inner}: unknown key (known: {known})")
                )
            else:
                _check(value_node, spec.fields[key], shown, inner, out)
        if isinstance(spec, Record):
            for name in sorted(spec.required - seen):
                bad(f"missing required key `{name}`")


def _kind(node: Any) -> str:
    import yaml

    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    value = _scalar(node)
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:60]

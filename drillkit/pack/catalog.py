"""The drill pack: `drills/drills.yaml` read into dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from drillkit.errors import ConfigError, UnknownDrillError
from drillkit.pack import cache as packcache
from drillkit.paths import pack_dir

Database = Literal["empty", "seeded"]


@dataclass(frozen=True)
class Drill:
    number: int
    slug: str
    section: str
    section_title: str
    title: str
    database: Database
    summary: str
    task: str
    leaves_behind: str
    explanation: str
    hints: tuple[str, ...]
    pack: Path

    @property
    def stem(self) -> str:
        return f"{self.number:02d}_{self.slug}"

    @property
    def filename(self) -> str:
        return f"{self.stem}.py"

    @property
    def starter_path(self) -> Path:
        return self.pack / "drills" / "starters" / self.filename

    @property
    def solution_path(self) -> Path:
        return self.pack / "solutions" / self.filename

    @property
    def checks_module(self) -> str:
        return f"drillkit.checks.d{self.stem}"


def logical_lines(text: str) -> list[str]:
    """Undo the YAML's hard wrapping: one string per paragraph or `- bullet`."""
    lines: list[str] = []
    bullet_indent = -1  # indent of the bullet being continued, -1 outside a bullet
    for raw in text.splitlines():
        line, indent = raw.strip(), len(raw) - len(raw.lstrip())
        if not line:
            lines.append("")
            bullet_indent = -1
        elif line.startswith("- "):
            lines.append(line)
            bullet_indent = indent
        elif lines and lines[-1] and (bullet_indent < 0 or indent > bullet_indent):
            lines[-1] += " " + line
        else:
            lines.append(line)
            bullet_indent = -1
    return lines


def starter_text(drill: Drill) -> str:
    """The starter as the learner gets it: the task as a comment, then the code."""
    import textwrap

    lines = [f"# Drill {drill.number} · {drill.title}  ({drill.section_title})", "#"]
    for line in logical_lines(drill.task):
        indent = "  " if line.startswith("- ") else ""
        wrapped = textwrap.wrap(line, 86, subsequent_indent=indent) or [""]
        lines += [f"# {part}".rstrip() for part in wrapped]
    lines += [
        "#",
        f"# Your file must leave behind: {drill.leaves_behind}.",
        f"# Check it:  drill check {drill.number}   (runs this file against a fresh Postgres schema)",
        f"# Stuck?     drill hint {drill.number}    (one hint at a time)",
        f"# Compare:   drill reveal {drill.number}  (once you have tried and run it)",
        "",
    ]
    return "\n".join(lines) + drill.starter_path.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Catalog:
    drills: tuple[Drill, ...]

    def get(self, ref: str | int) -> Drill:
        """Look a drill up by number ("3") or slug ("select")."""
        text = str(ref).strip()
        for drill in self.drills:
            if text in (str(drill.number), drill.slug, f"{drill.number:02d}"):
                return drill
        close = closest(text, {d.slug: d for d in self.drills})
        if close is not None:
            raise UnknownDrillError(f"no drill {text!r}; did you mean `{close.slug}` (drill {close.number})?")
        first, last = self.drills[0], self.drills[-1]
        raise UnknownDrillError(
            f"no drill {text!r}; name one by number ({first.number}-{last.number}) or slug "
            f"({first.slug}, {self.drills[1].slug}, ...): see `drill list`"
        )

    @cached_property
    def by_number(self) -> dict[int, Drill]:
        return {d.number: d for d in self.drills}


def closest(typed: str, names: dict[str, Drill]) -> Drill | None:
    """What a typo most likely meant (`selct` -> `select`), or None when nothing is close."""
    from difflib import get_close_matches  # deferred: only a mistyped name pays for it

    match = get_close_matches(typed.lower(), list(names), n=1, cutoff=0.6)
    return names[match[0]] if match else None


def load_catalog(pack: Path | None = None, cache_dir: Path | None = None) -> Catalog:
    """Read the pack; with `cache_dir`, reuse the parse of an unchanged drills.yaml (no YAML import)."""
    pack = pack or pack_dir()
    source = pack / "drills" / "drills.yaml"
    data = packcache.read(source, cache_dir)
    try:
        sections: dict[str, str] = data["sections"]
        drills = tuple(
            Drill(
                number=int(item["number"]),
                slug=str(item["slug"]),
                section=str(item["section"]),
                section_title=sections[item["section"]],
                title=str(item["title"]),
                database=item["database"],
                summary=str(item["summary"]),
                task=str(item["task"]).rstrip(),
                leaves_behind=str(item["leaves_behind"]),
                explanation=str(item["explanation"]).rstrip(),
                hints=tuple(str(h) for h in item["hints"]),
                pack=pack,
            )
            for item in data["drills"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"the drill pack {source} is malformed: {exc!r}") from None
    return Catalog(drills)

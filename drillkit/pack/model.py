"""A drill pack as data: the pack, its drills, hints, fixtures, flashcards and self-check items.

Nothing here knows any particular pack; `load.py` builds these from a pack folder.

The records are NamedTuples rather than frozen dataclasses: immutable and compared by value
either way, but `drill list` imports all of them, and on Python 3.11 a frozen dataclass costs
~0.8 ms to create (six generated methods, each compiled) against ~0.15 ms for a NamedTuple.
The other records on `drill list`'s path do the same for the same reason.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from drillkit.errors import UnknownDrillError, UnknownSkillError

FORMAT = 1  # the pack format this drillkit reads
ANSWER_MARKER = "# --- your answer below"


class Hint(NamedTuple):
    """One step of a drill's hints, from nudge to near-answer."""

    text: str
    check: str | None = None  # the check (its function name) this hint is about, if any


class Fixture(NamedTuple):
    """What the run schema holds before the learner's file runs."""

    name: str
    sql: Path | None = None  # a script run as the run role, search_path set to the run schema
    python: Path | None = None  # a module with `def seed(conn)` (a psycopg connection)


class Drill(NamedTuple):
    """One drill of a pack: its text, files, fixture and hints (drill.yaml, resolved)."""

    pack_id: str
    number: int  # position in the pack, from 1
    slug: str
    section: str
    section_title: str
    title: str
    fixture: Fixture
    summary: str
    task: str
    leaves_behind: str
    explanation: str
    hints: tuple[Hint, ...]
    folder: Path  # <pack>/<slug>/
    solution_path: Path
    outside_active: bool = False  # reached as PACK:SLUG while another pack is active

    @property
    def cli_ref(self) -> str:
        """How commands printed for the learner name this drill: its number in the active
        pack, `pack:slug` when it belongs to another one."""
        return self.ref if self.outside_active else str(self.number)

    @property
    def stem(self) -> str:
        return f"{self.number:02d}_{self.slug}"

    @property
    def filename(self) -> str:
        return f"{self.stem}.py"

    @property
    def ref(self) -> str:
        """How to name this drill from any pack: `pack:slug`."""
        return f"{self.pack_id}:{self.slug}"

    @property
    def starter_path(self) -> Path:
        return self.folder / "starter.py"

    @property
    def checks_path(self) -> Path:
        return self.folder / "checks.py"

    @property
    def answers_dir(self) -> Path:
        return self.folder / "answers"


class Flashcard(NamedTuple):
    """A recall card of the pack's deck."""

    id: str
    front: str
    back: str


class Skill(NamedTuple):
    """An item of the self-check list, earned by clean passes of its drills."""

    id: str
    label: str
    text: str
    drills: tuple[str, ...]  # slugs whose clean pass earns the tick; may be empty


class Deck(NamedTuple):
    """A pack's flashcards and self-check items."""

    cards: tuple[Flashcard, ...]
    skills: tuple[Skill, ...]

    def skill(self, ref: str) -> Skill:
        """Look an item up by its position in the list ("3") or its id ("select")."""
        text = ref.strip()
        for number, skill in enumerate(self.skills, start=1):
            if text in (str(number), skill.id):
                return skill
        count = len(self.skills)
        numbered = (
            "there is no item"
            if not count
            else "there is only item 1"
            if count == 1
            else f"items are numbered 1-{count}"
        )
        raise UnknownSkillError(f"no self-check item {text!r}; {numbered} (see `drill selfcheck`)")


class Pack(NamedTuple):
    """A loaded pack: its metadata, its drills in order and its deck."""

    id: str
    title: str
    version: str
    requires: str | None
    root: Path
    source: str  # where it came from: "built-in", a path, a git URL, "entry point NAME"
    drills: tuple[Drill, ...]
    deck: Deck
    progress_v2: tuple[tuple[int, str], ...] = ()  # drill numbers of progress schema 2, if this pack had them
    equivalent: tuple[tuple[str, str, str], ...] = ()  # (slug, mutant id, why it is still correct)
    mutation_threshold: float = 0.9  # `drill validate --mutants` fails below this score

    def get(self, ref: str | int, listed_by: str = "`drill list`") -> Drill:
        """Look a drill up by number ("3", "03") or slug ("select"). `listed_by`: the command
        that shows this pack's drills, for the message when there is no such drill."""
        text = str(ref).strip()
        for drill in self.drills:
            if text in (str(drill.number), drill.slug, f"{drill.number:02d}"):
                return drill
        raise UnknownDrillError(self.unknown(text, listed_by))

    def chosen(self, ref: str | None) -> tuple[Drill, ...]:
        """Every drill, or only the one `ref` names (see `get`: an unknown one raises). For
        `drill validate`, whose pack need not be added, let alone active: pack.yaml lists them."""
        return self.drills if ref is None else (self.get(ref, listed_by=str(self.root / "pack.yaml")),)

    def unknown(self, text: str, listed_by: str) -> str:
        if not self.drills:
            return f"pack {self.id!r} has no drills"
        close = self.closest(text)
        guess = f"; did you mean `{close.slug}` (drill {close.number})?" if close else ";"
        first, last = self.drills[0], self.drills[-1]
        span = str(first.number) if first is last else f"{first.number}-{last.number}"
        examples = ", ".join(d.slug for d in self.drills[:2])
        return (
            f"no drill {text!r} in pack {self.id!r}{guess} name one by number ({span}) or slug "
            f"({examples}{', ...' if len(self.drills) > 2 else ''}): see {listed_by}"
        )

    def closest(self, typed: str) -> Drill | None:
        """The drill a typo most likely meant (`selct` -> `select`), or None when nothing is close."""
        from difflib import get_close_matches  # deferred: only a mistyped name pays for it

        match = get_close_matches(typed.lower(), list(self.by_slug), n=1, cutoff=0.6)
        return self.by_slug[match[0]] if match else None

    @property
    def by_slug(self) -> dict[str, Drill]:
        return {d.slug: d for d in self.drills}

"""The retention pack: flashcards (`drills/cards.yaml`) and self-check items (`drills/selfcheck.yaml`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from drillkit.errors import ConfigError, UnknownSkillError
from drillkit.pack import cache as packcache
from drillkit.paths import pack_dir


@dataclass(frozen=True)
class Flashcard:
    id: str
    front: str
    back: str


@dataclass(frozen=True)
class Skill:
    id: str
    label: str
    text: str
    drills: tuple[int, ...]  # the drills whose clean pass earns the tick; may be empty


@dataclass(frozen=True)
class Deck:
    cards: tuple[Flashcard, ...]
    skills: tuple[Skill, ...]

    def skill(self, ref: str) -> Skill:
        """Look an item up by its position in the list ("3") or its id ("select")."""
        text = ref.strip()
        for number, skill in enumerate(self.skills, start=1):
            if text in (str(number), skill.id):
                return skill
        raise UnknownSkillError(
            f"no self-check item {text!r}; items are numbered 1-{len(self.skills)} (see `drill selfcheck`)"
        )


def load_deck(pack: Path | None = None, cache_dir: Path | None = None) -> Deck:
    pack = pack or pack_dir()
    cards_data = packcache.read(pack / "drills" / "cards.yaml", cache_dir)
    skills_data = packcache.read(pack / "drills" / "selfcheck.yaml", cache_dir)
    try:
        cards = tuple(
            Flashcard(id=str(c["id"]), front=str(c["front"]).strip(), back=str(c["back"]).strip())
            for c in cards_data["cards"]
        )
        skills = tuple(
            Skill(
                id=str(s["id"]),
                label=str(s["label"]),
                text=str(s["text"]).strip(),
                drills=tuple(int(n) for n in s["drills"]),
            )
            for s in skills_data["items"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"the card or self-check pack in {pack / 'drills'} is malformed: {exc!r}") from None
    for kind, ids in (("card", [c.id for c in cards]), ("self-check item", [s.id for s in skills])):
        if len(set(ids)) != len(ids):
            # Ids key the progress file: a duplicate would silently share one schedule.
            raise ConfigError(f"duplicate {kind} id in {pack / 'drills'}")
    return Deck(cards, skills)

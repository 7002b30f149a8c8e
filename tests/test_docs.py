"""The docs keep up with the code (the sqlite-utils way): every command and every pack
subcommand is documented in the README, and the author's guide names every public check API
name and every pack.yaml key."""

from __future__ import annotations

import re
from pathlib import Path

import drillkit.check
from drillkit.cli import app
from drillkit.pack import schema

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text(encoding="utf-8")
GUIDE = (REPO / "docs" / "writing-a-pack.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    names = [c.name or c.callback.__name__.replace("_command", "") for c in app.registered_commands]
    for group in app.registered_groups:
        names += [f"{group.name} {c.name}" for c in group.typer_instance.registered_commands]
    return names


def test_every_command_is_in_the_readme() -> None:
    missing = [name for name in _commands() if not re.search(rf"`drill {re.escape(name)}\b", README)]
    # `drill pack list` / `add` / ... are documented on one table row
    missing = [n for n in missing if not (n.startswith("pack ") and f"/ `{n.split()[1]}" in README)]
    assert missing == []


def test_the_guide_names_the_public_check_api_and_every_pack_key() -> None:
    assert [name for name in drillkit.check.__all__ if name not in GUIDE] == []
    keys = list(schema.PACK.fields) + list(schema.DRILL.fields)
    assert [key for key in keys if f"{key}:" not in GUIDE and key != "progress_v2"] == []


def test_the_guide_names_every_kind_a_drill_may_allow() -> None:
    from drillkit.check.framework import ALLOWABLE

    assert "Checks(allows=" in GUIDE
    assert [kind for kind in sorted(ALLOWABLE) if f"`{kind}`" not in GUIDE] == []


def test_the_readme_links_the_guide() -> None:
    assert "docs/writing-a-pack.md" in README


def test_the_readme_tour_shows_drill_3_s_checks_as_they_are() -> None:
    """The tour's `drill check` output lists the drill's real checks, in order, and counts them."""
    from drillkit.check.loader import load_checks
    from drillkit.results import FIRST_CHECK
    from tests.conftest import builtin_pack

    pack = builtin_pack()
    drill = pack.get("3")
    names = [FIRST_CHECK, *load_checks(pack.id, pack.root, drill.slug).names]
    tour = README.split("## A tour", 1)[1].split("```", 2)[1]
    shown = [m.group(1) for m in re.finditer(r"^ [✓✗–] (.+)$", tour, re.M)]
    assert shown == names
    summary = re.search(r"(\d+) of (\d+) checks passed", tour)
    assert summary and int(summary.group(2)) == len(names)
    assert int(summary.group(1)) == tour.count("\n ✓ ")


def test_the_readme_says_how_many_hints_a_drill_has() -> None:
    from drillkit.pack.catalog import builtin_sources, load_source

    counts = [len(d.hints) for s in builtin_sources() for d in load_source(s, None).drills]
    said = re.search(r"\((\d+) to (\d+) per drill,", README)
    assert said is not None and (int(said[1]), int(said[2])) == (min(counts), max(counts))

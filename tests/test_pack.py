"""The drill pack is complete and consistent (rustlings' `dev check`, as tests)."""

from __future__ import annotations

import ast
import importlib

import pytest

from drillkit.attempts import ANSWER_MARKER
from drillkit.pack.catalog import load_catalog, starter_text

CATALOG = load_catalog()
DRILLS = CATALOG.drills
GIVEN = "# --- given: these models match the tables already in the drill database"
ALLOWED_IMPORTS = {"sqlalchemy", "drillkit"}


def test_seven_drills_numbered_in_order() -> None:
    assert [d.number for d in DRILLS] == list(range(1, 8))
    assert {d.section for d in DRILLS} == {"warm-up", "stretch", "build"}


@pytest.mark.parametrize("drill", DRILLS, ids=lambda d: d.filename)
def test_every_drill_has_all_its_parts(drill) -> None:
    assert drill.starter_path.is_file()
    assert drill.solution_path.is_file()
    checks = importlib.import_module(drill.checks_module)
    assert len(checks.CHECKS.checks) >= 2
    assert len(drill.hints) >= 3
    assert drill.task and drill.explanation and drill.summary
    assert ANSWER_MARKER in drill.starter_path.read_text(encoding="utf-8")
    assert ANSWER_MARKER in drill.solution_path.read_text(encoding="utf-8")


@pytest.mark.parametrize("drill", DRILLS, ids=lambda d: d.filename)
def test_starters_import_only_stdlib_sqlalchemy_and_sandbox(drill) -> None:
    import sys

    tree = ast.parse(starter_text(drill))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top in ALLOWED_IMPORTS, name
            if top == "drillkit":
                assert name == "drillkit.sandbox", name


def test_given_models_are_identical_everywhere() -> None:
    seeded = [d for d in DRILLS if d.database == "seeded" and d.slug != "get_db"]
    assert [d.number for d in seeded] == [3, 4, 6, 7]
    blocks = set()
    for drill in seeded:
        for path in (drill.starter_path, drill.solution_path):
            text = path.read_text(encoding="utf-8")
            blocks.add(text[text.index(GIVEN) : text.index(ANSWER_MARKER)])
    assert len(blocks) == 1, "the given User/Document models differ between files"


def test_given_models_match_the_seeded_tables() -> None:
    from drillkit.seed import TABLES_SQL

    for column in ("email varchar(255)", "title varchar(200)", "owner_id integer", "created_at timestamptz"):
        assert column in TABLES_SQL


def test_flashcards_and_selfcheck_are_complete() -> None:
    from drillkit.retention.deck import load_deck

    deck = load_deck()
    assert len(deck.cards) == 6  # syllabus section D
    assert all(c.front.strip() and c.back.strip() for c in deck.cards)
    # Section E: one item per skill the drills cover, each pointing at drills that exist.
    assert [s.id for s in deck.skills] == [
        "models",
        "relationships",
        "select",
        "insert",
        "update",
        "session-per-request",
        "eager-loading",
        "alembic",
    ]
    numbers = {d.number for d in DRILLS}
    for skill in deck.skills:
        assert set(skill.drills) <= numbers, skill.id
        assert skill.text.endswith("without looking.") and skill.label
    covered = {n for s in deck.skills for n in s.drills}
    assert covered == numbers, "every drill backs some self-check item"

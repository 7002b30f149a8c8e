"""The progress file: versioned, atomic, locked, and never silently lost."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from drillkit import progress
from drillkit.errors import ProgressFileError
from tests.conftest import builtin_pack

# The progress file is keyed by pack id and drill slug. Files from before packs (schema 1, 2)
# land in the built-in pack they were written for: the default one.
PACK = builtin_pack().id


def drill_of(p: progress.Progress, slug: str) -> progress.DrillProgress:
    return p.view(PACK).get(slug)


def test_missing_file_is_empty_progress(tmp_path: Path) -> None:
    loaded = progress.load(tmp_path / "progress.json")
    assert loaded.progress.packs == {} and loaded.warning is None


def test_round_trip_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    progress.update(path, lambda p: setattr(p.pack(PACK).of("select"), "attempts", 2))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == {
        "version": progress.SCHEMA_VERSION,
        "packs": {
            PACK: {
                "drills": {
                    "select": {
                        "attempts": 2,
                        "last_attempt": None,
                        "last_result": None,
                        "first_passed_at": None,
                        "revealed_at": None,
                        "hints_used": 0,
                        "hints_shown": [],
                        "last_failed": [],
                        "file": None,
                        "review": {
                            "step": -1,
                            "due": None,
                            "rounds": 0,
                            "clean_rounds": 0,
                            "slipped": False,
                            "last_reviewed_at": None,
                        },
                    }
                },
                "cards": {},
                "selfcheck": {},
            }
        },
    }
    assert drill_of(progress.load(path).progress, "select").attempts == 2


def test_drill_accessors_key_by_pack_and_slug(tmp_path: Path) -> None:
    pack = builtin_pack()
    drill = pack.drills[-1]
    p = progress.Progress()
    assert p.get(drill).attempts == 0 and p.packs == {}  # reading creates nothing
    assert p.view(pack.id).drills == {} and p.packs == {}
    p.of(drill).attempts = 4
    assert p.packs[pack.id].drills[drill.slug].attempts == 4
    assert p.get(drill).attempts == 4
    # Another pack's drill with the same slug is kept apart.
    other = drill._replace(pack_id="other")
    assert p.get(other).attempts == 0
    p.of(other).attempts = 1
    assert p.get(drill).attempts == 4 and set(p.packs) == {pack.id, "other"}


V1_FILE = {
    "version": 1,
    "drills": {
        "3": {
            "attempts": 2,
            "last_attempt": "2026-04-01T10:05:00.000000+00:00",
            "last_result": "passed",
            "first_passed_at": "2026-04-01T10:00:00.000000+00:00",
            "revealed_at": None,
            "hints_used": 0,
        },
        "4": {
            "attempts": 1,
            "last_attempt": "2026-04-02T08:00:00.000000+00:00",
            "last_result": "failed",
            "first_passed_at": None,
            "revealed_at": "2026-04-02T07:59:00.000000+00:00",
            "hints_used": 1,
        },
    },
}


def test_version_1_file_migrates_forward(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text(json.dumps(V1_FILE), encoding="utf-8")
    loaded = progress.load(path)
    assert loaded.warning is None
    p = loaded.progress
    assert set(p.packs) == {PACK}
    select, insert = drill_of(p, "select"), drill_of(p, "insert")  # version 1's drills 3 and 4
    # Everything version 1 knew survives.
    assert select.attempts == 2 and select.status() == "passed"
    assert insert.revealed_at == "2026-04-02T07:59:00.000000+00:00" and insert.hints_used == 1
    assert insert.hints_shown == [0]
    # A passed drill enters the review ladder one interval after its first pass.
    assert select.review.step == 0
    assert select.review.due == "2026-04-02T10:00:00.000000+00:00"
    assert not insert.review.scheduled
    assert p.view(PACK).cards == {} and p.view(PACK).selfcheck == {}
    # The file itself is rewritten in the current schema on the next update only.
    assert json.loads(path.read_text(encoding="utf-8"))["version"] == 1
    progress.update(path, lambda p: None)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == progress.SCHEMA_VERSION == 3
    assert data["packs"][PACK]["drills"]["select"]["review"]["due"] == "2026-04-02T10:00:00.000000+00:00"


def test_file_without_version_is_read_as_version_1(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    unversioned = {k: v for k, v in V1_FILE.items() if k != "version"}
    path.write_text(json.dumps(unversioned), encoding="utf-8")
    assert drill_of(progress.load(path).progress, "select").review.scheduled


V2_FILE = {
    "version": 2,
    "drills": {
        "3": {
            "attempts": 3,
            "last_attempt": "2026-04-01T10:05:00.000000+00:00",
            "last_result": "passed",
            "first_passed_at": "2026-04-01T10:00:00.000000+00:00",
            "revealed_at": None,
            "hints_used": 2,
            "review": {
                "step": 1,
                "due": "2026-04-05T10:00:00.000000+00:00",
                "rounds": 1,
                "clean_rounds": 1,
                "slipped": False,
                "last_reviewed_at": "2026-04-02T10:00:00.000000+00:00",
            },
        },
        "7": {
            "attempts": 1,
            "last_attempt": "2026-04-03T09:00:00.000000+00:00",
            "last_result": "failed",
            "first_passed_at": None,
            "revealed_at": "2026-04-03T09:30:00.000000+00:00",
            "hints_used": 0,
            "review": {
                "step": -1,
                "due": None,
                "rounds": 0,
                "clean_rounds": 0,
                "slipped": False,
                "last_reviewed_at": None,
            },
        },
        # No drill 42 ever shipped: whatever a hand-edited file says about it goes.
        "42": {"attempts": 9, "review": {}},
    },
    "cards": {
        "orm": {
            "due": "2026-04-10T00:00:00.000000+00:00",
            "stability": 8.5,
            "difficulty": 4.2,
            "last_review": "2026-04-02T00:00:00.000000+00:00",
            "fsrs_state": 2,
            "step": None,
            "reps": 2,
            "lapses": 0,
        }
    },
    "selfcheck": {"select": "2026-04-02T11:00:00.000000+00:00"},
}


def test_version_2_numbers_become_slugs_of_the_builtin_pack() -> None:
    # The frozen version-2 numbering is the built-in pack's, and names drills it still has.
    from drillkit.pack.catalog import progress_v2_numbering

    pack = builtin_pack()
    known = progress_v2_numbering()
    assert known is not None
    pack_id, slugs = known
    assert pack_id == pack.id
    assert set(slugs.values()) <= set(pack.by_slug)
    assert len(set(slugs.values())) == len(slugs)
    assert slugs[3] == "select" and slugs[7] == "docs_for_user"  # as drillkit 0.1 numbered them


def test_version_2_file_migrates_forward(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text(json.dumps(V2_FILE), encoding="utf-8")
    loaded = progress.load(path)
    assert loaded.warning is None
    p = loaded.progress
    assert set(p.packs) == {PACK}
    mine = p.view(PACK)
    # Drill numbers became slugs; the drill number that never existed is dropped.
    assert set(mine.drills) == {"select", "docs_for_user"}
    select, docs = mine.drills["select"], mine.drills["docs_for_user"]
    assert select.attempts == 3 and select.status() == "passed" and select.clean_pass
    assert select.review.step == 1 and select.review.due == "2026-04-05T10:00:00.000000+00:00"
    assert select.review.clean_rounds == 1
    assert docs.status() == "attempted" and docs.revealed_at == "2026-04-03T09:30:00.000000+00:00"
    # hints_used (a count) becomes hints_shown (which hints, in order): the first N.
    assert select.hints_shown == [0, 1] and select.hints_used == 2
    assert docs.hints_shown == [] and docs.hints_used == 0
    # Flashcard schedules and self-check ticks are carried over unchanged.
    assert set(mine.cards) == {"orm"}
    assert mine.cards["orm"].due == "2026-04-10T00:00:00.000000+00:00"
    assert mine.cards["orm"].stability == 8.5 and mine.cards["orm"].reps == 2
    assert mine.selfcheck == {"select": "2026-04-02T11:00:00.000000+00:00"}
    # Written back in schema 3 on the next update, with nothing but the migrated pack.
    progress.update(path, lambda p: None)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == progress.SCHEMA_VERSION == 3
    assert set(data) == {"version", "packs"} and set(data["packs"]) == {PACK}
    assert set(data["packs"][PACK]["drills"]) == {"select", "docs_for_user"}
    assert data["packs"][PACK]["cards"]["orm"] == V2_FILE["cards"]["orm"]
    assert data["packs"][PACK]["selfcheck"] == V2_FILE["selfcheck"]
    assert data["packs"][PACK]["drills"]["select"]["hints_shown"] == [0, 1]


def test_version_2_migrated_progress_shows_in_the_listing(tmp_path: Path) -> None:
    """Migrated progress is found by the commands: the pack's drill `select` shows as passed."""
    from drillkit.commands.listing import list_drills
    from drillkit.paths import resolve_paths

    paths = resolve_paths(
        tmp_path / "work",
        env={"DRILL_HOME": str(tmp_path / "home"), "DRILL_PROGRESS": str(tmp_path / "p.json")},
    )
    paths.progress_file.write_text(json.dumps(V2_FILE), encoding="utf-8")
    listing = list_drills(paths, builtin_pack())
    status = {row.drill.slug: row.status for row in listing.rows}
    assert status["select"] == "passed" and status["docs_for_user"] == "attempted"
    assert listing.passed == 1
    assert next(r for r in listing.skills if r.skill.id == "select").earned


def test_invalid_state_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    progress.update(path, lambda p: setattr(p.pack(PACK).of("select"), "attempts", 1))
    before = path.read_text(encoding="utf-8")

    def break_it(p: progress.Progress) -> None:
        p.pack(PACK).of("select").review.due = "next tuesday"

    with pytest.raises(ProgressFileError, match="refusing to write"):
        progress.update(path, break_it)
    assert path.read_text(encoding="utf-8") == before


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{trunc",
        "[]",
        '{"version": 1, "drills": {"3": {"attempts": "many"}}}',
        '{"drills": {"x": {}}}',
        '{"version": 2, "drills": {"3": {"attempts": "many", "review": {}}}, "cards": {}, "selfcheck": {}}',
        '{"version": 2, "drills": {}, "cards": {"orm": {"due": "soon"}}, "selfcheck": {}}',
        '{"version": 2, "drills": {}, "cards": {}, "selfcheck": {"models": true}}',
        '{"version": 0, "drills": {}}',
        '{"version": 3}',
        '{"version": 3, "packs": []}',
        '{"version": 3, "packs": {"sqlalchemy": {"drills": {"select": {"attempts": -1}}}}}',
        '{"version": 3, "packs": {"sqlalchemy": {"drills": {"select": {"review": {"due": "soon"}}}}}}',
        '{"version": 3, "packs": {"sqlalchemy": {"selfcheck": {"models": 1}}}}',
    ],
)
def test_corrupt_file_is_backed_up_not_lost(tmp_path: Path, content: str) -> None:
    path = tmp_path / "progress.json"
    path.write_text(content, encoding="utf-8")
    loaded = progress.load(path)
    assert loaded.progress.packs == {}
    assert loaded.warning and "moved to" in loaded.warning
    (backup,) = tmp_path.glob("progress.json.corrupt-*")
    assert backup.read_text(encoding="utf-8") == content
    assert not path.exists()


def test_future_version_is_refused_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text('{"version": 7, "drills": {}}', encoding="utf-8")
    with pytest.raises(ProgressFileError, match="newer drillkit"):
        progress.update(path, lambda p: None)
    assert path.read_text(encoding="utf-8") == '{"version": 7, "drills": {}}'


def test_status_rules() -> None:
    entry = progress.DrillProgress()
    assert entry.status() == "not started"
    entry.attempts = 1
    assert entry.status() == "attempted"
    entry.first_passed_at = "2026-01-02T00:00:00.000000+00:00"
    assert entry.status() == "passed"
    entry.revealed_at = "2026-01-03T00:00:00.000000+00:00"
    assert entry.status() == "passed"  # revealed after a clean pass
    entry.revealed_at = "2026-01-01T00:00:00.000000+00:00"
    assert entry.status() == "passed after reveal"


def _bump(path: str, slug: str, times: int) -> None:
    for _ in range(times):

        def inc(p: progress.Progress) -> None:
            p.pack(PACK).of(slug).attempts += 1

        progress.update(Path(path), inc)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    ctx = multiprocessing.get_context("spawn")
    slugs = ("model", "relationship", "select")
    workers = [ctx.Process(target=_bump, args=(str(path), slugs[n % 3], 25)) for n in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    drills = progress.load(path).progress.view(PACK).drills
    assert sum(d.attempts for d in drills.values()) == 150
    assert not list(tmp_path.glob("*.tmp"))

"""The progress file: versioned, atomic, locked, and never silently lost."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from drillkit import progress
from drillkit.errors import ProgressFileError


def test_missing_file_is_empty_progress(tmp_path: Path) -> None:
    loaded = progress.load(tmp_path / "progress.json")
    assert loaded.progress.drills == {} and loaded.warning is None


def test_round_trip_and_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    progress.update(path, lambda p: setattr(p.of(3), "attempts", 2))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == {
        "version": progress.SCHEMA_VERSION,
        "drills": {
            "3": {
                "attempts": 2,
                "last_attempt": None,
                "last_result": None,
                "first_passed_at": None,
                "revealed_at": None,
                "hints_used": 0,
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
    assert progress.load(path).progress.of(3).attempts == 2


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
    # Everything version 1 knew survives.
    assert p.of(3).attempts == 2 and p.of(3).status() == "passed"
    assert p.of(4).revealed_at == "2026-04-02T07:59:00.000000+00:00" and p.of(4).hints_used == 1
    # A passed drill enters the review ladder one interval after its first pass.
    assert p.of(3).review.step == 0
    assert p.of(3).review.due == "2026-04-02T10:00:00.000000+00:00"
    assert not p.of(4).review.scheduled
    assert p.cards == {} and p.selfcheck == {}
    # The file itself is rewritten in the current schema on the next update only.
    assert json.loads(path.read_text(encoding="utf-8"))["version"] == 1
    progress.update(path, lambda p: None)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == progress.SCHEMA_VERSION == 2
    assert data["drills"]["3"]["review"]["due"] == "2026-04-02T10:00:00.000000+00:00"


def test_file_without_version_is_read_as_version_1(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    unversioned = {k: v for k, v in V1_FILE.items() if k != "version"}
    path.write_text(json.dumps(unversioned), encoding="utf-8")
    assert progress.load(path).progress.of(3).review.scheduled


def test_invalid_state_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    progress.update(path, lambda p: setattr(p.of(3), "attempts", 1))
    before = path.read_text(encoding="utf-8")

    def break_it(p: progress.Progress) -> None:
        p.of(3).review.due = "next tuesday"

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
        '{"version": 2, "drills": {}, "cards": {"orm": {"due": "soon"}}, "selfcheck": {}}',
        '{"version": 2, "drills": {}, "cards": {}, "selfcheck": {"models": true}}',
        '{"version": 0, "drills": {}}',
    ],
)
def test_corrupt_file_is_backed_up_not_lost(tmp_path: Path, content: str) -> None:
    path = tmp_path / "progress.json"
    path.write_text(content, encoding="utf-8")
    loaded = progress.load(path)
    assert loaded.progress.drills == {}
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


def _bump(path: str, drill: int, times: int) -> None:
    for _ in range(times):

        def inc(p: progress.Progress) -> None:
            p.of(drill).attempts += 1

        progress.update(Path(path), inc)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_bump, args=(str(path), n % 3 + 1, 25)) for n in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0
    drills = progress.load(path).progress.drills
    assert sum(d.attempts for d in drills.values()) == 150
    assert not list(tmp_path.glob("*.tmp"))

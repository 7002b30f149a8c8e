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
            }
        },
    }
    assert progress.load(path).progress.of(3).attempts == 2


@pytest.mark.parametrize(
    "content",
    ["", "{trunc", "[]", '{"version": 1, "drills": {"3": {"attempts": "many"}}}', '{"drills": {"x": {}}}'],
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

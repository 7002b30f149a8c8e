"""`drill list` without Typer: which invocations take the fast road, and the pack cache."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from drillkit.fastpath import parse_list
from drillkit.pack.load import load_pack
from tests.conftest import Learner, builtin_pack


def builtin_pack_dir() -> Path:
    return builtin_pack().root


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["list"], (None, False)),
        (["list", "--json"], (None, True)),
        (["list", "--dir", "ws", "--json"], (Path("ws"), True)),
        (["list", "--dir=ws"], (Path("ws"), False)),
    ],
)
def test_plain_list_takes_the_fast_road(argv: list[str], expected: tuple) -> None:
    assert parse_list(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [[], ["check", "3"], ["list", "--help"], ["list", "--dir"], ["list", "--dir="], ["list", "-x"], ["lis"]],
)
def test_anything_else_goes_through_typer(argv: list[str]) -> None:
    assert parse_list(argv) is None


def test_fast_and_typer_roads_print_the_same(
    learner: Learner, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import drillkit.fastpath

    fast = learner.drill("list", "--json")
    first = builtin_pack().drills[0]
    assert fast.code == 0 and f"drill start {first.number}" in learner.drill("list").stdout
    # The Typer road: the same command with the fast parse switched off.
    monkeypatch.setattr(drillkit.fastpath, "parse_list", lambda argv: None)
    monkeypatch.setenv("DRILL_HOME", learner.env["DRILL_HOME"])
    monkeypatch.setenv("DRILL_PROGRESS", learner.env["DRILL_PROGRESS"])
    monkeypatch.chdir(learner.cwd)
    from drillkit.__main__ import main

    with pytest.raises(SystemExit) as exited:
        main(["list", "--json"])
    assert exited.value.code == 0
    assert json.loads(capsys.readouterr().out) == fast.json


def test_list_help_is_typer_help(learner: Learner) -> None:
    result = learner.drill("list", "--help")
    assert result.code == 0
    assert "--json" in result.stdout and "--dir" in result.stdout


def test_pack_cache_is_used_and_invalidated(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(builtin_pack_dir(), pack)
    cache = tmp_path / "cache"
    first = load_pack(pack, cache_dir=cache)
    slug = first.drills[0].slug
    (stored_file,) = cache.glob("pack-*.json")
    stored = json.loads(stored_file.read_text(encoding="utf-8"))
    assert stored["data"]["pack"]["drills"][0]["slug"] == slug

    # An unchanged pack is served from the cache (prove it by doctoring the cache).
    stored["data"]["drills"][slug]["title"] = "from the cache"
    stored_file.write_text(json.dumps(stored), encoding="utf-8")
    assert load_pack(pack, cache_dir=cache).drills[0].title == "from the cache"

    # Editing any file the pack is read from invalidates it: a drill's drill.yaml, pack.yaml.
    for source in (pack / slug / "drill.yaml", pack / "pack.yaml"):
        stored_file.write_text(json.dumps(stored), encoding="utf-8")
        assert load_pack(pack, cache_dir=cache).drills[0].title == "from the cache"
        source.write_text(source.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        os.utime(source, ns=(source.stat().st_mtime_ns + 10**9,) * 2)
        assert load_pack(pack, cache_dir=cache).drills[0].title == first.drills[0].title
        stored = json.loads(stored_file.read_text(encoding="utf-8"))
        stored["data"]["drills"][slug]["title"] = "from the cache"

    # A corrupt cache is ignored and rewritten.
    stored_file.write_text("{nope", encoding="utf-8")
    assert load_pack(pack, cache_dir=cache) == first
    assert json.loads(stored_file.read_text(encoding="utf-8"))["data"]


def test_unwritable_cache_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache dir should be", encoding="utf-8")
    assert load_pack(builtin_pack_dir(), cache_dir=blocker).drills

"""Data-driven: every file under tests/answers/dNN/ is checked against drill NN.

Each file starts with a header saying what must happen:

    # expect: pass

or

    # expect: fail
    # check: newest first            <- part of the name of the first failed check
    # message: oldest first          <- must appear in why/expected/got/hint of that check
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Learner

ANSWERS = Path(__file__).parent / "answers"


def header(path: Path) -> dict[str, str]:
    fields = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"#\s*(expect|check|message):\s*(.+)", line)
        if not match:
            break
        fields[match.group(1)] = match.group(2).strip()
    return fields


CASES = sorted(ANSWERS.glob("d*/*.py"))


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.stem}" for p in CASES])
def test_answer(learner: Learner, path: Path) -> None:
    drill = int(path.parent.name[1:])
    expect = header(path)
    assert expect.get("expect") in ("pass", "fail"), f"{path} has no '# expect:' header"
    result = learner.drill("check", str(drill), "--file", str(path), "--json")
    report = result.json
    failed = [r for r in report["results"] if r["status"] == "failed"]
    if expect["expect"] == "pass":
        assert result.code == 0, failed
        assert report["passed"] is True
        return
    assert result.code == 1, report
    assert failed, "expected a failed check"
    first = failed[0]
    assert expect["check"].lower() in first["name"].lower(), first
    said = " ".join(str(first[k] or "") for k in ("rationale", "expected", "actual", "help"))
    assert expect["message"].lower() in said.lower(), first


def test_each_drill_has_enough_answers() -> None:
    for drill in range(1, 8):
        files = list((ANSWERS / f"d{drill:02d}").glob("*.py"))
        kinds = [header(f).get("expect") for f in files]
        assert kinds.count("fail") >= 3, f"drill {drill}: fewer than 3 wrong answers"
        assert kinds.count("pass") >= 2, f"drill {drill}: fewer than 2 different correct answers"

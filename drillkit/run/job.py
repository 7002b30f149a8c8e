"""What a run needs to know of its drill, and how its outcome becomes the drill's report.

Kept apart from runner.py so the check server's client can build a job and a report
without importing the run machinery (and the server can run a job without a whole pack).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drillkit.attempts import is_untouched_starter
from drillkit.pack.model import Drill, Fixture
from drillkit.results import CheckReport, RunOutcome


@dataclass(frozen=True)
class RunJob:
    """What a run needs to know of its drill: where its checks are and what it is seeded with.
    (The check server gets this from its client, not a whole pack.)"""

    pack_id: str
    pack_root: Path
    slug: str
    fixture: Fixture

    @classmethod
    def of(cls, drill: Drill) -> RunJob:
        return cls(drill.pack_id, drill.folder.parent, drill.slug, drill.fixture)

    def to_json(self) -> dict[str, Any]:
        fixture = self.fixture
        return {
            "pack_id": self.pack_id,
            "pack_root": str(self.pack_root),
            "slug": self.slug,
            "fixture": {
                "name": fixture.name,
                "sql": None if fixture.sql is None else str(fixture.sql),
                "python": None if fixture.python is None else str(fixture.python),
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunJob:
        """Raises KeyError, TypeError or ValueError on anything but what to_json writes."""
        raw = data["fixture"]

        def path(value: object) -> Path | None:
            if value is None:
                return None
            if not isinstance(value, str):
                raise TypeError("a fixture path is not text")
            return Path(value)

        fields = (data["pack_id"], data["pack_root"], data["slug"], raw["name"])
        if not all(isinstance(f, str) for f in fields):
            raise TypeError("a job field is not text")
        fixture = Fixture(raw["name"], sql=path(raw["sql"]), python=path(raw["python"]))
        return cls(data["pack_id"], Path(data["pack_root"]), data["slug"], fixture)


def make_report(drill: Drill, path: Path, outcome: RunOutcome, seconds: float) -> CheckReport:
    return CheckReport(
        drill=drill.number,
        slug=drill.slug,
        title=drill.title,
        file=str(path),
        results=outcome.results,
        output=outcome.output,
        output_truncated=outcome.output_truncated,
        untouched_starter=is_untouched_starter(path, drill),
        seconds=round(seconds, 3),
        statements=outcome.statements,
        check_statements=outcome.check_statements,
        pack=drill.pack_id,
        ref=drill.cli_ref,
    )

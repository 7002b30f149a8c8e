"""Measure, don't guess: does learner code send more statements as the data grows?

The same scenario runs twice in fresh sessions, before and after more rows are added.
A flat statement count is fine; one that grows with the rows is the N+1 problem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from drillkit.check.framework import Context, Fail, show_sql
from drillkit.check.recorder import Statement

if TYPE_CHECKING:  # imported where used: loading a checks file must not cost drillkit's process SQLAlchemy
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Growth:
    rows_before: int
    statements_before: int
    rows_after: int
    statements_after: list[Statement]

    @property
    def grows(self) -> bool:
        return len(self.statements_after) > self.statements_before

    @property
    def flat(self) -> str:
        """What a flat count is here: a failure's `expected`."""
        return f"the same number of statements with {self.rows_before} or {self.rows_after} rows"

    @property
    def counts(self) -> str:
        """The statements counted at each size: a failure's `actual`."""
        return (
            f"{self.statements_before} statements with {self.rows_before} rows, "
            f"{len(self.statements_after)} with {self.rows_after} rows"
        )


def _count(ctx: Context, scenario: Callable[[Session], None]) -> list[Statement]:
    start = ctx.recorder.mark()
    with ctx.new_session() as session:
        scenario(session)
    return ctx.recorder.since(start)


def measure(ctx: Context, scenario: Callable[[Session], None], grow: str, count_rows: str) -> Growth:
    """Run `scenario`, commit the `grow` SQL, run it again; `count_rows` says how big the data is."""
    before_rows = ctx.rows(count_rows)[0][0]
    before = _count(ctx, scenario)
    ctx.execute(grow)
    after_rows = ctx.rows(count_rows)[0][0]
    if after_rows <= before_rows:  # the data must really grow, or a flat count proves nothing
        raise Fail(
            "the data did not grow for this check",
            expected=f"more than {before_rows} rows after the check added some",
            actual=f"{after_rows} rows",
            help="your code must leave the tables as they are: no rules, triggers or views in their way",
        )
    return Growth(before_rows, len(before), after_rows, _count(ctx, scenario))


def require_flat(growth: Growth, what: str, help: str) -> None:
    if not growth.grows:
        return
    raise Fail(
        f"{what} sends more queries as the data grows: the N+1 problem",
        expected=growth.flat,
        actual=growth.counts,
        help=help,
        sql=show_sql(growth.statements_after, limit=4),
    )

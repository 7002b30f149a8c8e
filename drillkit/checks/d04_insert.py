"""Drill 4 · insert: a committed "Q2 Report" for user 1 and its real id printed."""

from __future__ import annotations

import re

from drillkit.check.framework import CheckList, Context, Fail, show_sql
from drillkit.seed import DOCUMENTS

CHECKS = CheckList()
TITLE = "Q2 Report"
SEEDED = len(DOCUMENTS)


def _inserts(ctx: Context) -> list:
    return [s for s in ctx.recorder.statements if s.verb == "INSERT" and "documents" in s.sql]


@CHECKS.add('a "Q2 Report" row owned by user 1 is committed (seen from another connection)')
def committed(ctx: Context) -> None:
    rows = ctx.rows("SELECT id, owner_id FROM documents WHERE title = :t", t=TITLE)
    if not rows:
        new_titles = [r[0] for r in ctx.rows("SELECT title FROM documents WHERE id > :n", n=SEEDED)]
        if new_titles:
            raise Fail(
                f'no document is titled exactly "{TITLE}"',
                expected=f'title "{TITLE}"',
                actual="new row(s) titled " + ", ".join(repr(t) for t in new_titles),
                help="check the spelling and spacing of the title string",
            )
        inserted = _inserts(ctx)
        if inserted:
            raise Fail(
                "your session sent the INSERT but never committed, so nobody else can see the row",
                expected="a committed row",
                actual="an INSERT inside a transaction that was never committed",
                help="call session.commit() after session.add(doc)",
                sql=show_sql(inserted),
            )
        raise Fail(
            f'no document titled "{TITLE}" reached the database',
            expected=f'a row with title "{TITLE}"',
            actual="no INSERT into documents was sent",
            help="session.add(doc) then session.commit(); creating the object alone saves nothing",
        )
    if len(rows) > 1:
        raise Fail(
            f'found {len(rows)} "{TITLE}" rows, expected exactly one',
            expected="one INSERT",
            actual=f"ids {[r[0] for r in rows]}",
            help="add the object once and commit once",
        )
    if rows[0][1] != 1:
        raise Fail(
            "the new document does not belong to user 1",
            expected="owner_id 1",
            actual=f"owner_id {rows[0][1]}",
        )


@CHECKS.add("the printed output contains the id Postgres assigned")
def printed_id(ctx: Context) -> None:
    new_id = ctx.rows("SELECT id FROM documents WHERE title = :t", t=TITLE)[0][0]
    output = ctx.output()
    if re.search(rf"\b{new_id}\b", output):  # a whole token: not the 7 in 0x7f3a...
        return
    printed_none = "None" in output
    raise Fail(
        "the new row's id is not in what your code printed",
        expected=f"{new_id} (the id Postgres gave the row)",
        actual=repr(output.strip()[:200]) if output.strip() else "nothing printed",
        help="print the id only after the commit; before the INSERT is flushed the id is None"
        if printed_none
        else "print(doc.id) after the commit",
    )

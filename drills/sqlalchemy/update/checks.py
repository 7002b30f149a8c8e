"""Drill 6 · update: rename document 5 through dirty tracking, committed.

What was committed is judged by drillkit's own connection after your file ended.
"""

from __future__ import annotations

from drillkit.check import Checks, Context, DatabaseView, Fail, show_sql
from drillkit.check.sql import written_by_hand

from ..common import QUERY_FORMS, SEED_DOCUMENTS, add_style_check, seed_changes

checks = Checks()


@checks.add("the session sent the UPDATE itself, from the changed object (dirty tracking)")
def dirty_tracking(ctx: Context) -> None:
    hand = written_by_hand(ctx.recorder.statements, "UPDATE")
    bulk = [e for e in ctx.recorder.orm_executes if e.is_update]
    if hand or bulk:
        raise Fail(
            "you wrote the UPDATE yourself",
            expected="the session writes the UPDATE: you only change the loaded object",
            actual="an update() construct or a text() UPDATE was executed",
            help="this drill is about dirty tracking: the session notices changed attributes on "
            "objects it loaded, and sends the UPDATE for you when it flushes",
            sql=show_sql(hand),
        )
    flushed = [s for s in ctx.recorder.statements if s.verb == "UPDATE" and s.in_flush]
    if not flushed:
        raise Fail(
            "no UPDATE was flushed by the session",
            expected="one UPDATE of documents, sent by the session when it flushed",
            actual="no UPDATE statement",
            help="change the attribute on an object the session loaded, then commit: commit() "
            "flushes first, and that flush sends the UPDATE",
        )
    final = [s for s in flushed if any(values.get("title") == "Final" for values in s.params)]
    if not final:
        raise Fail(
            'no UPDATE the session flushed gave a title of "Final"',
            expected='the UPDATE of document 5 the session flushed sets its title to "Final"',
            actual=f'{len(flushed)} flushed UPDATE(s), none of them of the title to "Final"',
            help="the change the drill asks for goes through the loaded object: set its title, and "
            "let the session's flush write it",
            sql=show_sql(flushed),
        )
    # Flushed, rolled back, and the title then committed by other means: not the session's.
    # (Flushed and never committed at all is the next check's to explain.)
    renamed = ctx.rows("SELECT 1 FROM documents WHERE id = 5 AND title = 'Final'")
    if renamed and not any(ctx.recorder.committed(s) for s in final):
        raise Fail(
            'the "Final" title that was committed is not the one the session flushed',
            expected="the UPDATE the session flushed, committed",
            actual="the flushed UPDATE was rolled back; the title was written some other way",
            help="let the session's flush write the change, then commit that transaction",
            sql=show_sql(final),
        )


@checks.database('document 5 is titled "Final" (seen by drillkit\'s own connection)')
def renamed(db: DatabaseView) -> None:
    rows = db.rows("SELECT title FROM documents WHERE id = 5")
    title = rows[0][0] if rows else None
    if title == "Final":
        return
    changed = seed_changes(db)
    if changed:
        raise Fail(
            "document 5 kept its title, but your code changed something else",
            expected='document 5 titled "Final"',
            actual="; ".join(changed)[:500],
            help="load exactly the row whose primary key is 5 (a position in a list is not an id)",
        )
    raise Fail(
        "document 5 still has its old title after your code ended",
        expected='title "Final", committed',
        actual=f"title {title!r}",
        help="a change that is never committed is rolled back when the session goes away",
    )


@checks.database("nothing else changed: the other documents, document 5's other columns, the users")
def others_untouched(db: DatabaseView) -> None:
    # Document 5's title is the other check's business, right or wrong: a missing commit must
    # not read as "other rows were changed" here.
    rows = db.rows("SELECT title FROM documents WHERE id = 5")
    title = rows[0][0] if rows else "Final"
    expected = tuple((i, title, *rest) if i == 5 else (i, t, *rest) for i, t, *rest in SEED_DOCUMENTS)
    changed = seed_changes(db, expected)
    if changed:
        raise Fail(
            "other rows or columns were changed, added or removed",
            expected="only document 5's title differs from the seed data",
            actual="; ".join(changed)[:500],
            help="an update without a WHERE, or an extra add(), touches more than you meant",
        )


add_style_check(checks, QUERY_FORMS)

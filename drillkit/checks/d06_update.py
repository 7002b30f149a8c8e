"""Drill 6 · update: rename document 5 through dirty tracking, committed."""

from __future__ import annotations

from drillkit.check.framework import CheckList, Context, Fail, show_sql
from drillkit.seed import DOCUMENTS

CHECKS = CheckList()


def _hand_written(ctx: Context) -> list:
    return [s for s in ctx.recorder.statements if s.verb == "UPDATE" and not s.in_flush]


def _seed_rows() -> list[tuple]:
    return [(i, t, b, o) for i, (t, b, o, _) in enumerate(DOCUMENTS, start=1)]


def _differences(ctx: Context, expected: list[tuple]) -> list[str]:
    rows = [tuple(r) for r in ctx.rows("SELECT id, title, body, owner_id FROM documents ORDER BY id")]
    by_id = {r[0]: r for r in rows}
    found = [f"document {r[0]} is now {r[1:]!r}" for r in rows if r not in expected]
    found += [f"document {e[0]} is gone" for e in expected if e[0] not in by_id]
    return found


@CHECKS.add('document 5 is titled "Final" (seen from another connection)')
def renamed(ctx: Context) -> None:
    rows = ctx.rows("SELECT title FROM documents WHERE id = 5")
    title = rows[0][0] if rows else None
    if title == "Final":
        return
    changed = _differences(ctx, _seed_rows())
    if changed:
        raise Fail(
            "document 5 kept its title, but your code changed something else",
            expected='document 5 titled "Final"',
            actual="; ".join(changed)[:500],
            help="load exactly the row whose id is 5: session.get(Document, 5) (a list index is not an id)",
        )
    updates = [s for s in ctx.recorder.statements if s.verb == "UPDATE"]
    if updates:
        raise Fail(
            "an UPDATE was sent but never committed, so no other connection sees it",
            expected='title "Final" after your code ends',
            actual=f"title {title!r}",
            help="finish with session.commit()",
            sql=show_sql(updates),
        )
    raise Fail(
        "document 5 still has its old title and no UPDATE was sent",
        expected='title "Final"',
        actual=f"title {title!r}",
        help="load the row as an object, change the attribute, end the transaction",
    )


@CHECKS.add("no other document changed")
def others_untouched(ctx: Context) -> None:
    expected = _seed_rows()
    expected[4] = (5, "Final", *expected[4][2:])
    changed = _differences(ctx, expected)
    if changed:
        raise Fail(
            "other rows were changed, added or removed",
            expected="only document 5 differs from the seed data",
            actual="; ".join(changed)[:500],
            help="a WHERE-less update or an extra add() touches more than you meant",
        )


@CHECKS.add("the UPDATE came from the session's dirty tracking, not hand-written SQL")
def dirty_tracking(ctx: Context) -> None:
    hand = _hand_written(ctx)
    bulk = [e for e in ctx.recorder.orm_executes if e.is_update]
    if hand or bulk:
        raise Fail(
            "you wrote the UPDATE yourself",
            expected="doc.title = 'Final'; session.commit()  (the session writes the UPDATE)",
            actual="an update() construct or text('UPDATE ...') was executed",
            help="load the object, assign the attribute, commit: that is the whole pattern",
            sql=show_sql(hand),
        )
    if not any(s.verb == "UPDATE" and s.in_flush for s in ctx.recorder.statements):
        raise Fail(
            "no UPDATE was flushed by the session",
            help="change the attribute on the loaded object, then commit",
        )

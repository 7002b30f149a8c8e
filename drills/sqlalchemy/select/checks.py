"""Drill 3 · select: user 1's documents, newest first, sorted by Postgres."""

from __future__ import annotations

from drillkit.check import Checks, Context, Fail, show_sql
from drillkit.check.models import mapped_class
from drillkit.check.sql import has_order_by, selects_from, writes

from ..common import (
    QUERY_FORMS,
    add_style_check,
    describe,
    document_list,
    filtered_in_sql,
    ids_of,
    newest_first,
    python_filter_failure,
    seed_changes,
    with_dates,
)

checks = Checks()


@checks.add("`docs` is a list of Document objects")
def is_list(ctx: Context) -> None:
    document_cls = mapped_class(ctx, "Document")
    docs = ctx.require("docs", "`docs`", "store the documents you loaded in a module-level variable `docs`")
    document_list(docs, document_cls, "docs")


@checks.add("it holds exactly user 1's documents", requires=[is_list])
def right_rows(ctx: Context) -> None:
    got = ids_of(ctx.namespace["docs"], "docs")
    want = newest_first(ctx, 1)
    if sorted(got) != sorted(i for i, _ in want):
        raise Fail(
            "`docs` does not hold exactly the documents whose owner_id is 1",
            expected=f"ids {sorted(i for i, _ in want)}",
            actual=f"ids {sorted(got)}" if got else "an empty list",
            help="filter in SQL, on the column that says who owns a document",
            sql=show_sql(selects_from(ctx.recorder.statements, "documents")),
        )
    if not filtered_in_sql(ctx.recorder.statements, len(want)):
        raise python_filter_failure(ctx.recorder.statements)


@checks.add("newest first (created_at descending)", requires=[is_list])
def ordered(ctx: Context) -> None:
    got = ids_of(ctx.namespace["docs"], "docs")
    # Judged on the rows you have, whoever owns them: the wrong rows are the other check's.
    want = [(i, d) for i, d in newest_first(ctx, None) if i in got]
    if got != [i for i, _ in want]:
        oldest_first = got == [i for i, _ in reversed(want)]
        raise Fail(
            "the documents are oldest first" if oldest_first else "the documents are not newest first",
            expected=describe(want),
            actual=describe(with_dates(ctx, got)),
            help="sort on created_at in the select(); ORDER BY is ascending (oldest first) "
            "unless told otherwise",
            sql=show_sql(selects_from(ctx.recorder.statements, "documents")),
        )


@checks.add("Postgres did the sorting (ORDER BY created_at DESC in the SQL sent)", requires=[ordered])
def sorted_in_sql(ctx: Context) -> None:
    selects = selects_from(ctx.recorder.statements, "documents")
    # Newest first from Postgres itself: ascending SQL reversed in Python does not count.
    if not any(has_order_by(s, "created_at", descending=True) for s in selects):
        raise Fail(
            "the order is right, but the SQL your code sent does not sort newest first: "
            "the sorting happened in Python (or SQL sorted oldest first and Python did the reversing)",
            expected="a SELECT from documents that sorts on created_at, descending, first",
            actual=f"{len(selects)} SELECT{'s' if len(selects) != 1 else ''} from documents "
            "whose ORDER BY does not start with created_at DESC",
            help="sorting in Postgres scales and can use an index; the select() itself can say how to sort",
            sql=show_sql(selects),
        )


@checks.add("your code only read: the documents and users are as seeded")
def only_read(ctx: Context) -> None:
    # The other checks judge the order by the dates in the table: rewriting them (or the rows)
    # could make any order look right. (Read on a separate connection: committed rows only.)
    changed = seed_changes(ctx)
    if changed:
        raise Fail(
            "your code changed the data it was asked to read",
            expected="the seeded documents and users, as they were",
            actual="; ".join(changed)[:500],
            help="this drill only reads: a select() and no writes, no commit of changed objects",
        )
    # Writes that leave every value as it was still move rows around on disk, where an
    # unsorted SELECT finds them (an order Postgres was never asked for), and a temporary view
    # shadows the table for the file's own query. Only what the file itself rolled back goes.
    written = [s for s in writes(ctx.recorder.statements) if not ctx.recorder.undone(s)]
    if written:
        raise Fail(
            "your code wrote to the tables it was asked to read",
            expected="SELECTs only",
            actual=written[0].sql.strip().splitlines()[0][:200],
            help="this drill only reads: a select() and no writes, no commit of changed objects",
            sql=show_sql(written, limit=2),
        )


add_style_check(checks, QUERY_FORMS)

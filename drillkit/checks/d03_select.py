"""Drill 3 · select: user 1's documents, newest first, sorted by Postgres."""

from __future__ import annotations

import re

from drillkit.check.framework import CheckList, Context, Fail, show_sql
from drillkit.checks.helpers import (
    describe,
    document_list,
    filtered_in_sql,
    ids_of,
    mapped_class,
    newest_first,
    no_legacy_query,
    python_filter_failure,
    selects_from,
    with_dates,
)

CHECKS = CheckList()


@CHECKS.add("`docs` is a list of Document objects")
def is_list(ctx: Context) -> None:
    document_cls = mapped_class(ctx, "Document")
    docs = ctx.require("docs", "`docs`", "end with: docs = session.scalars(stmt).all()")
    document_list(docs, document_cls, "docs")


@CHECKS.add("it holds exactly user 1's documents")
def right_rows(ctx: Context) -> None:
    got = ids_of(ctx.namespace["docs"], "docs")
    want = newest_first(ctx, 1)
    if sorted(got) != sorted(i for i, _ in want):
        raise Fail(
            "`docs` does not hold exactly the documents whose owner_id is 1",
            expected=f"ids {sorted(i for i, _ in want)}",
            actual=f"ids {sorted(got)}" if got else "an empty list",
            help="filter in SQL: .where(Document.owner_id == 1)",
            sql=show_sql(selects_from(ctx.recorder.statements, "documents")),
        )
    if not filtered_in_sql(ctx.recorder.statements):
        raise python_filter_failure(ctx.recorder.statements, "Document.owner_id")


@CHECKS.add("newest first (created_at descending)")
def ordered(ctx: Context) -> None:
    got = ids_of(ctx.namespace["docs"], "docs")
    want = newest_first(ctx, 1)
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


@CHECKS.add("Postgres did the sorting (ORDER BY in the SQL sent)")
def sorted_in_sql(ctx: Context) -> None:
    selects = selects_from(ctx.recorder.statements, "documents")
    # Newest first from Postgres itself: ascending SQL reversed in Python does not count.
    if not any(re.search(r"ORDER BY .*created_at DESC", s.sql, re.S) for s in selects):
        raise Fail(
            "the order is right, but the SQL your code sent has no ORDER BY created_at DESC: "
            "the sorting happened in Python (or SQL sorted oldest first and Python did the reversing)",
            expected="SELECT ... FROM documents WHERE ... ORDER BY documents.created_at DESC",
            actual=f"{len(selects)} SELECT(s) from documents without ORDER BY created_at DESC",
            help="sorting in Postgres scales and can use an index; add .order_by(...) to the select()",
            sql=show_sql(selects),
        )


@CHECKS.add("written with select(), not the legacy session.query()")
def modern(ctx: Context) -> None:
    no_legacy_query(ctx, "your code")

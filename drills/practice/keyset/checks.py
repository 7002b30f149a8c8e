"""Keyset pagination: walk every page, with ties and with rows arriving in between."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from drillkit.check import Checks, Context, Fail, show_sql
from drillkit.check.recorder import Statement

from ..common import only_read_so_far, read_call, require_function, selects, unused_session

checks = Checks()
MAX_PAGES = 40  # a cursor that never moves must not loop forever
_limits: list[tuple[Statement, int]] = []  # every statement the walks sent, with its page's limit

# LIMIT n, or the standard's FETCH FIRST n ROWS ONLY (SQLAlchemy's .fetch(n)).
_LIMITED = re.compile(r"\bLIMIT\b|\bFETCH\s+(?:FIRST|NEXT)\b", re.I)
BY_PRIMARY_KEY = re.compile(r"\bWHERE\s+documents\.id\s*=\s*\S+\s*$", re.I)


def _lookup(statement: Statement) -> bool:
    """One row looked up (the row a cursor of ids points at), not a page: Postgres sent at
    most one row (or, where the count is unknown, the WHERE is on the primary key alone)."""
    if statement.rows is not None:
        return statement.rows <= 1
    return bool(BY_PRIMARY_KEY.search(statement.sql))


def _fn(ctx: Context) -> Callable[..., Any]:
    return require_function(ctx, "page_after", ["session", "user_id", "cursor", "limit"])


def _page(ctx: Context, user_id: int, cursor: Any, limit: int) -> tuple[list[int], Any]:
    """One page in a fresh session, as one HTTP request would do it."""
    with ctx.new_session() as session:
        result = read_call(ctx, session, _fn(ctx), user_id, cursor, limit)
        _limits.extend((statement, limit) for statement in result.statements)
        if result.statements and not result.used_session:
            raise unused_session("page_after", result)
        value = result.value
        if not isinstance(value, tuple | list) or len(value) != 2:
            raise Fail(
                "page_after did not return a pair",
                expected="(documents, next_cursor)",
                actual=f"{type(value).__name__}: {value!r}"[:200],
                help="return two things: the page's documents and the cursor for the next page",
            )
        docs, next_cursor = value
        document_cls = ctx.namespace.get("Document")
        if not isinstance(docs, list | tuple) or not all(
            document_cls is not None and isinstance(d, document_cls) for d in docs
        ):
            raise Fail(
                "the first item of the pair is not a list of Document objects",
                expected="[<Document 9>, <Document 10>, ...]",
                actual=f"{type(docs).__name__}: {docs!r}"[:200],
                help="session.scalars(stmt).all() gives a list of objects",
            )
        if len(docs) > limit:
            raise Fail(
                f"a page holds {len(docs)} documents, but the limit was {limit}",
                expected=f"at most {limit}",
                actual=str(len(docs)),
            )
        return [d.id for d in docs], next_cursor


def _order(ctx: Context, user_id: int) -> list[tuple[int, datetime]]:
    return [
        (i, t)
        for i, t in ctx.rows(
            "SELECT id, created_at FROM documents WHERE owner_id = :u ORDER BY created_at DESC, id DESC",
            u=user_id,
        )
    ]


def _walk(
    ctx: Context, user_id: int, limit: int, between: Callable[[], None] | None = None
) -> list[list[int]]:
    when = dict(_order(ctx, user_id))
    pages: list[list[int]] = []
    cursor = None
    for _ in range(MAX_PAGES):
        ids, cursor = _page(ctx, user_id, cursor, limit)
        if not ids:
            return pages
        if pages and ids == pages[-1]:
            tied = len({when.get(i) for i in ids}) == 1
            raise Fail(
                f"user {user_id}, pages of {limit}: page {len(pages) + 1} is page {len(pages)} again, "
                "and the walk would never end",
                expected="each page starts after the last document of the previous one",
                actual=" | ".join(", ".join(map(str, p)) for p in [*pages, ids]),
                help="all of these rows share one created_at, so a cursor holding only the time "
                "fetches them again and again; add a unique tie-breaker to the sort and the cursor"
                if tied
                else "the cursor has to move past the last document shown",
            )
        pages.append(ids)
        if between is not None and len(pages) == 1:
            between()
        if cursor is None:
            return pages
    raise Fail(
        f"the pages never end: {MAX_PAGES} pages of {limit} for a user with far fewer documents",
        expected="an empty page (or next_cursor None) once every document was shown",
        actual=f"pages {pages[:3]} ...",
        help="each page must start after the last document of the previous one: the cursor has to move",
    )


def _stamp(t: datetime) -> str:
    return f"{t:%Y-%m-%d %H:%M}"


def _judge(
    want: list[tuple[int, datetime]], pages: list[list[int]], what: str, inserted: bool = False
) -> None:
    when = dict(want)
    shown = [i for page in pages for i in page]
    expected_ids = [i for i, _ in want]
    if shown == expected_ids:
        return
    layout = " | ".join(", ".join(map(str, p)) for p in pages) or "no pages"
    seen = Counter(shown)
    twice = [i for i in expected_ids if seen[i] > 1]
    skipped = [i for i in expected_ids if seen[i] == 0]
    boundary = {p[-1] for p in pages[:-1]}
    others = [i for i in shown if i not in when]
    if others:
        raise Fail(
            f"{what}: documents {', '.join(map(str, sorted(set(others))[:5]))} belong to other users",
            expected=", ".join(map(str, expected_ids)) or "no documents",
            actual=layout,
            help="only the documents of the user asked for: filter on the owner in the query",
        )
    if twice:
        i = twice[0]
        tied = [b for b in boundary if b != i and when.get(b) == when.get(i)]
        help = (
            "OFFSET counts rows from the top, and the new documents at the top pushed every row "
            "down: the next page started earlier than where the reader left off. Remember where the "
            "last page ended instead of how many rows came before it"
            if inserted
            else "rows that share the last time shown were fetched again: a cursor holding only the "
            "time cannot tell which of them were already on the page; add a unique tie-breaker"
            if tied or any(when.get(b) == when.get(i) for b in boundary)
            else "the next page must start strictly after the last document shown"
        )
        raise Fail(
            f"{what}: document {i} appeared on two pages",
            expected=", ".join(map(str, expected_ids)),
            actual=layout,
            help=help,
        )
    if skipped:
        i = skipped[0]
        tied = sorted(b for b in boundary if when.get(b) == when.get(i))
        raise Fail(
            f"{what}: document {i} was never shown",
            expected=", ".join(map(str, expected_ids)),
            actual=layout,
            help=(
                f"document {i} has the same created_at ({_stamp(when[i])}) as document {tied[0]}, the "
                "last one on a page: comparing the time alone skips every row tied with the cursor. "
                "Make the sort key unique with a tie-breaker, in the ORDER BY and in the cursor"
            )
            if tied
            else "each page must continue exactly where the previous one ended",
        )
    raise Fail(
        f"{what}: the documents come in the wrong order",
        expected=", ".join(f"{i} ({_stamp(t)})" for i, t in want),
        actual=layout,
        help="newest created_at first; equal times highest id first. The ORDER BY and the cursor "
        "comparison must agree on both columns and their direction",
    )


@checks.add("page_after(session, user_id, cursor, limit) is a function")
def signature(ctx: Context) -> None:
    _fn(ctx)
    only_read_so_far(ctx)


@checks.add("the first page: the newest documents, ties broken by the highest id", requires=[signature])
def first_page(ctx: Context) -> None:
    want = _order(ctx, 1)
    ids, _ = _page(ctx, 1, None, 3)
    when = dict(want)
    if ids != [i for i, _ in want[:3]]:
        raise Fail(
            "page_after(session, 1, None, 3) is not the three newest documents of user 1",
            expected=", ".join(f"{i} ({_stamp(t)})" for i, t in want[:3]),
            actual=", ".join(f"{i} ({_stamp(when[i])})" if i in when else str(i) for i in ids)
            or "no documents",
            help="newest created_at first; among equal times the highest id first",
        )


@checks.add(
    "walking all pages shows every document once, in order (pages of 3 and 2, ties at the edges)",
    requires=[first_page],
)
def walk(ctx: Context) -> None:
    for user_id, limit in ((1, 3), (1, 2), (2, 2), (3, 2), (4, 5)):
        _judge(_order(ctx, user_id), _walk(ctx, user_id, limit), f"user {user_id}, pages of {limit}")
    # created_at keeps microseconds: a cursor that drops them skips the rows of the same second.
    ctx.execute(SAME_SECOND)
    _judge(_order(ctx, 4), _walk(ctx, 4, 2), "user 4, pages of 2, with five documents in one second")


SAME_SECOND = """
INSERT INTO documents (title, body, owner_id, created_at)
SELECT 'Draft ' || n, '...', 4, timestamptz '2026-06-01 12:00:00+00' + n * interval '150 milliseconds'
FROM generate_series(1, 5) n
"""


NEWER = """
INSERT INTO documents (title, body, owner_id, created_at) VALUES
    ('Breaking news', 'Just in.', 1, '2026-07-01 08:00:00+00'),
    ('Late addition', 'Also new.', 1, '2026-07-02 08:00:00+00')
"""


@checks.add("new documents arriving between two pages change nothing on the following pages", requires=[walk])
def inserts_between_pages(ctx: Context) -> None:
    want = _order(ctx, 1)  # what the reader should see: the walk started before the inserts

    def arrive() -> None:
        ctx.execute(NEWER)

    _judge(want, _walk(ctx, 1, 3, between=arrive), "two documents added after page 1", inserted=True)


@checks.add("the SQL has no OFFSET, and Postgres applies the limit", requires=[walk])
def keyset_sql(ctx: Context) -> None:
    sent = selects([statement for statement, _ in _limits], "documents")
    offset = [s for s in sent if re.search(r"\bOFFSET\b", s.sql, re.I)]
    if offset:
        raise Fail(
            "the pages are right, but the SQL uses OFFSET",
            expected="a WHERE that starts the page right after the last row shown, and a LIMIT",
            actual="... OFFSET ...",
            help="Postgres reads and discards every row it skips, so late pages get slower and slower; "
            "a keyset condition jumps straight to the first row of the page through an index",
            sql=show_sql(offset, limit=2),
        )
    limited = [s for s in sent if _LIMITED.search(s.sql)]
    unlimited = [s for s in sent if s not in limited and not _lookup(s)]
    pages = [s for s in sent if s not in unlimited]
    if not limited or unlimited:
        raise Fail(
            "the page is cut in Python: a query without LIMIT fetched more rows than the page shows",
            expected="LIMIT in every SELECT from documents",
            actual="a SELECT without LIMIT",
            help="the database should send only the rows of the page: put the limit in the statement",
            sql=show_sql(unlimited, limit=2),
        )
    # Postgres sends the page (one row more, to know whether another page follows, is fine):
    # a LIMIT far above the page size, cut in Python, sends more than that.
    too_many = [(s, n) for s, n in _limits if s in pages and s.rows is not None and s.rows > n + 1]
    if too_many:
        statement, limit = too_many[0]
        raise Fail(
            "the page is cut in Python: Postgres sent more rows than the page shows",
            expected=f"at most {limit} rows for a page of {limit} ({limit + 1}, to see if another follows)",
            actual=f"{statement.rows} rows from one SELECT",
            help="the database should send only the rows of the page: the statement's LIMIT is the "
            "page's own size",
            sql=show_sql([statement]),
        )

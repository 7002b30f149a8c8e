"""Drill 7 · build: docs_for_user(session, user_id), newest first, for any user."""

from __future__ import annotations

import inspect
from typing import Any

from drillkit.check import Checks, Context, Fail, show_sql, watching
from drillkit.check.models import given_relationship, mapped_class
from drillkit.check.nplus1 import measure, require_flat
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
    with_dates,
)

checks = Checks()
USERS = (1, 2, 3)  # 3 owns nothing: the empty case must work too


def _call(ctx: Context, user_id: int) -> tuple[list[Any], list, str | None]:
    """Call the learner's function with a fresh session, as a web route would. The third
    value says how it failed to use that session, or is None if it did."""
    document_cls = ctx.namespace["Document"]
    with ctx.new_session() as session, watching(ctx) as statements:
        executes_before = len(ctx.recorder.orm_executes)
        value = ctx.namespace["docs_for_user"](session, user_id)
        docs = document_list(value, document_cls, f"docs_for_user(session, {user_id})")
        ids_of(docs, "the result")  # read ids while the session is open
        misuse = None
        never_used = not any(e.session is session for e in ctx.recorder.orm_executes[executes_before:])
        if never_used:
            misuse = "the session passed in was never used"
        elif docs and ctx.recorder.was_closed(session) and all(_detached(doc) for doc in docs):
            misuse = CLOSED_IT
        elif any(not _held_by(doc, session) for doc in docs):
            # Whatever ran through this session, what it returns was loaded by another one
            # (still there, or detached from it).
            misuse = "the documents it returned are not in that session: another one loaded them"
    written = writes(statements)
    if written:  # the expected answers are read from the tables: a write could make them fit
        raise Fail(
            f"docs_for_user(session, {user_id}) changed the data it was asked to read",
            expected="a function that only reads: no INSERT, UPDATE, DELETE, ALTER, DROP or DO",
            actual=written[0].sql.strip().splitlines()[0][:200],
            help="a query function selects and returns; it does not write or commit",
        )
    if never_used and statements:
        misuse = f"{misuse}; {len(statements)} statement{'' if len(statements) == 1 else 's'} went elsewhere"
    return docs, statements, misuse


CLOSED_IT = "it closed the session it was given"


def _detached(doc: Any) -> bool:
    from sqlalchemy import inspect as sa_inspect

    return bool(getattr(sa_inspect(doc, raiseerr=False), "detached", False))


def _held_by(doc: Any, session: Any) -> bool:
    from sqlalchemy import inspect as sa_inspect

    return getattr(sa_inspect(doc, raiseerr=False), "session", None) is session


def _hint(ctx: Context, got: list[int], user_id: int, right_set: bool) -> str:
    if right_set:
        return "sort in the select() on created_at; ORDER BY is ascending unless told otherwise"
    if user_id != 1 and sorted(got) == sorted(i for i, _ in newest_first(ctx, 1)):
        return "filter on the user_id argument, not a fixed number"
    return "filter on the column that says who owns a document, compared with the user_id argument"


@checks.add("docs_for_user(session, user_id) is a function")
def signature(ctx: Context) -> None:
    mapped_class(ctx, "Document")
    fn = ctx.require_function("docs_for_user", "docs_for_user(session, user_id)")
    names = list(inspect.signature(fn).parameters)
    # An id first (`user_id`, `uid`, `id`), or the session second: not `provided_session`.
    first_is_id = bool(names) and (names[0] in ("id", "uid") or names[0].endswith("_id"))
    swapped = len(names) >= 2 and (first_is_id or names[1] in ("session", "db", "sess"))
    try:
        inspect.signature(fn).bind(object(), 1)
        if swapped:
            raise TypeError
    except TypeError:
        raise Fail(
            "docs_for_user cannot be called as docs_for_user(session, user_id)",
            expected="two parameters: the session, then the user's id",
            actual=f"docs_for_user{inspect.signature(fn)}",
        ) from None


@checks.add("it returns each user's documents, newest first (users 1, 2 and 3)", requires=[signature])
def each_user(ctx: Context) -> str | None:
    python_sorted = False
    for user_id in USERS:
        want = newest_first(ctx, user_id)  # read first: the call must not be able to change it
        docs, statements, _ = _call(ctx, user_id)
        got = ids_of(docs, "the result")
        if got != [i for i, _ in want]:
            right_set = sorted(got) == sorted(i for i, _ in want)
            raise Fail(
                f"docs_for_user(session, {user_id}) "
                + (
                    "has the right documents in the wrong order"
                    if right_set
                    else "returns the wrong documents"
                ),
                expected=describe(want),
                actual=describe(with_dates(ctx, got)),
                help=_hint(ctx, got, user_id, right_set),
                sql=show_sql(selects_from(statements, "documents")),
            )
        if want and not filtered_in_sql(statements, len(want)):
            raise python_filter_failure(statements)
        if want and not any(has_order_by(s) for s in selects_from(statements, "documents")):
            python_sorted = True
    if python_sorted:
        return (
            "You sorted in Python (the relationship version). It works; the query version "
            "with order_by sorts in the database and scales better, because Postgres can "
            "use an index and never ships rows you don't need."
        )
    return None


@checks.add("it uses the session it is given", requires=[signature])
def uses_argument(ctx: Context) -> None:
    _, _, misuse = _call(ctx, 1)
    if misuse == CLOSED_IT:
        raise Fail(
            "docs_for_user closed the session it was given",
            expected="the caller's session still open when the function returns",
            actual="closed: the documents it returned are detached, and reading anything they "
            "did not load (a relationship) fails",
            help="a web route makes the session and ends it when the request ends: a function "
            "it hands the session to uses it and leaves closing it to the route",
        )
    if misuse is not None:
        raise Fail(
            "docs_for_user ignored its session argument",
            expected="queries run through the `session` parameter",
            actual=misuse,
            help="a web route passes its own per-request session: use that one, not a global",
        )


# Ten more users with two documents each, and forty more for user 1.
ADDED_FOR_USER_1 = 40  # more than any page size a fixed .limit() is likely to hold
OWNED_AFTER_GROWTH = 4 + ADDED_FOR_USER_1  # with the four seeded ones (the check's name says so)
# User 1's documents before the data grows: a try-out of the file's own may have added some.
_owned: dict[str, int] = {}
GROW = f"""
INSERT INTO users (email) SELECT 'extra' || g || '@example.com' FROM generate_series(1, 10) g;
INSERT INTO documents (title, body, owner_id, created_at)
SELECT 'Extra ' || u.id || '-' || n, '...', u.id, now() - (u.id * 2 + n) * interval '1 hour'
FROM users u CROSS JOIN generate_series(1, 2) n WHERE u.email LIKE 'extra%';
INSERT INTO documents (title, body, owner_id, created_at)
SELECT 'More ' || n, '...', 1, now() - n * interval '1 day' FROM generate_series(1, {ADDED_FOR_USER_1}) n;
"""


@checks.add("the number of queries stays flat as the data grows (no N+1)", requires=[each_user])
def no_n_plus_one(ctx: Context) -> None:
    from sqlalchemy import inspect as sa_inspect

    returned: dict[str, int] = {}
    _owned["before"] = len(newest_first(ctx, 1))
    user_1 = bool(ctx.rows("SELECT 1 FROM users WHERE id = 1"))
    if not _owned["before"] or not user_1:
        raise Fail(
            "your file removed user 1 or their documents, which this check measures with",
            expected=f"user 1 and their seeded documents, then {ADDED_FOR_USER_1} more this check adds",
            actual="user 1 has no documents" if user_1 else "user 1 is gone",
            help="try your code out in a transaction you roll back, or leave the seeded rows as they are",
        )

    given_relationship(ctx, "Document", "owner", "the page this check plays shows each document's owner")

    def page(session: Any) -> None:
        # What a "my documents" page does: list them, show each owner.
        docs = ctx.namespace["docs_for_user"](session, 1)
        returned["all"] = len(docs)
        states = [sa_inspect(doc, raiseerr=False) for doc in docs]
        returned["expired"] = sum(bool(getattr(state, "expired", False)) for state in states)
        for doc in docs:
            _ = getattr(doc.owner, "email", None)  # an owner the file deleted is None

    growth = measure(ctx, page, GROW, "SELECT count(*) FROM documents")
    if growth.grows and returned["expired"] > 1:
        # Not a missing loader option: the function ended its transaction after reading.
        raise Fail(
            "the documents docs_for_user returns are expired: reading each one reloads its row, "
            "so the queries grow with the data (the N+1 problem)",
            expected=growth.flat,
            actual=f"{growth.counts}; "
            f"{returned['expired']} of the {returned['all']} documents it returned were expired",
            help="a commit or rollback (or expire_all) expires every object the session loaded; "
            "a function that only reads needs none: leave ending the transaction to its caller",
            sql=show_sql(growth.statements_after, limit=2),
        )
    require_flat(
        growth,
        "docs_for_user, with each document's owner shown,",
        help="something runs once per document: a query in a loop, or a row loaded again one by "
        "one. A fixed number of statements can fetch every document, however many there are",
    )


@checks.add(
    f"still right with more data (user 1 now owns {OWNED_AFTER_GROWTH} documents)", requires=[no_n_plus_one]
)
def still_right(ctx: Context) -> None:
    # Runs after the N+1 check grew the data: a fixed .limit() under 44, or a cached list, shows here.
    for user_id in (1, 4):
        want = newest_first(ctx, user_id)  # read first: the call must not be able to change it
        owned = _owned["before"] + ADDED_FOR_USER_1
        if user_id == 1 and len(want) != owned:
            # A write the recorder cannot see (a raw DBAPI connection) in an earlier call.
            raise Fail(
                "the documents this check added for user 1 are not all there",
                expected=f"{owned} documents of user 1",
                actual=f"{len(want)}",
                help="docs_for_user must only read: something in your code deleted or moved rows",
            )
        docs, statements, _ = _call(ctx, user_id)
        got = ids_of(docs, "the result")
        if got != [i for i, _ in want]:
            raise Fail(
                f"with more rows in the tables, docs_for_user(session, {user_id}) is wrong",
                expected=f"{len(want)} documents: {describe(want)}"[:400],
                actual=f"{len(got)} documents: {describe(with_dates(ctx, got))}"[:400],
                help="no fixed numbers: no .limit(), no hard-coded ids; the answer must follow the data",
                sql=show_sql(selects_from(statements, "documents")),
            )


add_style_check(checks, QUERY_FORMS)

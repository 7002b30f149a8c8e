"""Eager loading: the documents come with the users, in a number of statements that stays flat."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import DetachedInstanceError

from drillkit.check import Checks, Context, Fail, show_sql
from drillkit.check.models import given_relationship
from drillkit.check.nplus1 import measure

from ..common import one_line, only_read_so_far, read_call, require_function

checks = Checks()


def _users(ctx: Context, session: Session) -> list[Any]:
    fn = require_function(ctx, "users_with_documents", ["session"])
    try:
        value = read_call(ctx, session, fn).value
    except InvalidRequestError as exc:
        if "unique()" not in str(exc):
            raise
        raise Fail(
            "SQLAlchemy refused to return the users: a joined eager load on a collection needs .unique()",
            expected="each user once",
            actual=one_line(exc),
            help="a JOIN from users to documents returns one row per document, so each user comes "
            "back several times; .unique() on the result folds the repeats into one object. "
            "SQLAlchemy 2.0 insists rather than hand you duplicates",
        ) from None
    kind = type(value).__name__
    if kind in ("ScalarResult", "Result", "ChunkedIteratorResult"):
        raise Fail(
            f"users_with_documents returned a {kind}, a cursor nobody has read yet",
            expected="a list of User objects",
            actual=kind,
            help="read it before returning: .all() gives a list",
        )
    if not isinstance(value, list | tuple):
        raise Fail("users_with_documents did not return a list", actual=f"{kind}: {value!r}"[:200])
    user_cls = ctx.namespace.get("User")
    for item in value:
        if user_cls is None or not isinstance(item, user_cls):
            raise Fail(
                "users_with_documents returned something other than User objects",
                expected="[<User 1>, <User 2>, ...]",
                actual=f"{type(item).__name__}: {item!r}"[:200],
                help="select(User) selects whole users; session.scalars() unwraps the rows",
            )
    return list(value)


def _read(users: list[Any]) -> dict[str, list[int]]:
    """What the report does after the session closed."""
    seen: dict[str, list[int]] = {}
    for user in users:
        try:
            email = user.email
        except DetachedInstanceError as exc:
            raise Fail(
                "after the session closed, even `user.email` cannot be read",
                expected="users whose attributes were loaded and stay loaded",
                actual=one_line(exc),
                help="commit() (and rollback()) expire every object the session loaded, so each "
                "attribute would be re-read on next touch; a read-only function has nothing to commit",
            ) from None
        try:
            seen[email] = sorted(d.id for d in user.documents)
        except DetachedInstanceError as exc:
            raise Fail(
                "after the session closed, `user.documents` cannot be read: it was never loaded",
                expected="documents loaded together with the users",
                actual=one_line(exc),
                help="relationships load lazily, on first touch, through the user's session; once "
                "that is closed there is nothing left to load through. Load them with the query",
            ) from None
    return seen


def _truth(ctx: Context) -> dict[str, list[int]]:
    rows = ctx.rows(
        "SELECT u.email, coalesce(array_agg(d.id ORDER BY d.id) FILTER (WHERE d.id IS NOT NULL), '{}') "
        "FROM users u LEFT JOIN documents d ON d.owner_id = u.id GROUP BY u.id"
    )
    return {email: list(ids) for email, ids in rows}


def _check_contents(ctx: Context, when: str = "") -> None:
    with ctx.new_session() as session:
        users = _users(ctx, session)
    seen = _read(users)  # the session is closed now, as in the report
    want = _truth(ctx)
    if len(users) != len(seen) or set(seen) != set(want):
        missing = sorted(set(want) - set(seen), key=str)
        raise Fail(
            f"not every user came back exactly once{when}",
            expected=f"{len(want)} users: " + ", ".join(sorted(map(str, want))),
            actual=f"{len(users)} users: " + ", ".join(sorted(map(str, seen))),
            help="a user without documents must come too; an inner join to documents drops them"
            if missing and all(not want[m] for m in missing)
            else "select every user, once each",
        )
    wrong = sorted((e for e in want if seen[e] != want[e]), key=str)
    if wrong:
        raise Fail(
            f"{wrong[0]}'s documents are not the ones in the database{when}",
            expected=f"ids {want[wrong[0]]}",
            actual=f"ids {seen[wrong[0]]}",
            help="load the relationship as it is; a filtered join fills the list with only the "
            "matching documents",
        )


@checks.add("users_with_documents(session) is a function")
def signature(ctx: Context) -> None:
    require_function(ctx, "users_with_documents", ["session"])
    only_read_so_far(ctx)


@checks.add("every user, with their documents readable after the session is closed", requires=[signature])
def readable_after_close(ctx: Context) -> None:
    given_relationship(ctx, "User", "documents", "the caller reads each user's documents through it")
    _check_contents(ctx)


GROW = """
INSERT INTO users (email) SELECT 'reader' || g || '@example.com' FROM generate_series(1, 10) g;
INSERT INTO documents (title, body, owner_id, created_at)
SELECT 'Memo ' || u.id || '-' || n, '...', u.id, now() - n * interval '1 hour'
FROM users u CROSS JOIN generate_series(1, 3) n WHERE u.email LIKE 'reader%';
"""


@checks.add(
    "the number of statements stays flat as users and documents grow (no N+1)",
    requires=[readable_after_close],
)
def flat(ctx: Context) -> None:
    def report(session: Session) -> None:
        for user in _users(ctx, session):
            _ = [d.title for d in user.documents]

    growth = measure(ctx, report, GROW, "SELECT count(*) FROM users")
    if growth.grows:
        raise Fail(
            "the documents are loaded one user at a time: the N+1 problem",
            expected=f"the same number of statements for {growth.rows_before} or {growth.rows_after} users",
            actual=f"{growth.statements_before} statements for {growth.rows_before} users, "
            f"{len(growth.statements_after)} for {growth.rows_after}",
            help="every first touch of a lazy user.documents is one more round trip; a loader option "
            "on the query fetches the documents of all the users together",
            sql=show_sql(growth.statements_after, limit=4),
        )


@checks.add(
    "still right with more data (ten more users, three documents each)", requires=[readable_after_close]
)
def still_right(ctx: Context) -> None:
    _check_contents(ctx, " with more data")

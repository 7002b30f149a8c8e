"""Counts per user: an outer join, a NULL-aware count, grouped and ordered in Postgres."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from drillkit.check import Checks, Context, Fail, plural, show_sql

from ..common import only_read_so_far, read_call, require_function, unused_session

checks = Checks()

TRUTH = """
SELECT u.email, count(d.id) FROM users u LEFT JOIN documents d ON d.owner_id = u.id
GROUP BY u.id ORDER BY count(d.id) DESC, u.email
"""

# Two newcomers with nothing, and margaret catches up with grace (a tie at the top two).
GROW = """
INSERT INTO users (email) VALUES ('newcomer1@example.com'), ('newcomer2@example.com');
INSERT INTO documents (title, body, owner_id, created_at)
SELECT 'Note ' || n, '...', 4, now() - n * interval '1 hour' FROM generate_series(1, 2) n;
"""


_expected_before: list[tuple[Any, Any]] = []  # what counts_right saw, before the data grows


def _expected(ctx: Context) -> list[tuple[str, int]]:
    return [(email, int(n)) for email, n in ctx.rows(TRUTH)]


def _pairs(value: Any) -> list[tuple[Any, Any]]:
    """The result as (email, count) pairs, or a Fail explaining its shape."""
    kind = type(value).__name__
    if kind in ("Result", "ChunkedIteratorResult", "ScalarResult", "CursorResult"):
        raise Fail(
            f"document_counts returned a {kind}, a cursor nobody has read yet",
            expected="a list of (email, count) pairs",
            actual=kind,
            help="read the rows before returning: .all() on the result gives a list",
        )
    if not isinstance(value, list | tuple):
        raise Fail(
            "document_counts did not return a list",
            expected="a list of (email, count) pairs",
            actual=f"{kind}: {value!r}"[:200],
        )
    pairs = []
    for item in value:
        try:
            email, n = item
        except (TypeError, ValueError):
            raise Fail(
                "document_counts returned items that are not (email, count) pairs",
                expected="[('ada@example.com', 8), ...]",
                actual=f"{type(item).__name__}: {item!r}"[:200],
                help="select exactly two things: the email column and the count expression",
            ) from None
        if not isinstance(email, str):
            raise Fail(
                "document_counts returned pairs whose first value is not an email",
                expected="[('ada@example.com', 8), ...]: the email as text",
                actual=f"{type(email).__name__}: {email!r}"[:200],
                help="select the email column itself as the first of the two values",
            )
        # Plain values from here on: a subclass's own == must not decide what the checks see.
        plain = int.__int__(n) if isinstance(n, int) and not isinstance(n, bool) else n
        pairs.append((str.__str__(email), plain))
    return pairs


def _fresh_call(ctx: Context):
    fn = require_function(ctx, "document_counts", ["session"])
    with ctx.new_session() as session:
        result = read_call(ctx, session, fn)
        return _pairs(result.value), result


def _compare(ctx: Context, got: list[tuple[Any, Any]], when: str = "") -> None:
    want = _expected(ctx)
    want_emails = {e for e, _ in want}
    seen = Counter(e for e, _ in got)
    twice = sorted(e for e, k in seen.items() if k > 1)
    if twice:
        raise Fail(
            f"{twice[0]} appears {seen[twice[0]]} times{when}",
            expected="one row per user",
            actual=f"{len(got)} rows for {len(want)} users",
            help="group by the user, so each user's rows fold into one",
        )
    missing = [e for e, _ in want if e not in seen]
    extra = sorted(str(e) for e in seen if e not in want_emails)
    if missing or extra:
        owns_nothing = {e for e, n in want if n == 0}
        if missing and set(missing) <= owns_nothing:
            raise Fail(
                f"{', '.join(missing)} missing{when}: a user who owns no documents drops out",
                expected=f"all {len(want)} users, the ones with no documents as 0",
                actual=f"{len(got)} users",
                help="an inner join keeps only users with at least one matching document; an "
                "outer join keeps every user and fills the document side with NULLs",
            )
        raise Fail(
            f"the rows do not name every user exactly once{when}",
            expected=", ".join(e for e, _ in want),
            actual=", ".join(str(e) for e, _ in got) or "no rows",
            help="the first value of each pair is the user's email",
        )
    wrong = {e: n for e, n in got if n != dict(want)[e]}
    if wrong:
        zero = {e for e, n in want if n == 0}
        if wrong and set(wrong) <= zero and all(n == 1 for n in wrong.values()):
            raise Fail(
                f"a user with no documents gets 1, not 0{when}",
                expected=", ".join(f"{e}: 0" for e in sorted(wrong)),
                actual=", ".join(f"{e}: {n}" for e, n in sorted(wrong.items())),
                help="the outer join gives that user one row of NULLs, and counting rows counts it; "
                "count a documents column instead: NULLs are not counted",
            )
        raise Fail(
            f"some counts are wrong{when}",
            expected=", ".join(f"{e}: {dict(want)[e]}" for e in sorted(wrong)),
            actual=", ".join(f"{e}: {n!r}" for e, n in sorted(wrong.items(), key=lambda p: str(p[0]))),
            help="one join from users to documents on the owner, grouped by the user",
        )
    counts = [n for _, n in got]
    if counts != sorted(counts, reverse=True):
        raise Fail(
            f"the rows are not biggest first{when}",
            expected=" ≥ ".join(str(n) for _, n in want),
            actual=", ".join(str(n) for n in counts),
            help="order by the count expression itself, descending",
        )


@checks.add("document_counts(session) is a function")
def signature(ctx: Context) -> None:
    require_function(ctx, "document_counts", ["session"])
    only_read_so_far(ctx)


@checks.add(
    "every user appears once, with the right number of documents, biggest first", requires=[signature]
)
def counts_right(ctx: Context) -> None:
    got, _ = _fresh_call(ctx)
    _compare(ctx, got)
    _expected_before[:] = got


@checks.add("it uses the session it is given, and Postgres does the counting", requires=[counts_right])
def counted_in_sql(ctx: Context) -> None:
    got, result = _fresh_call(ctx)
    if not result.used_session:
        raise unused_session("document_counts", result)
    # Grouped, or the one statement sent (a correlated count subquery): one query per user is
    # what this rules out. count() or sum(CASE ...) alike; and Postgres sent a row per user at
    # most, not a row per document for Python to tally (a count() OVER () beside them).
    alone = len(result.statements) == 1
    counting = [
        s
        for s in result.statements
        if re.search(r"\b(count|sum)\s*\(", s.sql, re.I)
        and (alone or re.search(r"\bGROUP\s+BY\b", s.sql, re.I))
        and (s.rows is None or s.rows <= len(got))
    ]
    if not counting:
        per_user = len(result.statements) > 2
        raise Fail(
            "the counts are right, but Python did the counting"
            + (", one query per user" if per_user else ""),
            expected="one SELECT ... count(...) ... GROUP BY ...",
            actual=f"{plural(len(result.statements), 'statement')}, none of them grouping and counting",
            help="every row (or query) that travels to Python just to be counted is wasted; "
            "GROUP BY lets Postgres send one row per user",
            sql=show_sql(result.statements, limit=3),
        )


@checks.add("still right with more data (two new users, margaret catches up)", requires=[counts_right])
def still_right(ctx: Context) -> None:
    ctx.execute(GROW)
    before = [tuple(p) for p in _expected_before]
    got, _ = _fresh_call(ctx)
    if before and [tuple(p) for p in got] == before:
        raise Fail(
            "with more data, document_counts still returns exactly what it returned before",
            expected=", ".join(f"{e}: {n}" for e, n in _expected(ctx)),
            actual=", ".join(f"{e}: {n}" for e, n in got),
            help="the numbers must come from the query each time, not from fixed values",
        )
    _compare(ctx, got, " with more data")

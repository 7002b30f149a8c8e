"""What this pack's checks share: the 2.0-style rule, the seeded rows, and the document helpers.

Imported by each drill's checks.py as `from ..common import ...`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from drillkit.check import Checks, Context, DatabaseView, Fail, show_sql
from drillkit.check.models import legacy_constructs
from drillkit.check.recorder import Statement
from drillkit.check.schema import require_column, require_not_null, require_table
from drillkit.check.sql import filtered_by, selects_from

# --- the pack's one style rule ------------------------------------------------------------
# The syllabus teaches SQLAlchemy 2.0 as it is written today: models annotated with
# Mapped[...] and mapped_column()/relationship(), queries built with select(). The 1.x
# forms still run, which is exactly why a drill must say so when it sees them.

# Named after what the drill's own answer writes; the rule covers the whole file either way.
MODEL_FORMS = "no 1.x forms such as Column() or declarative_base()"
QUERY_FORMS = "select(), not session.query()"
SESSION_FORMS = "no 1.x forms such as session.query()"
WHY_2_0 = (
    "2.0 style is what current docs and code use: the Mapped[...] annotation gives type "
    "checkers and readers the column's Python type and whether it may be NULL, and select() "
    "is one query API for Core and ORM alike"
)


def modern_style(ctx: Context) -> None:
    """No 1.x construct in the file, and no session.query() call while it ran or was exercised."""
    uses = list(legacy_constructs(ctx.source))
    if uses:
        first, more = uses[0], uses[1:]
        # Every line at once: fixing one and failing on the next is a loop of its own.
        elsewhere = "; also " + ", ".join(f"line {u.line} ({u.what})" for u in more[:5]) if more else ""
        raise Fail(
            f"line {first.line} uses the 1.x form: {first.what}"
            + (f", and {len(more)} more" if more else ""),
            expected=first.instead,
            actual=f"line {first.line}: {first.code}"[:300] + elsewhere[:300],
            help=WHY_2_0,
        )
    calls = ctx.recorder.legacy_query_calls
    if calls:
        raise Fail(
            "your code queries with session.query(), the 1.x Query API",
            expected="a select() statement, run through the session",
            actual=f"session.query() was called {calls} time{'s' if calls != 1 else ''}",
            help="build the query as a select() statement and hand it to the session to run "
            "(session.scalars(...), session.execute(...)): one way to query, in Core and the ORM alike",
        )


def add_style_check(checks: Checks, forms: str) -> None:
    """Every drill ends with the same rule; it runs whatever else failed."""
    checks.add(f"written in SQLAlchemy 2.0 style ({forms})")(modern_style)


# --- the seeded data (fixtures/seeded.sql) --------------------------------------------------
# tests/test_builtin_packs.py holds these equal to what the fixture seeds.
SEED_DOCUMENTS: tuple[tuple[int, str, str, int], ...] = (  # (id, title, body, owner_id)
    (1, "Onboarding notes", "Where things live.", 1),
    (2, "Budget 2026", "Numbers.", 2),
    (3, "Kickoff agenda", "Goals, owners, dates.", 1),
    (4, "Retro notes", "Keep, drop, try.", 2),
    (5, "Q1 Report draft", "Revenue grew.", 1),
    (6, "Design doc", "Boxes and arrows.", 1),
)
SEED_CREATED_AT: dict[int, datetime] = {  # document id -> created_at
    1: datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    2: datetime(2026, 1, 15, 10, 30, tzinfo=UTC),
    3: datetime(2026, 1, 10, 8, 15, tzinfo=UTC),
    4: datetime(2026, 4, 1, 16, 0, tzinfo=UTC),
    5: datetime(2026, 5, 20, 11, 45, tzinfo=UTC),
    6: datetime(2026, 2, 14, 14, 0, tzinfo=UTC),
}
SEED_USERS: tuple[tuple[int, str], ...] = (  # (id, email)
    (1, "ada@example.com"),
    (2, "grace@example.com"),
    (3, "linus@example.com"),
)


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if isinstance(value, datetime) else repr(value)  # NULL too


def _brief(value: Any) -> str:
    """repr() with each long text cut short: a changed body is shown, not pasted."""
    if isinstance(value, tuple):
        return "(" + ", ".join(_brief(v) for v in value) + ")"
    if isinstance(value, str) and len(value) > 60:
        return repr(value[:50] + "…")
    return repr(value)


EXTRA_ROWS_READ = 1000  # rows beyond the seed that seed_changes reads to list the changes
TEXT_READ = 300  # characters of each text it reads: more than any seeded one has


def seed_changes(db: DatabaseView | Context, documents: tuple[tuple, ...] = SEED_DOCUMENTS) -> list[str]:
    """How the committed data differs from the seed, with `documents` as the expected
    (id, title, body, owner_id) rows: changed, added or removed documents, a changed
    created_at, changed or removed users. Through a database check's view, or a child
    check's context (its rows() reads on a separate connection: committed rows only)."""
    # One query for both tables: drill 3 runs this on every check, and each is a round trip.
    # Bounded: a file that added millions of rows is told so, not read into this process.
    # And in bytes: every seeded text is short, so its first TEXT_READ characters tell a
    # change apart, and a body of 200 MB is not read whole.
    most = len(documents) + len(SEED_USERS) + EXTRA_ROWS_READ
    everything = db.rows(
        "SELECT 'document', id, left(title, :c) AS title, left(body, :c) AS body, owner_id, created_at "
        "FROM documents "
        "UNION ALL SELECT 'user', id, left(email, :c), NULL, NULL, NULL FROM users ORDER BY 1, 2 LIMIT :n",
        n=most + 1,
        c=TEXT_READ,
    )
    if len(everything) > most:
        return [f"more than {EXTRA_ROWS_READ} rows were added to documents and users"]
    rows = [tuple(r[1:5]) for r in everything if r[0] == "document"]
    by_id = {r[0]: r for r in rows}
    found = [f"document {r[0]} is now {_brief(r[1:])}" for r in rows if r not in documents]
    found += [f"document {e[0]} is gone" for e in documents if e[0] not in by_id]
    created = {r[1]: r[5] for r in everything if r[0] == "document"}
    found += [
        f"document {i}'s created_at is now {_when(created[i])}"
        for i, when in SEED_CREATED_AT.items()
        if i in created and created[i] != when
    ]
    users = [tuple(r[1:3]) for r in everything if r[0] == "user"]
    found += [f"user {u[0]} is now {_brief(u[1])}" for u in users if u not in SEED_USERS]
    found += [f"user {i} is gone" for i, _ in SEED_USERS if i not in {u[0] for u in users}]
    return found


# --- documents as the drills see them --------------------------------------------------------


def document_list(value: Any, document_cls: type, name: str) -> list[Any]:
    """Insist on a real list of ORM objects, explaining the usual near misses."""
    from sqlalchemy.engine import Result, Row

    if isinstance(value, Result) or type(value).__name__ in ("ScalarResult", "ChunkedIteratorResult"):
        raise Fail(
            f"`{name}` is a {type(value).__name__}, a cursor that has not been read yet",
            expected="a list of Document objects",
            actual=type(value).__name__,
            help="a result is read lazily; ask it for all of its rows as a list",
        )
    if not issubclass(type(value), list | tuple):  # type(): a faked __class__ is no list
        raise Fail(
            f"`{name}` is not a list",
            expected="a list of Document objects",
            actual=f"{type(value).__name__}: {value!r}"[:200],
            help="one object (or None) is what you get when you ask for a single row; ask for all of them",
        )
    items = plain_items(value)
    for item in items:
        if isinstance(item, Row):
            raise Fail(
                f"`{name}` holds Row tuples, not Document objects",
                expected="Document instances",
                actual=f"[{item!r}, ...]"[:200],
                help="executing a select() gives rows (tuples); there is a way to run it that "
                "unwraps each row to its single object",
            )
        if not isinstance(item, document_cls):
            raise Fail(
                f"`{name}` holds something other than Document objects",
                expected="Document instances",
                actual=f"{type(item).__name__}: {item!r}"[:200],
                help="select the entity (the class) itself, not one of its columns",
            )
    return items


def describe(rows: Sequence[tuple[int, datetime | None]]) -> str:
    """`id 5 (2026-05-20), id 1 (2026-03-02)`: ids with their dates, for expected/actual."""
    if not rows:
        return "no documents"
    return ", ".join(f"id {i} ({d:%Y-%m-%d})" if d else f"id {i}" for i, d in rows)


def with_dates(ctx: Context, ids: Sequence[int]) -> list[tuple[int, datetime | None]]:
    found = dict(ctx.rows("SELECT id, created_at FROM documents"))
    return [(i, found.get(i)) for i in ids]


def newest_first(ctx: Context, user_id: int | None) -> list[tuple[int, datetime]]:
    """(id, created_at) of the user's documents, newest first; every document's for None."""
    where, params = ("", {}) if user_id is None else ("WHERE owner_id = :u", {"u": user_id})
    rows = ctx.rows(
        f"SELECT id, created_at FROM documents {where} ORDER BY created_at DESC, id DESC", **params
    )
    return [(r[0], r[1]) for r in rows]


def plain_items(value: Any) -> list[Any]:
    """A list's (or tuple's) items through list's own iterator: a subclass's __iter__ is the
    learner's to break. Anything else: its own iteration, as any caller would."""
    if issubclass(type(value), list):
        return list(list.__iter__(value))
    if issubclass(type(value), tuple):
        return list(tuple.__iter__(value))
    return list(value)


def ids_of(docs: Sequence[Any], name: str) -> list[int]:
    try:
        return [int(d.id) for d in plain_items(docs)]
    except Exception as exc:  # DetachedInstanceError and friends
        raise Fail(
            f"could not read `.id` of the objects in `{name}`",
            actual=f"{type(exc).__name__}: {exc}"[:300],
            help="load the objects while the session is open; don't close or expire them",
        ) from None


def filtered_in_sql(statements: Sequence[Statement], wanted: int) -> bool:
    """Some SELECT from documents has a WHERE (or ON) on owner_id and Postgres sent back no
    more rows than the owner has: a WHERE that keeps every row does not count."""
    return any(
        s.rows is not None and s.rows <= wanted for s in filtered_by(statements, "documents", "owner_id")
    )


def python_filter_failure(statements: Sequence[Statement]) -> Fail:
    return Fail(
        "the right documents, but Postgres sent you every document and Python threw most away",
        expected="a SELECT from documents with a WHERE on the owner, which Postgres answers with "
        "that owner's rows only",
        actual="no SELECT from documents that Postgres filtered to the owner's rows",
        help="put the condition in the statement itself: the database does the work and only "
        "that user's rows travel",
        sql=show_sql(selects_from(statements, "documents")),
    )


# --- the documents table as drills 1 and 2 define it ------------------------------------------


def title_column(db: DatabaseView) -> None:
    column = require_column(require_table(db, "documents"), "documents", "title")
    if not (column.builtin and column.type.startswith("character varying")) or column.length != 200:
        raise Fail(
            "`title` is not a column type limited to 200 characters",
            expected="character varying(200)",
            actual=column.type,
            help="the length limit comes from the column type you give mapped_column()",
        )
    require_not_null(column, "documents")


def body_column(db: DatabaseView) -> None:
    column = require_column(require_table(db, "documents"), "documents", "body")
    if not (column.builtin and column.type in ("character varying", "text")):
        limited = column.builtin and column.type.startswith("character varying(")
        raise Fail(
            "`body` is limited to a length" if limited else "`body` is not a text column",
            expected="text of any length (varchar or text, with no limit)",
            actual=column.type,
            help="only the title has a limit; a body as long as its author needs"
            if limited
            else "text of any length: a string type with no length",
        )
    require_not_null(column, "documents")

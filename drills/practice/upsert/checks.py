"""Upsert: one INSERT ... ON CONFLICT, idempotent, inside the caller's transaction, race-safe."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, PendingRollbackError
from sqlalchemy.orm import Session

from drillkit.check import Checks, Context, Fail, plural, show_sql
from drillkit.check.recorder import Statement

from ..common import Call, call, one_line, require_function, seeded, unused_session

checks = Checks()
_statements: list[Statement] = []
CALLER_TITLE = "Renamed by the caller"


def _fn(ctx: Context) -> Callable[..., Any]:
    return require_function(ctx, "ensure_tag", ["session", "name"])


def _ensure(ctx: Context, session: Session, name: str, who: str = "") -> int:
    """Call ensure_tag, turning the classic failures into explanations."""
    try:
        result: Call = call(ctx, session, _fn(ctx), name)
    except PendingRollbackError as exc:
        raise Fail(
            f"ensure_tag({name!r}){who} hit an IntegrityError, caught it, and then could not go on",
            expected=f"the id of the existing {name!r} tag",
            actual=one_line(exc),
            help="after a failed statement the whole transaction is aborted: nothing runs until a "
            "rollback, and a rollback would discard the caller's work too. Avoid the error instead: "
            "let the INSERT itself handle the conflict",
        ) from None
    except IntegrityError as exc:
        raise Fail(
            f"ensure_tag({name!r}){who} raised IntegrityError",
            expected="the id of the tag, whether it existed or not",
            actual=one_line(exc),
            help="the unique index refused a second row with the same name: the INSERT must say what "
            "to do on a conflict instead of failing",
        ) from None
    _statements.extend(result.statements)
    if result.statements and not result.used_session:
        raise unused_session("ensure_tag", result)
    value = result.value
    if value is None:
        raise Fail(
            f"ensure_tag({name!r}){who} returned None",
            expected="the tag's id, an int",
            actual="None",
            help="ON CONFLICT DO NOTHING ... RETURNING returns no row when it did nothing; the "
            "existing row's id has to come from somewhere else",
        )
    if issubclass(type(value), bool) or not issubclass(type(value), int):
        raise Fail(
            f"ensure_tag({name!r}){who} did not return an int",
            expected="the tag's id, e.g. 4",
            actual=f"{type(value).__name__}: {_shown(value)}"[:200],
            help="return the id itself: a Row or a Tag object is not an id (scalar_one() unwraps a "
            "one-column row)",
        )
    return int.__int__(value)  # a plain int: a subclass's own == must not decide what is compared


def _shown(value: object) -> str:
    try:  # the learner's object: its repr may raise
        return repr(value)[:120]
    except Exception:
        return "(cannot be shown)"


def _ids(ctx: Context, name: str) -> list[int]:
    return [r[0] for r in ctx.rows("SELECT id FROM tags WHERE name = :n ORDER BY id", n=name)]


def _caller_work(session: Session, doc_id: int) -> None:
    """What the caller did in its transaction before asking for a tag."""
    session.execute(text("UPDATE documents SET title = :t WHERE id = :i"), {"t": CALLER_TITLE, "i": doc_id})


def _document(ctx: Context, doc_id: int) -> str:
    """Seeded document `doc_id`'s title (the caller's work renames it)."""
    return seeded(ctx, f"document {doc_id}", "SELECT title FROM documents WHERE id = :i", i=doc_id)[0][0]


def _unused(ctx: Context, name: str) -> str:
    """`name`, or `name-2`, ...: a tag name no row has yet (a try-out in the file may have made
    the first choice already, and the check is about a new name). One query, however many
    the file took."""
    taken = {r[0] for r in ctx.rows("SELECT name FROM tags WHERE name = :n OR name LIKE :n || '-%'", n=name)}
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def _caller_work_kept(ctx: Context, doc_id: int, what: str) -> None:
    title = _document(ctx, doc_id)
    if title != CALLER_TITLE:
        raise Fail(
            f"{what}, the caller's own earlier change was lost",
            expected=f"document {doc_id} renamed by the caller, in the same transaction, then committed",
            actual=f"document {doc_id} is still titled {title!r}",
            help="a rollback inside ensure_tag undoes the caller's whole transaction, not just the "
            "failed insert; don't provoke the error in the first place",
        )


@checks.add("ensure_tag(session, name) is a function")
def signature(ctx: Context) -> None:
    _fn(ctx)


@checks.add(
    "a new name: a new row, its id returned, nothing committed until the caller commits", requires=[signature]
)
def new_tag(ctx: Context) -> None:
    name = _unused(ctx, "roadmap")
    with ctx.new_session() as session:
        tag_id = _ensure(ctx, session, name)
        if _ids(ctx, name):
            raise Fail(
                "ensure_tag committed: the new tag was visible to other connections before the caller "
                "committed",
                expected="the caller decides when its transaction commits",
                actual=f"tag {name!r} already committed when ensure_tag returned",
                help="a building block used inside a larger transaction must not commit it; flush() "
                "or executing the INSERT is enough to get the id",
            )
        session.commit()
    if _ids(ctx, name) != [tag_id]:
        raise Fail(
            f"after the caller committed, the {name!r} tag is not the one whose id was returned",
            expected=f"one row, id {tag_id}",
            actual=f"ids {_ids(ctx, name)}",
        )
    # The caller rolls back, then asks again (a retried request): the row the first call made
    # is gone, and the id it gave out with it. Only Postgres knows the id that holds now.
    retried = _unused(ctx, "backlog")
    with ctx.new_session() as session:
        gone = _ensure(ctx, session, retried)
        session.rollback()
    with ctx.new_session() as session:
        again = _ensure(ctx, session, retried)
        session.commit()
    rows = _ids(ctx, retried)
    if rows != [again]:
        raise Fail(
            f"asked again for {retried!r} after the caller rolled back, ensure_tag returned id "
            f"{again}, which no row has",
            expected=f"the id of the {retried!r} row the second call made ({', '.join(map(str, rows))})",
            actual=f"{again}, the id of the row the rollback undid" if again == gone else str(again),
            help="an id belongs to the transaction that made its row: remembered past a rollback, it "
            "names nothing; ask Postgres on every call",
        )


@checks.add("an existing name: its id, no new row, the caller's earlier work untouched", requires=[new_tag])
def existing_tag(ctx: Context) -> None:
    want = [row[0] for row in seeded(ctx, "the tag 'urgent'", "SELECT id FROM tags WHERE name = 'urgent'")]
    _document(ctx, 2)
    fresh = _unused(ctx, "fresh")
    with ctx.new_session() as session:
        _caller_work(session, 2)
        got = _ensure(ctx, session, "urgent")
        seen = session.execute(text("SELECT title FROM documents WHERE id = 2")).scalar_one()
        if seen != CALLER_TITLE:
            raise Fail(
                "after ensure_tag('urgent'), the caller's own earlier change was lost",
                expected="the caller renamed document 2 in its transaction before asking for the tag; "
                "that change is still there",
                actual=f"document 2 is titled {seen!r} again: the transaction was rolled back",
                help="a rollback inside ensure_tag undoes the caller's whole transaction, not just the "
                "failed insert; don't provoke the error in the first place",
            )
        again = _ensure(ctx, session, fresh)
        twice = _ensure(ctx, session, fresh, " called a second time")
        session.commit()
    if [got] != want:
        raise Fail("ensure_tag('urgent') returned the wrong id", expected=f"{want}", actual=str(got))
    if again != twice or _ids(ctx, fresh) != [again]:
        raise Fail(
            f"calling ensure_tag({fresh!r}) twice did not give one row and one id",
            expected="the same id both times, one row",
            actual=f"ids returned {again} and {twice}; rows {_ids(ctx, fresh)}",
        )
    _caller_work_kept(ctx, 2, "after ensure_tag('urgent')")


@checks.add("two sessions asking for the same new name at once both get the one id", requires=[new_tag])
def race(ctx: Context) -> None:
    name = _unused(ctx, "launch")
    _document(ctx, 3)
    first = ctx.new_session()
    second = ctx.new_session()
    outcome: dict[str, Any] = {}
    try:
        _caller_work(second, 3)
        second.execute(text("SET LOCAL lock_timeout = '5s'"))
        first_id = _ensure(ctx, first, name)  # inserted, not committed yet

        def other_request() -> None:
            try:
                outcome["id"] = _ensure(ctx, second, name, " in the second session")
                second.commit()
            except BaseException as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=other_request, daemon=True)
        worker.start()
        _wait_for_lock_wait(ctx, worker)
        first.commit()  # now the second request's INSERT must decide what to do
        worker.join(10)
        if worker.is_alive():
            raise Fail("the second session never finished", expected="it returns once the first commits")
    finally:
        first.close()
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, Fail) and "IntegrityError" in error.rationale:
            raise Fail(
                "two requests at once: the second one failed with IntegrityError",
                expected=f"both get the id of the one {name!r} tag",
                actual=error.actual,
                help="both looked before either had committed, so both saw no tag and both inserted; "
                "the unique index let one through. Looking first can't fix that; a single INSERT that "
                "knows what to do on a conflict can",
            )
        raise error
    second.close()
    if outcome.get("id") != first_id or _ids(ctx, name) != [first_id]:
        raise Fail(
            "two requests at once did not end with one tag and one id",
            expected=f"both get id {first_id}",
            actual=f"second got {outcome.get('id')}; rows {_ids(ctx, name)}",
        )
    _caller_work_kept(ctx, 3, "in the second session of the race")


def _wait_for_lock_wait(ctx: Context, worker: threading.Thread, limit: float = 2.0) -> None:
    """Give the second request time to reach its INSERT (it then waits on the first's row)."""
    deadline = time.monotonic() + limit
    while worker.is_alive() and time.monotonic() < deadline:
        waiting = ctx.rows(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND usename = current_user"
        )[0][0]
        if waiting:
            return
        time.sleep(0.02)


@checks.add("written as one INSERT ... ON CONFLICT", requires=[race])
def on_conflict_sql(ctx: Context) -> None:
    inserts = [s for s in _statements if s.verb == "INSERT"]
    if not any(re.search(r"\bON\s+CONFLICT\b", s.sql, re.I) for s in inserts):
        raise Fail(
            "it works, but not with INSERT ... ON CONFLICT, which this drill is about",
            expected="INSERT INTO tags ... ON CONFLICT (name) DO ...",
            actual=f"{plural(len(inserts), 'INSERT')} without ON CONFLICT",
            help="a savepoint or a retry around a failing INSERT costs an error (and a log line) per "
            "conflict; ON CONFLICT settles it inside one statement",
            sql=show_sql(inserts, limit=2),
        )

"""All or nothing: one commit for the whole move, rollback and re-raise on any error."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.errors import InFailedSqlTransaction
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, IntegrityError, PendingRollbackError
from sqlalchemy.orm import Session

from drillkit.check import Checks, Context, Fail, show_sql
from drillkit.check.sql import commits_by_hand, writes

from ..common import call, one_line, require_function, unused_session

checks = Checks()
MISSING_DOC = 999
MISSING_USER = 999


def _fn(ctx: Context) -> Callable[..., Any]:
    return require_function(ctx, "move_documents", ["session", "doc_ids", "new_owner_id"])


def _owners(ctx: Context, ids: list[int]) -> dict[int, int]:
    return dict(ctx.rows("SELECT id, owner_id FROM documents WHERE id = ANY(:ids)", ids=ids))


@contextmanager
def _commits(ctx: Context) -> Iterator[list[int]]:
    """Count COMMITs on the learner's engine while the block runs."""
    seen: list[int] = []

    def on_commit(conn: Any) -> None:
        seen.append(1)

    event.listen(ctx.engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(ctx.engine, "commit", on_commit)


def _failing_move(ctx: Context, ids: list[int], owner: int) -> tuple[Session, BaseException | None]:
    session = ctx.new_session()
    try:
        call(ctx, session, _fn(ctx), ids, owner)
    except Exception as exc:
        return session, exc
    return session, None


def _usable_and_clean(
    ctx: Context, session: Session, ids: list[int], before: dict[int, int], what: str
) -> None:
    """The caller goes on with the session, and commits its own later work."""
    try:
        session.execute(text("SELECT 1"))
        session.commit()
    except (PendingRollbackError, DBAPIError) as exc:
        # Core statements leave the failure in Postgres's transaction, not in the session's.
        if isinstance(exc, DBAPIError) and not isinstance(exc.orig, InFailedSqlTransaction):
            raise
        raise Fail(
            f"after {what}, the session is stuck in a failed transaction",
            expected="a session the caller can go on using",
            actual=one_line(exc),
            help="when a statement, flush or commit fails, the transaction refuses every further "
            "statement until someone calls rollback(); do it before the error leaves your function",
        ) from None
    finally:
        session.close()
    after = _owners(ctx, ids)
    if after != before:
        raise Fail(
            f"after {what}, the caller's next commit published half a move",
            expected=f"owners unchanged: {before}",
            actual=f"owners now: {after}",
            help="the documents changed before the error were still changed in the session; roll "
            "back before raising, so nothing is left for a later commit to write",
        )


@checks.add("move_documents(session, doc_ids, new_owner_id) is a function")
def signature(ctx: Context) -> None:
    _fn(ctx)


@checks.add("it moves every document and commits (documents 1 and 3 to user 2)", requires=[signature])
def moves_all(ctx: Context) -> None:
    others = {i: o for i, o in ctx.rows("SELECT id, owner_id FROM documents WHERE id NOT IN (1, 3)")}
    with ctx.new_session() as session:
        result = call(ctx, session, _fn(ctx), [1, 3], 2)
    if not result.used_session:
        raise unused_session("move_documents", result)
    owners = _owners(ctx, [1, 3])
    if owners != {1: 2, 3: 2}:
        raise Fail(
            "another connection does not see the move",
            expected="documents 1 and 3 owned by user 2, committed",
            actual=f"owners seen from outside: {owners}",
            help="changes stay inside the session's transaction until it commits",
        )
    now = {i: o for i, o in ctx.rows("SELECT id, owner_id FROM documents WHERE id NOT IN (1, 3)")}
    moved = sorted(i for i in others if now.get(i) != others[i])
    if moved:
        raise Fail(
            "documents that were not asked for changed owner too",
            expected="only documents 1 and 3 move",
            actual=f"documents {', '.join(map(str, moved))} changed owner as well",
            help="load (or update) only the documents whose ids were passed in",
        )


@checks.add(
    "a move commits once, so no one ever sees half of it (documents 6, 7, 8 to user 4)", requires=[signature]
)
def one_commit(ctx: Context) -> None:
    with ctx.new_session() as session, _commits(ctx) as commits:
        result = call(ctx, session, _fn(ctx), [6, 7, 8], 4)
    # Also a commit: each write sent in autocommit mode, and a COMMIT sent by hand.
    alone = [s for s in writes(result.statements) if s.autocommit]
    by_hand = len(commits_by_hand(result.statements))
    if len(alone) > 1:
        raise Fail(
            f"moving 3 documents committed each of its {len(alone)} writes on its own",
            expected="one COMMIT for the whole move",
            actual=f"{len(alone)} writes sent in autocommit mode: each was committed as it ran, so "
            "other connections see half a move between them",
            help="leave the connection in its transaction, and commit once, after every document has "
            "been changed",
            sql=show_sql(alone, limit=3),
        )
    total = len(commits) + by_hand
    if total > 1:
        raise Fail(
            f"moving 3 documents committed {total} times",
            expected="one COMMIT for the whole move",
            actual=f"{total} COMMITs: between two of them, other connections see half a move",
            help="commit once, after every document has been changed",
        )
    if _owners(ctx, [6, 7, 8]) != {6: 4, 7: 4, 8: 4}:
        raise Fail("documents 6, 7 and 8 did not all move to user 4", actual=str(_owners(ctx, [6, 7, 8])))


@checks.add(
    f"an id that names no document raises LookupError and moves nothing (4, {MISSING_DOC}, 10)",
    requires=[signature],
)
def missing_document(ctx: Context) -> None:
    ids = [4, MISSING_DOC, 10]
    before = _owners(ctx, ids)
    session, error = _failing_move(ctx, ids, 2)
    if error is None:
        session.close()
        raise Fail(
            f"document {MISSING_DOC} does not exist, but move_documents returned normally",
            expected="LookupError reaches the caller",
            actual=f"no error; owners now {_owners(ctx, ids)}",
            help="the caller must learn that the move did not happen as asked: check that every id "
            "was found and raise if not, and let that error leave your function (an except of your "
            "own that does not raise again swallows it)",
        )
    if not isinstance(error, LookupError):
        session.close()
        raise Fail(
            f"document {MISSING_DOC} does not exist, and the error says something else",
            expected="LookupError (or a subclass such as KeyError)",
            actual=one_line(error),
            help="the task names the exception so callers can catch exactly this case",
        )
    if _owners(ctx, ids) != before:
        session.close()
        raise Fail(
            "half a move was committed before the error",
            expected=f"owners unchanged: {before}",
            actual=f"owners now: {_owners(ctx, ids)}",
            help="a commit publishes everything changed so far; commit once, at the very end",
        )
    _usable_and_clean(ctx, session, ids, before, "the LookupError")


@checks.add(
    "a missing new owner: Postgres's error reaches the caller, nothing moves, session usable",
    requires=[signature],
)
def missing_owner(ctx: Context) -> None:
    ids = [5, 12]
    before = _owners(ctx, ids)
    session, error = _failing_move(ctx, ids, MISSING_USER)
    if error is None:
        session.close()
        raise Fail(
            f"user {MISSING_USER} does not exist, but move_documents returned normally",
            expected="the IntegrityError (a foreign key violation) reaches the caller",
            actual=f"no error; owners now {_owners(ctx, ids)}",
            help="a caught error that is not raised again makes a failed move look like a "
            "successful one; after rolling back, re-raise it",
        )
    if not isinstance(error, IntegrityError | psycopg.IntegrityError):
        session.close()
        raise Fail(
            f"user {MISSING_USER} does not exist, and the caller got {type(error).__name__}, "
            "not Postgres's error",
            expected="the IntegrityError (a foreign key violation) reaches the caller",
            actual=one_line(error, 200),
            help="the caller tells a missing document (LookupError) from a missing owner by the "
            "error it gets: after rolling back, re-raise the error you caught, unchanged",
        )
    if _owners(ctx, ids) != before:
        session.close()
        raise Fail("part of the move was committed", expected=str(before), actual=str(_owners(ctx, ids)))
    _usable_and_clean(ctx, session, ids, before, "the foreign key error")

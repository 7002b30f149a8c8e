"""Drill 4 · insert: a committed "Q2 Report" for user 1 and its real id printed.

The row is judged by drillkit's own connection after your file ended (a database check):
only what was committed counts.
"""

from __future__ import annotations

import re

from drillkit.check import Checks, Context, DatabaseView, Fail, show_sql

from ..common import SEED_DOCUMENTS, SESSION_FORMS, add_style_check

checks = Checks()
TITLE = "Q2 Report"


@checks.add("your code sent an INSERT into documents")
def inserted(ctx: Context) -> None:
    inserts = [s for s in ctx.recorder.statements if s.verb == "INSERT" and "documents" in s.sql]
    if not inserts:
        raise Fail(
            "no INSERT into documents was sent",
            expected="an INSERT when the session flushes your new object",
            actual="no INSERT statement",
            help="making a Document object saves nothing by itself: the session has to know about it",
        )
    if not any(s.in_flush for s in inserts):
        raise Fail(
            "you wrote the INSERT yourself",
            expected="the session writes the INSERT when it flushes the Document you added",
            actual="an insert() construct or a text() INSERT was executed",
            help="this drill is about the unit of work: make a Document object and hand it to the session",
            sql=show_sql(inserts),  # none of them flushed: every one was written by hand
        )
    # The committed row's title came from a flush (an INSERT, or an UPDATE of a row first
    # saved under another title): a hand-written INSERT beside a flushed decoy is no answer.
    # A batch of several rows names its values title__0, title__1, ...
    flushed = [
        s
        for s in ctx.recorder.statements
        if s.in_flush and "documents" in s.sql and ctx.recorder.committed(s)
    ]
    titles = {v for s in flushed for p in s.params for k, v in p.items() if k.split("__")[0] == "title"}
    # The drill is about the id Postgres assigns: one chosen in Python (Document(id=...)),
    # or a sequence moved by hand to make a printed guess come true, assigns nothing.
    chosen = [
        s
        for s in flushed
        if s.verb == "INSERT" and any(v == TITLE and _id_given(p, k) for p in s.params for k, v in p.items())
    ]
    if chosen:
        raise Fail(
            f'the "{TITLE}" row was saved with an id your code chose',
            expected="an INSERT without an id: Postgres numbers the row as it is written",
            actual="the INSERT the session flushed carries an id of its own",
            help="leave the id out when you make the object; the database fills it in when the row is saved",
            sql=show_sql(chosen),
        )
    moved = [s for s in ctx.recorder.statements if _SEQUENCE_MOVED.search(s.raw or s.sql)]
    if moved:
        raise Fail(
            "your code moved the documents' id sequence",
            expected="the sequence as the drill's data left it: Postgres picks the next id",
            actual=moved[0].sql.strip().splitlines()[0][:200],
            help="print the id the row got once it is saved, instead of deciding it beforehand",
            sql=show_sql(moved),
        )
    if TITLE not in titles and ctx.rows("SELECT 1 FROM documents WHERE title = :t", t=TITLE):
        raise Fail(
            f'the "{TITLE}" row was not written by the session',
            expected=f'the INSERT the session flushes carries the title "{TITLE}"',
            actual="committed flushes of " + (", ".join(sorted(map(repr, titles))) or "no title"),
            help="this drill is about the unit of work: make a Document object and hand it to the session",
            sql=show_sql(inserts),
        )


_SEQUENCE_MOVED = re.compile(r"\bsetval\s*\(|\bALTER\s+SEQUENCE\b|\bRESTART\s+IDENTITY\b", re.I)


def _id_given(params: dict, title_key: str) -> bool:
    """The row whose title is under `title_key` (title, or title__3 in a batch) has an id too."""
    base, marked, suffix = title_key.partition("__")
    return base == "title" and params.get("id" + marked + suffix) is not None


@checks.database('a "Q2 Report" row owned by user 1 is committed (seen by drillkit\'s own connection)')
def committed(db: DatabaseView) -> None:
    rows = db.rows("SELECT id, owner_id FROM documents WHERE title = :t", t=TITLE)
    if not rows:
        # A few of them (and 80 characters of each) say enough: a file may have added millions.
        new_titles = [
            r[0]
            for r in db.rows(
                "SELECT left(title, 80) FROM documents WHERE id > :n ORDER BY id LIMIT 6",
                n=len(SEED_DOCUMENTS),
            )
        ]
        if new_titles:
            shown = ", ".join(repr(t) for t in new_titles[:5]) + (", ..." if len(new_titles) > 5 else "")
            raise Fail(
                f'no document is titled exactly "{TITLE}"',
                expected=f'title "{TITLE}"',
                actual=("a new row titled " if len(new_titles) == 1 else "new rows titled ") + shown,
                help="check the spelling and spacing of the title string",
            )
        raise Fail(
            f'no document titled "{TITLE}" was committed',
            expected=f'a committed row titled "{TITLE}"',
            actual="nothing new in documents after your code ended",
            help="an INSERT that is never committed is rolled back when the session goes away",
        )
    if len(rows) > 1:
        raise Fail(
            f'found {len(rows)} "{TITLE}" rows, expected exactly one',
            expected="one new row",
            actual=f"ids {', '.join(str(r[0]) for r in rows[:10])}" + (", ..." if len(rows) > 10 else ""),
            help="add the object once and commit once",
        )
    if rows[0][1] != 1:
        raise Fail(
            "the new document does not belong to user 1",
            expected="owner_id 1",
            actual=f"owner_id {rows[0][1]!r}",
        )


@checks.database("the printed output contains the id Postgres assigned", requires=[committed])
def printed_id(db: DatabaseView) -> None:
    new_id = db.rows("SELECT id FROM documents WHERE title = :t", t=TITLE)[0][0]
    output = db.output()
    # A whole token: not the 7 in 0x7f3a or 3.7, but "document 7." ends a sentence.
    if re.search(rf"(?<![\w.]){re.escape(str(new_id))}(?!\w|\.\d)", output):
        return
    printed_none = "None" in output
    raise Fail(
        "the new row's id is not in what your code printed",
        expected=f"{new_id} (the id Postgres gave the row)",
        actual=repr(output.strip()[:200]) if output.strip() else "nothing printed",
        help="Postgres assigns the id when the INSERT is sent; before that the attribute is None"
        if printed_none
        else "print the new object's id once the row is saved",
        sql=None,
    )


add_style_check(checks, SESSION_FORMS)

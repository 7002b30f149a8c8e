"""Drill 1 · model: a `Document` mapped in 2.0 style, judged by the table Postgres made."""

from __future__ import annotations

from drillkit.check import Checks, Context, DatabaseView, Fail
from drillkit.check.models import mapped_class, new_instance
from drillkit.check.schema import (
    create_tables,
    require_table,
    require_table_name,
)

from ..common import MODEL_FORMS, add_style_check, body_column, title_column

# The learner makes these tables: an extra Computed() column is theirs to add, and every
# column the checks read is judged by its catalog facts.
checks = Checks(allows={"generated"})


@checks.add("Document is a mapped class for the table `documents`")
def mapped(ctx: Context) -> None:
    document_cls = mapped_class(ctx, "Document", configure=False)
    require_table_name(document_cls, "documents")
    create_tables(ctx, document_cls)  # the drill's contract: the checker builds your tables


@checks.database("id is an integer primary key that Postgres numbers", requires=[mapped])
def primary_key(db: DatabaseView) -> None:
    columns = require_table(db, "documents")
    pk = db.primary_key("documents")
    if pk != ["id"]:
        raise Fail(
            "the primary key is not the `id` column",
            expected="primary key (id)",
            actual=f"primary key ({', '.join(pk)})" if pk else "no primary key",
            help="one of mapped_column()'s options makes a column the primary key",
        )
    column = columns["id"]
    if not column.builtin or column.type not in ("integer", "bigint", "smallint"):
        raise Fail("`id` is not an integer", expected="integer", actual=column.type)
    if not column.numbered:
        raise Fail(
            "`id` has no automatic numbering, so every insert would need an id by hand",
            expected="an IDENTITY or SERIAL column (what an integer primary key gets by default)",
            actual=f"default {column.default}" if column.default else f"{column.type} with no default",
            help="an integer primary key is numbered by Postgres unless you switch that off: "
            "look for an autoincrement option",
        )


@checks.database("title is text of at most 200 characters, required", requires=[mapped])
def title(db: DatabaseView) -> None:
    title_column(db)


@checks.database("body is a required text column", requires=[mapped])
def body(db: DatabaseView) -> None:
    body_column(db)


@checks.add("a Document saves and gets its id from Postgres", requires=[mapped])
def round_trip(ctx: Context) -> None:
    document_cls = ctx.namespace["Document"]
    with ctx.new_session() as session:
        doc = new_instance(document_cls, title="Round trip", body="Saved by the checker.")
        session.add(doc)
        try:
            session.commit()
        except Exception as exc:  # the model's column types refuse a title and a body of text
            raise Fail(
                "saving a Document with a text title and body failed",
                expected="the row is saved and gets an id",
                actual=f"{type(exc).__name__}: {str(exc).splitlines()[0]}"[:300],
                help="title and body hold text: check the types you gave their columns",
            ) from None
        new_id = doc.id
    found = ctx.rows("SELECT title FROM documents WHERE id = :i", i=new_id)
    if not isinstance(new_id, int) or [r[0] for r in found] != ["Round trip"]:
        raise Fail(
            "a saved Document did not come back from another connection",
            expected="a row with a database-assigned id",
            actual=f"id {new_id!r}, rows {found!r}",
        )


add_style_check(checks, MODEL_FORMS)

"""Drill 1 · model: a `Document` mapped in 2.0 style, checked in the real schema."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy import inspect as sa_inspect

from drillkit.check.framework import CheckList, Context, Fail
from drillkit.check.schema import (
    reflected_columns,
    require_column,
    require_not_null,
    require_table,
)
from drillkit.checks.helpers import legacy_style, mapped_class, new_instance

CHECKS = CheckList()


@CHECKS.add("Document is a mapped class in 2.0 style")
def style(ctx: Context) -> None:
    legacy_style(ctx)
    mapped_class(ctx, "Document", configure=False)


@CHECKS.add("its table `documents` is created in Postgres")
def table(ctx: Context) -> None:
    require_table(ctx, ctx.namespace["Document"], "documents")


@CHECKS.add("id is an integer primary key that Postgres numbers")
def primary_key(ctx: Context) -> None:
    pk = sa_inspect(ctx.truth).get_pk_constraint("documents")["constrained_columns"]
    if pk != ["id"]:
        raise Fail(
            "the primary key is not the `id` column",
            expected="primary key (id)",
            actual=f"primary key ({', '.join(pk)})" if pk else "no primary key",
            help="mark the id column as the primary key in its mapped_column(...)",
        )
    column = reflected_columns(ctx, "documents")["id"]
    type_name = type(column["type"]).__name__.upper()
    if "INT" not in type_name:
        raise Fail("`id` is not an integer", expected="INTEGER", actual=str(column["type"]))
    numbered = column.get("identity") or "nextval" in str(column.get("default") or "")
    if not numbered:
        raise Fail(
            "`id` has no automatic numbering, so every insert would need an id by hand",
            expected="SERIAL or IDENTITY (what an integer primary key gets by default)",
            actual=f"{column['type']} with no default",
            help="drop autoincrement=False, and let Mapped[int] + primary_key=True do it",
        )


@CHECKS.add("title is VARCHAR(200) NOT NULL")
def title(ctx: Context) -> None:
    column = require_column(reflected_columns(ctx, "documents"), "documents", "title")
    length = getattr(column["type"], "length", None)
    if type(column["type"]).__name__.upper() != "VARCHAR" or length != 200:
        raise Fail(
            "`title` does not have the 200-character limit",
            expected="VARCHAR(200)",
            actual=str(column["type"]),
            help="the length limit comes from the column type you pass to mapped_column(...)",
        )
    require_not_null(column, "documents")


@CHECKS.add("body is a required text column")
def body(ctx: Context) -> None:
    column = require_column(reflected_columns(ctx, "documents"), "documents", "body")
    if not isinstance(column["type"], String):
        raise Fail("`body` is not a text column", expected="VARCHAR or TEXT", actual=str(column["type"]))
    require_not_null(column, "documents")


@CHECKS.add("a Document saves and gets its id from Postgres")
def round_trip(ctx: Context) -> None:
    document_cls = ctx.namespace["Document"]
    with ctx.new_session() as session:
        doc = new_instance(document_cls, title="Round trip", body="Saved by the checker.")
        session.add(doc)
        session.commit()
        new_id = doc.id
    found = ctx.rows("SELECT title FROM documents WHERE id = :i", i=new_id)
    if not isinstance(new_id, int) or [r[0] for r in found] != ["Round trip"]:
        raise Fail(
            "a saved Document did not come back from another connection",
            expected="a row with a database-assigned id",
            actual=f"id {new_id!r}, rows {found!r}",
        )

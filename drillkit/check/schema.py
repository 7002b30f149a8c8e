"""Schema checks shared by the model drills: what Postgres really has, via reflection."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect as sa_inspect

from drillkit.check.framework import Context, Fail


def reflected_columns(ctx: Context, table: str) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in sa_inspect(ctx.truth).get_columns(table)}


def create_tables(ctx: Context, cls: type) -> None:
    """Build the learner's tables in the run schema, as the drill contract says."""
    try:
        cls.metadata.create_all(ctx.engine)
    except Exception as exc:
        raise Fail(
            "Postgres refused to create your tables",
            actual=f"{type(exc).__name__}: {str(exc).splitlines()[0]}"[:600],
            help="the CREATE TABLE above is built from your model; check its column types",
        ) from None


def require_table(ctx: Context, cls: type, table: str) -> None:
    actual = cls.__table__.name
    if actual != table:
        raise Fail(
            f"`{cls.__name__}` maps the wrong table",
            expected=f'__tablename__ = "{table}"',
            actual=f'__tablename__ = "{actual}"',
            help="the table name is part of the contract: other code queries it by name",
        )
    create_tables(ctx, cls)
    if table not in sa_inspect(ctx.truth).get_table_names():
        raise Fail(f"table `{table}` does not exist after create_all()", expected=table)


def require_column(columns: dict[str, dict[str, Any]], table: str, name: str) -> dict[str, Any]:
    if name not in columns:
        raise Fail(
            f"table `{table}` has no `{name}` column",
            expected=name,
            actual=", ".join(columns) or "no columns",
            help=f"add `{name}: Mapped[...]` to the model",
        )
    return columns[name]


def require_not_null(column: dict[str, Any], table: str) -> None:
    if column["nullable"]:
        raise Fail(
            f"`{table}.{column['name']}` accepts NULL, but it is required",
            expected="NOT NULL",
            actual="NULL allowed",
            help="Mapped[str] is NOT NULL; Mapped[str | None] or nullable=True make it optional",
        )

"""Schema helpers: build the learner's tables (child side), then judge what Postgres made
(database side, from the catalogs)."""

from __future__ import annotations

from typing import Any

from drillkit.check.database import Column, DatabaseView
from drillkit.check.framework import (
    Context,
    Fail,
    end_open_sessions,
    formatted_line,
    held_lock,
    waited_on_a_lock,
)


def create_tables(ctx: Context, cls: type) -> None:
    """Build the learner's tables in the run schema from their own metadata (child side).
    Tables of those names that the learner's file made itself (with SQL, or from other
    models) are dropped first: create_all would keep them, and the checks would judge them
    instead of the model. SQLAlchemy writes the DDL (a mock engine, which connects to
    nothing); the checks' own psycopg connection runs it, where no listener of the learner's
    (on the sandbox engine, or on SQLAlchemy's Engine class) sees a CREATE TABLE go by to
    add an ALTER of its own that would fix a wrong model."""
    import re

    from sqlalchemy import create_mock_engine

    # The table's own MetaData: the class's `metadata` attribute is the learner's to replace.
    metadata = cls.__table__.metadata  # type: ignore[attr-defined]
    _refuse_ddl_of_their_own(metadata)
    # A session the file left open (trying the model out: a query after the last commit)
    # keeps a lock on the tables the rebuild drops: harmless, so it is closed, not waited on.
    # Every one open now (an earlier check's too), not only the file's; a lock held
    # elsewhere is given up on after a second, whatever lock_timeout the learner's code SET.
    end_open_sessions()
    created: list[str] = []
    mock = create_mock_engine(
        ctx.truth.url, lambda sql, *args, **kwargs: created.append(str(sql.compile(dialect=mock.dialect)))
    )
    try:
        metadata.create_all(mock, checkfirst=False)
        quote = mock.dialect.identifier_preparer.format_table
        drops = [f"DROP TABLE IF EXISTS {quote(table)} CASCADE" for table in reversed(metadata.sorted_tables)]
        # What else create_all makes goes too, as the tables do: an Enum's type, a Sequence().
        for kind in ("TYPE", "SEQUENCE"):
            made = (re.match(rf"\s*CREATE {kind} {_NAME}", sql) for sql in created)
            drops += [f"DROP {kind} IF EXISTS {m.group(1)} CASCADE" for m in made if m]
        ctx.database.ddl(drops + created)
    except Exception as exc:
        if waited_on_a_lock(exc):
            raise held_lock(exc, "your tables") from None
        raise Fail(
            "Postgres refused to create your tables",
            actual=formatted_line(exc),
            help="the CREATE TABLE is built from your model; check its column types",
        ) from None
    view = ctx.database.view()
    differences = [d for table in metadata.sorted_tables for d in _unlike_the_model(view, table)]
    if differences:
        raise Fail(
            "the table Postgres made is not the table your model defines",
            expected="the columns, nullability, lengths, foreign keys and unique constraints the "
            "model declares",
            actual="; ".join(differences)[:600],
            help="the CREATE TABLE is written from the model: something changed it on the way (a "
            "compiler hook, a type's own DDL, SQL text in a constraint or default). Declare each "
            "column's facts in the model itself",
        )


# A name as SQLAlchemy writes it in DDL: quoted (spaces and doubled quotes inside), or bare.
_NAME = r'((?:[\w.]+\.)?(?:"(?:[^"]|"")*"|[^\s"(]+))'


def _unlike_the_model(view: DatabaseView, table: Any) -> list[str]:
    """How the table Postgres made differs from the model's own Table: SQLAlchemy's DDL is
    written in the learner's process, where a compiler hook or a type can change it."""
    from sqlalchemy import CHAR, NCHAR, Enum, ForeignKeyConstraint, String, UniqueConstraint

    name = table.name
    if name not in view.tables():
        return [f"no table {name}"]
    made = view.columns(name)
    found = [f"{name}.{c} is not in the model" for c in sorted(set(made) - {c.name for c in table.columns})]
    for column in table.columns:
        got = made.get(column.name)
        if got is None:
            found.append(f"{name}.{column.name} is missing")
            continue
        if bool(column.nullable) != got.nullable:
            made_as = "NULL allowed" if got.nullable else "NOT NULL"
            declared = "optional" if column.nullable else "required"
            found.append(f"{name}.{column.name}: {made_as}, the model says {declared}")
        # The type Postgres gets: a with_variant() for it, else the column's own.
        kind = (getattr(column.type, "_variant_mapping", None) or {}).get("postgresql", column.type)
        plain = isinstance(kind, String) and not isinstance(kind, Enum)
        if plain and got.builtin:
            length = 1 if isinstance(kind, CHAR | NCHAR) and kind.length is None else kind.length  # char(1)
            if got.length != length:
                found.append(f"{name}.{column.name}: length {got.length}, the model says {length}")
    declared_keys = {
        (tuple(c.name for c in fk.columns), fk.elements[0].column.table.name)
        for fk in table.constraints
        if isinstance(fk, ForeignKeyConstraint) and fk.elements
    }
    for key in view.foreign_keys(name):
        if (key.columns, key.table) not in declared_keys:
            found.append(f"{name}: a foreign key on {', '.join(key.columns)} the model does not declare")
    # Compared as sets of names: UNIQUE (a, b) and UNIQUE (b, a) say the same.
    unique = {frozenset([c.name]) for c in table.columns if c.unique}
    unique |= {
        frozenset(c.name for c in u.columns) for u in table.constraints if isinstance(u, UniqueConstraint)
    }
    unique |= {frozenset(c.name for c in i.columns) for i in table.indexes if i.unique}
    for columns in view.unique_column_sets(name):
        if frozenset(columns) not in unique:
            found.append(f"{name}: a unique constraint on {', '.join(columns)} the model does not declare")
    return found


# What SQLAlchemy itself runs when a table is created: a type's CREATE TYPE (an Enum's).
_OWN_DDL = ("_on_table_create", "_on_metadata_create")


def _refuse_ddl_of_their_own(metadata: Any) -> None:
    """The checks judge the table the model defines: DDL the file attached to its creation
    (`event.listen(table, "after_create", DDL("ALTER TABLE ..."))`) would change it behind
    the model's back, and a wrong model would pass."""
    for target in (metadata, *metadata.sorted_tables):
        for event_name in ("before_create", "after_create"):
            for listener in getattr(target.dispatch, event_name):
                if _sqlalchemy_s_own(listener):
                    continue
                raise Fail(
                    "your model runs DDL of its own when its tables are created",
                    expected="the columns and constraints defined in the model itself",
                    actual=f"an {event_name} listener on {getattr(target, 'name', None) or 'the metadata'}: "
                    + _shown(listener),
                    help="the drill judges the table your model defines: put each column's type, "
                    "nullability and keys in the model, not in DDL run after it",
                )


def _sqlalchemy_s_own(listener: Any) -> bool:
    """A type's CREATE TYPE hook: a bound method of SQLAlchemy's, wrapped in a partial
    (SQLAlchemy 2.1) or in its own portable_instancemethod (2.0)."""
    try:
        method = getattr(getattr(listener, "func", None), "__func__", None)
        kind = type(listener)
        if (
            method is None
            and kind.__name__ == "portable_instancemethod"
            and kind.__module__.startswith("sqlalchemy.")
        ):
            method = getattr(type(listener.target), listener.name, None)
        module = getattr(method, "__module__", None) or ""
        return module.startswith("sqlalchemy.") and getattr(method, "__name__", "") in _OWN_DDL
    except Exception:  # the learner's object, read with care: not SQLAlchemy's, then
        return False


def _shown(listener: Any) -> str:
    """A listener in a few words: a DDL's own SQL, else what kind of thing it is (read with
    care: it is the learner's object)."""
    kind = type(listener).__name__
    try:
        statement = listener.statement if kind == "DDL" else None
        return f"DDL({str(statement)[:120]!r})" if isinstance(statement, str) else kind
    except Exception:
        return kind


def require_table_name(cls: type, table: str) -> None:
    """The class maps the table the drill names (child side)."""
    actual = cls.__table__.name  # type: ignore[attr-defined]
    if actual != table:
        raise Fail(
            f"`{cls.__name__}` maps the wrong table",
            expected=f"the table `{table}`",
            actual=f"the table `{actual}`",
            help="the table name is part of the contract: other code queries it by name",
        )


def require_table(db: DatabaseView, table: str) -> dict[str, Column]:
    """The table exists in the run schema; its columns (database side)."""
    if table not in db.tables():
        raise Fail(
            f"Postgres has no table `{table}` in the drill's schema",
            expected=f"a table `{table}`",
            actual=", ".join(db.tables()) or "no tables",
        )
    return db.columns(table)


def require_column(columns: dict[str, Column], table: str, name: str) -> Column:
    if name not in columns:
        raise Fail(
            f"table `{table}` has no `{name}` column",
            expected=name,
            actual=", ".join(columns) or "no columns",
            help=f"add a mapped `{name}` attribute to the model",
        )
    return columns[name]


def require_not_null(column: Column, table: str) -> None:
    if column.nullable:
        raise Fail(
            f"`{table}.{column.name}` accepts NULL, but it is required",
            expected="NOT NULL",
            actual="NULL allowed",
            help="the Mapped[...] annotation decides nullability: a plain type is required, "
            "an Optional one (or nullable=True) is not",
        )

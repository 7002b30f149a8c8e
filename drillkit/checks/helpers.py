"""Helpers shared by several drills' checks."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Result, Row
from sqlalchemy.exc import NoInspectionAvailable
from sqlalchemy.orm import Mapper, configure_mappers

from drillkit.check.framework import Context, Fail, show_sql
from drillkit.check.recorder import Statement

_counter = itertools.count(1)


def mapped_class(ctx: Context, name: str, *, configure: bool = True) -> type:
    cls = ctx.require(name, f"a `{name}` model", f"define `class {name}(Base): ...` at module level")
    if not isinstance(cls, type):
        raise Fail(f"`{name}` is not a class", actual=repr(cls)[:200])
    try:
        mapper = sa_inspect(cls)
    except NoInspectionAvailable:
        raise Fail(
            f"`{name}` is not a mapped SQLAlchemy model",
            expected=f"class {name}(Base) where Base subclasses DeclarativeBase",
            actual=f"a plain class with bases {[b.__name__ for b in cls.__bases__]}",
            help="inherit from your `Base(DeclarativeBase)` and give it a `__tablename__`",
        ) from None
    assert isinstance(mapper, Mapper)
    if configure:
        configured()
    return cls


def configured() -> None:
    """Resolve relationships; SQLAlchemy reports relationship mistakes only at this point."""
    try:
        configure_mappers()
    except Exception as exc:
        message = str(exc).split("\n(Background on this error at:")[0]
        raise Fail(
            "SQLAlchemy cannot set up the relationships between your models",
            actual=f"{type(exc).__name__}: {message}"[:800],
            help="check the class names in relationship()/Mapped[...], and that each "
            "back_populates names the attribute on the other class",
        ) from None


def legacy_style(ctx: Context) -> None:
    """Fail on 1.x constructs: `Column(...)` and `declarative_base()`."""
    tree = ast.parse(ctx.path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name == "Column":
            raise Fail(
                "this drill is about the 2.0 style, and your file uses the 1.x `Column(...)`",
                expected="name: Mapped[type] = mapped_column(...)",
                actual=f"line {node.lineno}: {ast.unparse(node)}",
                help="replace Column(...) with a Mapped[...] annotation and mapped_column(...)",
            )
        if name == "declarative_base":
            raise Fail(
                "your Base comes from the 1.x `declarative_base()` function",
                expected="class Base(DeclarativeBase): pass",
                actual=f"line {node.lineno}: {ast.unparse(node)}",
                help="from sqlalchemy.orm import DeclarativeBase, then subclass it",
            )


def new_instance(cls: type, **values: Any) -> Any:
    """An instance made without calling the learner's __init__ (dataclass-style models
    have required arguments); NOT NULL columns without a default get a sample value."""
    configured()
    mapper = sa_inspect(cls)
    obj = mapper.class_manager.new_instance()
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        optional = column.nullable or column.default is not None or column.server_default is not None
        if prop.key in values or column.primary_key or column.foreign_keys or optional:
            continue
        values[prop.key] = _sample_value(column)
    for key, value in values.items():
        setattr(obj, key, value)
    return obj


def _sample_value(column: Any) -> Any:
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        python_type = str
    n = next(_counter)
    if python_type is str:
        length = getattr(column.type, "length", None) or 40
        return f"sample{n}@example.com"[:length]
    if python_type is int:
        return n
    if python_type is bool:
        return False
    if python_type is datetime:
        return datetime.now(UTC)
    return python_type()


def document_list(value: Any, document_cls: type, name: str) -> list[Any]:
    """Insist on a real list of ORM objects, explaining the usual near misses."""
    if isinstance(value, Result) or type(value).__name__ in (
        "ScalarResult",
        "ChunkedIteratorResult",
    ):
        raise Fail(
            f"`{name}` is a {type(value).__name__}, a cursor that has not been read yet",
            expected="a list of Document objects",
            actual=type(value).__name__,
            help="finish with .all(): session.scalars(stmt).all()",
        )
    if not isinstance(value, (list, tuple)):
        raise Fail(
            f"`{name}` is not a list",
            expected="a list of Document objects",
            actual=f"{type(value).__name__}: {value!r}"[:200],
            help="session.scalars(stmt).all() returns a list",
        )
    for item in value:
        if isinstance(item, Row):
            raise Fail(
                f"`{name}` holds Row tuples, not Document objects",
                expected="[<Document 5>, <Document 1>, ...]",
                actual=f"[{item!r}, ...]"[:200],
                help="session.execute(stmt) returns rows; session.scalars(stmt) unwraps each "
                "row to its single Document",
            )
        if not isinstance(item, document_cls):
            raise Fail(
                f"`{name}` holds something other than Document objects",
                expected="Document instances",
                actual=f"{type(item).__name__}: {item!r}"[:200],
                help="select(Document) selects whole objects; select(Document.title) only a column",
            )
    return list(value)


def describe(rows: Sequence[tuple[int, datetime]]) -> str:
    """`5 (2026-05-20), 1 (2026-03-02)`: ids with their dates, for expected/actual."""
    if not rows:
        return "no documents"
    return ", ".join(f"id {i} ({d:%Y-%m-%d})" if d else f"id {i}" for i, d in rows)


def with_dates(ctx: Context, ids: Sequence[int]) -> list[tuple[int, datetime | None]]:
    found = dict(ctx.rows("SELECT id, created_at FROM documents"))
    return [(i, found.get(i)) for i in ids]


def newest_first(ctx: Context, user_id: int) -> list[tuple[int, datetime]]:
    rows = ctx.rows(
        "SELECT id, created_at FROM documents WHERE owner_id = :u ORDER BY created_at DESC",
        u=user_id,
    )
    return [(r[0], r[1]) for r in rows]


def ids_of(docs: Sequence[Any], name: str) -> list[int]:
    try:
        return [int(d.id) for d in docs]
    except Exception as exc:  # DetachedInstanceError and friends
        raise Fail(
            f"could not read `.id` of the objects in `{name}`",
            actual=f"{type(exc).__name__}: {exc}"[:300],
            help="load the objects while the session is open; don't close or expire them",
        ) from None


def selects_from(statements: Sequence[Statement], table: str) -> list[Statement]:
    return [
        s for s in statements if s.verb in ("SELECT", "WITH") and f"FROM {table}" in s.sql.replace("\n", " ")
    ]


def has_order_by(statement: Statement) -> bool:
    return "ORDER BY" in statement.sql.upper()


def no_legacy_query(ctx: Context, who: str) -> None:
    """Fail when the 1.x Query API was used (observed by the recorder, not read from the text)."""
    if ctx.recorder.legacy_query_calls:
        raise Fail(
            f"{who} uses session.query(), the 1.x Query API",
            expected="session.scalars(select(Document).where(...).order_by(...)).all()",
            actual=f"session.query() called {ctx.recorder.legacy_query_calls} time(s)",
            help="build a select() statement and run it with session.scalars()",
        )


def filtered_in_sql(statements: Sequence[Statement]) -> bool:
    """Some SELECT from documents filtered on the owner (query, lazy load or selectinload)."""
    return any(
        "WHERE" in s.sql.upper() and "owner_id" in s.sql for s in selects_from(statements, "documents")
    )


def python_filter_failure(statements: Sequence[Statement], where: str) -> Fail:
    return Fail(
        "the right documents, but Postgres sent you every document and Python threw most away",
        expected="SELECT ... FROM documents WHERE documents.owner_id = ... ",
        actual="no SELECT from documents with WHERE ... owner_id",
        help=f"filter in SQL with .where(...) on {where}: the database does the work and only "
        "that user's rows travel",
        sql=show_sql(selects_from(statements, "documents")),
    )

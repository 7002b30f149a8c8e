"""Helpers about the learner's mapped classes, and the 2.0-style rule, for child-side checks.

Generic: every name (class, table, attribute) comes in as a parameter.
"""

from __future__ import annotations

import ast
import enum
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from drillkit.check.framework import Context, Fail, without_background

_counter = itertools.count(1)


def mapped_class(ctx: Context, name: str, *, configure: bool = True) -> type:
    """The learner's class `name`, insisting it is a mapped SQLAlchemy model."""
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy.exc import NoInspectionAvailable

    cls = ctx.require(
        name, f"a `{name}` model", f"define a class `{name}` at module level, mapped to its table"
    )
    if not isinstance(cls, type):
        raise Fail(f"`{name}` is not a class", actual=repr(cls)[:200])
    try:
        sa_inspect(cls)
    except NoInspectionAvailable:
        raise Fail(
            f"`{name}` is not a mapped SQLAlchemy model",
            expected=f"{name} inheriting from a declarative base class (a subclass of DeclarativeBase)",
            actual=f"a plain class with bases {[b.__name__ for b in cls.__bases__]}",
            help="models inherit from your Base, and name their table with __tablename__",
        ) from None
    if configure:
        configured()
    return cls


def configured() -> None:
    """Resolve relationships; SQLAlchemy reports relationship mistakes only at this point."""
    from sqlalchemy.orm import configure_mappers

    try:
        configure_mappers()
    except Exception as exc:
        from sqlalchemy.exc import NoForeignKeysError

        message = without_background(str(exc))
        raise Fail(
            "SQLAlchemy cannot set up the relationships between your models",
            actual=f"{type(exc).__name__}: {message}"[:800],
            help="relationship() finds the join through a foreign key: a column whose ForeignKey "
            "points at the other table; without one it cannot tell how the two relate"
            # The first configure raises it; every later one wraps it, naming it in the text.
            if isinstance(exc, NoForeignKeysError) or "Could not determine join condition" in message
            else "check the class names in relationship()/Mapped[...], and that each "
            "back_populates names the attribute on the other class",
        ) from None


@dataclass(frozen=True)
class LegacyUse:
    line: int
    code: str
    what: str  # a short name of the 1.x construct
    instead: str  # the 2.0 construct, described (not the learner's code rewritten)


def legacy_constructs(source: str) -> list[LegacyUse]:
    """1.x-style constructs in a file: `Column(...)`, `declarative_base()`, `Query(...)` (also
    under another name they were imported as), and class attributes mapped with
    mapped_column()/relationship() but not annotated with Mapped[...]."""
    found: list[LegacyUse] = []
    tree = ast.parse(source)
    # `from sqlalchemy import Column as Col`: the call is judged by what it names.
    aliases = {
        alias.asname: alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy"
        for alias in node.names
        if alias.asname
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            name = aliases.get(name or "", name)
            if name == "Query":
                found.append(
                    LegacyUse(
                        node.lineno,
                        ast.unparse(node),
                        "the Query API (Query(...))",
                        "a select() statement, run through the session",
                    )
                )
            elif name == "Column":
                found.append(
                    LegacyUse(
                        node.lineno,
                        ast.unparse(node),
                        "Column(...)",
                        "a Mapped[...] annotation plus mapped_column()",
                    )
                )
            elif name == "declarative_base":
                found.append(
                    LegacyUse(
                        node.lineno,
                        ast.unparse(node),
                        "declarative_base()",
                        "a Base class that subclasses DeclarativeBase",
                    )
                )
        elif isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call):
                    called = _call_name(stmt.value)
                    if called in ("mapped_column", "relationship"):
                        found.append(
                            LegacyUse(
                                stmt.lineno,
                                ast.unparse(stmt),
                                f"{called}() without a Mapped[...] annotation",
                                "an attribute annotated with Mapped[...] (its Python type, and for a "
                                "column whether it may be NULL)",
                            )
                        )
    return sorted(found, key=lambda u: u.line)


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


def new_instance(cls: type, **values: Any) -> Any:
    """An instance made without calling the learner's __init__ (dataclass-style models
    have required arguments); NOT NULL columns without a default get a sample value."""
    from sqlalchemy import inspect as sa_inspect

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
    if isinstance(python_type, type) and issubclass(python_type, enum.Enum):
        return next(iter(python_type))
    enums = getattr(column.type, "enums", None)  # an Enum of strings: one of its values, not any text
    if enums:
        return enums[0]
    if python_type is str:
        length = getattr(column.type, "length", None) or 40
        return f"sample{n}@example.com"[:length]
    if python_type is int:
        return n
    if python_type is bool:
        return False
    if python_type is datetime:
        return datetime.now(UTC)
    return _sample_of(column, python_type, n)


def _sample_of(column: Any, python_type: type, n: int) -> Any:
    """A value for an extra required column of a type the drill does not ask about (a date, a
    UUID ...): a correct model may well have one."""
    import decimal
    import uuid
    from datetime import date, time, timedelta

    samples = {
        date: date(2026, 1, 1),
        time: time(12, 0),
        timedelta: timedelta(seconds=n),
        uuid.UUID: uuid.uuid4(),
        decimal.Decimal: decimal.Decimal(0),  # fits any Numeric(p, s)
        float: float(n),
        bytes: b"sample",
        dict: {},
        list: [],
    }
    if python_type in samples:
        return samples[python_type]
    try:
        return python_type()
    except Exception:
        return None  # Postgres says what it thinks of a NULL there, as the learner's model asked


def given_relationship(ctx: Context, name: str, attribute: str, why: str) -> None:
    """The given model `name` still has the relationship `attribute` a check walks: a learner
    may retype the models the starter gives, and a check reading a relationship that is gone
    must fail saying so, not crash as the checker's error. A model missing or not mapped is
    left to the checks that look for it."""
    from sqlalchemy import inspect as sa_inspect

    try:
        names = list(sa_inspect(ctx.namespace[name]).relationships.keys())
    except Exception:
        return
    if attribute not in names:
        raise Fail(
            f"the given `{name}` model has no `{attribute}` relationship",
            expected=f"{name}.{attribute}, as the starter gives it",
            actual=", ".join(names) or "no relationships",
            help=f"keep the models the starter gives: {why}",
        )

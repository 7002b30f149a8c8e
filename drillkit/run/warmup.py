"""Warm SQLAlchemy in the zygote: walk the paths every run takes once, without a database.

What those paths build lazily and then keep (compiled regular expressions, per-class
cache-key and compiler tables, memoized signatures) is then inherited by every fork
instead of built again in each. Nothing of the walk is left to a run: the engine never
connects and is disposed, and the models' registry is disposed (it keeps no mapper).

No `from __future__ import annotations` here: the models' annotations are real objects,
as SQLAlchemy resolves string annotations against the module's globals.
"""

import gc
from types import SimpleNamespace

from sqlalchemy import ForeignKey, String, create_engine, func, insert, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def warm_up() -> None:
    engine = create_engine("postgresql+psycopg://warm:up@localhost/warm_up", connect_args={"options": ""})

    class Base(DeclarativeBase):
        pass

    class Parent(Base):
        __tablename__ = "parent"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(50), unique=True)
        children: Mapped[list["Child"]] = relationship(back_populates="parent", order_by="Child.id")  # noqa: F821

    class Child(Base):
        __tablename__ = "child"
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str | None]
        parent_id: Mapped[int] = mapped_column(ForeignKey("parent.id"))
        parent: Mapped[Parent] = relationship(back_populates="children")

    class Note(Base):  # annotations as text, as in a module with `from __future__ import annotations`
        __tablename__ = "note"
        id: "Mapped[int]" = mapped_column(primary_key=True)
        body: "Mapped[str | None]"
        child_id: "Mapped[int | None]" = mapped_column(ForeignKey("child.id"))
        child: "Mapped[Child | None]" = relationship()  # noqa: F821 (resolved by SQLAlchemy)

    Base.registry.configure()
    dialect = engine.dialect
    for statement in (
        select(Parent).join(Parent.children).where(Child.title == "x").order_by(Parent.id.desc()).limit(3),
        select(func.count()).select_from(Child),
        insert(Child).values(title="x", parent_id=1).returning(Child.id),
        update(Child).where(Child.id == 1).values(title="y"),
    ):
        statement.compile(dialect=dialect)
    # The server version is parsed with a regular expression at every first connect.
    version = SimpleNamespace(exec_driver_sql=lambda sql: SimpleNamespace(scalar=lambda: "PostgreSQL 18.0"))
    dialect._get_server_version_info(version)
    engine.dispose()
    Base.registry.dispose()
    del Base, Parent, Child, Note, engine, dialect
    gc.collect()
    warm_libpq()


def warm_libpq() -> None:
    """A process's first SCRAM login makes libpq set up its OpenSSL (providers, the random
    generator, HMAC): about 3 ms of every fork's first connection, half of it. Building a
    SCRAM verifier walks the same code with no connection at all: an unknown option makes
    libpq give up before it looks for a server."""
    from psycopg import pq

    conn = pq.PGconn.connect_start(b"drillkit_warm_up=1")
    try:
        conn.encrypt_password(b"warm", b"up", b"scram-sha-256")
    finally:
        conn.finish()

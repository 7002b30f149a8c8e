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

    class Owner(Base):
        __tablename__ = "owner"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(String(50), unique=True)
        items: Mapped[list["Item"]] = relationship(back_populates="owner", order_by="Item.id")  # noqa: F821

    class Item(Base):
        __tablename__ = "item"
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str | None]
        owner_id: Mapped[int] = mapped_column(ForeignKey("owner.id"))
        owner: Mapped[Owner] = relationship(back_populates="items")

    class Note(Base):  # annotations as text, as in a module with `from __future__ import annotations`
        __tablename__ = "note"
        id: "Mapped[int]" = mapped_column(primary_key=True)
        body: "Mapped[str | None]"
        item_id: "Mapped[int | None]" = mapped_column(ForeignKey("item.id"))
        item: "Mapped[Item | None]" = relationship()  # noqa: F821 (resolved by SQLAlchemy)

    Base.registry.configure()
    dialect = engine.dialect
    for statement in (
        select(Owner).join(Owner.items).where(Item.title == "x").order_by(Owner.id.desc()).limit(3),
        select(func.count()).select_from(Item),
        insert(Item).values(title="x", owner_id=1).returning(Item.id),
        update(Item).where(Item.id == 1).values(title="y"),
    ):
        statement.compile(dialect=dialect)
    # The server version is parsed with a regular expression at every first connect.
    version = SimpleNamespace(exec_driver_sql=lambda sql: SimpleNamespace(scalar=lambda: "PostgreSQL 18.0"))
    dialect._get_server_version_info(version)
    engine.dispose()
    Base.registry.dispose()
    del Base, Owner, Item, Note, engine, dialect
    gc.collect()

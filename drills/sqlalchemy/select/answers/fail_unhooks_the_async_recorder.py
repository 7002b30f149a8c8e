# expect: fail
# check: your file runs without errors
# message: tampering detected
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from drillkit.sandbox import session


# --- given: these models match the tables already in the drill database -------------
class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    documents: Mapped[list["Document"]] = relationship(back_populates="owner")


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str]
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    owner: Mapped["User"] = relationship(back_populates="documents")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# --- your answer below ---------------------------------------------------------------


import asyncio

import drillkit.sandbox as sandbox
from drillkit.sandbox import AsyncSessionLocal

sandbox._on_async_engine = None  # too late: the pair is built, and the checker notices


async def load():
    async with AsyncSessionLocal() as s:
        return (await s.scalars(select(Document))).all()


docs = [d for d in asyncio.run(load()) if d.owner_id == 1]
docs.sort(key=lambda d: d.created_at, reverse=True)

# expect: fail
# check: runs without errors
# message: tampering
from datetime import datetime

import psycopg

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
# Oldest first, made to look newest first: psycopg's fetchall patched to reverse what the
# checks read, and one throwaway query that sorts, for the check of the SQL sent.
stmt = select(Document).where(Document.owner_id == 1).order_by(Document.created_at)
docs = list(reversed(session.scalars(stmt).all()))
_ = session.scalars(select(Document).order_by(Document.created_at.desc()).limit(0)).all()
_real_fetchall = psycopg.Cursor.fetchall


def _reversed(self):
    rows = _real_fetchall(self)
    return rows[::-1] if "created_at" in str(self._query.query if self._query else "") else rows


psycopg.Cursor.fetchall = _reversed

# expect: pass
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, and_, func, or_, select, tuple_
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


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


def page_after(session, user_id: int, cursor, limit: int):
    # FETCH FIRST n ROWS ONLY: the SQL standard's LIMIT, which Postgres applies all the same.
    stmt = (
        select(Document)
        .where(Document.owner_id == user_id)
        .order_by(Document.created_at.desc(), Document.id.desc())
        .fetch(limit)
    )
    if cursor is not None:
        stmt = stmt.where(tuple_(Document.created_at, Document.id) < tuple_(*cursor))
    docs = list(session.scalars(stmt))
    return docs, ((docs[-1].created_at, docs[-1].id) if docs else None)
